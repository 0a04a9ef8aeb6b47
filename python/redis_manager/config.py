"""Connection settings from the environment, with the same DB roles and defaults as the
n8n credential (platform/config.ts). The variable names are documented in python/README.md."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Dict, Mapping, Optional, Tuple
from urllib.parse import unquote, urlsplit

ROLES: Tuple[str, ...] = ("session", "content", "cache", "queue", "rate_limit", "default", "celery_result")

DEFAULT_DBS: Mapping[str, int] = {
    "session": 0,
    "content": 1,
    "cache": 2,
    "queue": 3,
    "rate_limit": 4,
    "default": 0,
    # Celery's Redis result backend; unless set, it follows the queue DB (the node's credential does the same).
    "celery_result": 3,
}

# One variable per role, named like the credential's fields, so an operator can map the
# Python side onto the same DBs the n8n credential uses.
DB_ENV: Mapping[str, str] = {
    "session": "REDIS_DB_SESSION",
    "content": "REDIS_DB_CONTENT",
    "cache": "REDIS_DB_CACHE",
    "queue": "REDIS_DB_QUEUE",
    "rate_limit": "REDIS_DB_RATE_LIMIT",
    "default": "REDIS_DB_DEFAULT",
    "celery_result": "REDIS_DB_CELERY_RESULT",
}

# Every variable that changes which server, identity or keys a manager uses; the cached
# manager of get_redis_manager() is rebuilt when any of them changes.
ENV_NAMES: Tuple[str, ...] = (
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_USERNAME",
    "REDIS_PASSWORD",
    "REDIS_TLS",
    "REDIS_TLS_CA_FILE",
    "REDIS_TLS_CA",
    "REDIS_TLS_SKIP_VERIFY",
    "REDIS_KEY_PREFIX",
    "REDIS_CONNECT_TIMEOUT",
    "REDIS_SOCKET_TIMEOUT",
    "REDIS_MANAGER_LUA_DIR",
    *DB_ENV.values(),
)


class ConfigError(ValueError):
    """A setting in the environment cannot be used; the message names the variable."""


@dataclass(frozen=True)
class TlsSettings:
    enabled: bool = False
    ca_file: Optional[str] = None
    # PEM text, as the credential's "CA Certificate" field holds it.
    ca_data: Optional[str] = None
    verify: bool = True


@dataclass(frozen=True)
class Settings:
    host: str = "localhost"
    port: int = 6379
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    tls: TlsSettings = TlsSettings()
    dbs: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_DBS))
    key_prefix: str = ""
    connect_timeout: float = 5.0
    socket_timeout: float = 30.0
    lua_dir: Optional[str] = None

    def db(self, role: str) -> int:
        if role not in self.dbs:
            raise ConfigError(f'unknown DB role "{role}"; roles are {", ".join(ROLES)}')
        return self.dbs[role]

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {value!r}")


def _whole(env: Mapping[str, str], name: str, low: int, high: int) -> Optional[int]:
    text = env.get(name, "").strip()
    if text == "":
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, fallback: float) -> float:
    text = env.get(name, "").strip()
    if text == "":
        return fallback
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise ConfigError(f"{name} must be above 0 and at most 3600 seconds, got {text!r}")
    return value


def _parse_url(url: str) -> Dict[str, object]:
    """The parts a redis:// or rediss:// URL sets; the path's DB number is the default role's DB."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        # Never echo the URL: it usually carries the password.
        raise ConfigError(f"REDIS_URL must start with redis:// or rediss://, got a {parts.scheme or 'schemeless'} URL")
    found: Dict[str, object] = {"tls": parts.scheme == "rediss"}
    if parts.hostname:
        found["host"] = parts.hostname
    try:
        if parts.port is not None:
            found["port"] = parts.port
    except ValueError:
        raise ConfigError("REDIS_URL has an invalid port") from None
    if parts.username:
        found["username"] = unquote(parts.username)
    if parts.password:
        found["password"] = unquote(parts.password)
    db_text = parts.path.strip("/")
    if db_text:
        if not db_text.isdigit():
            raise ConfigError("REDIS_URL's path must be a DB number (for example /0)")
        found["default_db"] = int(db_text)
    return found


def _dbs(env: Mapping[str, str], url_default_db: Optional[int]) -> Dict[str, int]:
    dbs = dict(DEFAULT_DBS)
    if url_default_db is not None:
        dbs["default"] = url_default_db
    for role, name in DB_ENV.items():
        value = _whole(env, name, 0, 10_000)
        if value is not None:
            dbs[role] = value
    if _whole(env, DB_ENV["celery_result"], 0, 10_000) is None:
        dbs["celery_result"] = dbs["queue"]
    return dbs


def _tls(env: Mapping[str, str], from_url: bool) -> TlsSettings:
    enabled = from_url or _flag(env, "REDIS_TLS")
    ca_file = env.get("REDIS_TLS_CA_FILE") or None
    ca_data = env.get("REDIS_TLS_CA") or None
    if ca_file and not os.path.isfile(ca_file):
        raise ConfigError(f"REDIS_TLS_CA_FILE does not name a readable file: {ca_file}")
    return TlsSettings(enabled=enabled, ca_file=ca_file, ca_data=ca_data, verify=not _flag(env, "REDIS_TLS_SKIP_VERIFY"))


def settings_from_env(env: Optional[Mapping[str, str]] = None) -> Settings:
    """REDIS_URL's parts win; what the URL leaves out comes from REDIS_HOST, REDIS_PORT,
    REDIS_USERNAME and REDIS_PASSWORD (the platform's .env keeps the password apart)."""
    env = os.environ if env is None else env
    url = _parse_url(env["REDIS_URL"]) if env.get("REDIS_URL") else {}
    port = url.get("port") or _whole(env, "REDIS_PORT", 1, 65535) or 6379
    return Settings(
        host=str(url.get("host") or env.get("REDIS_HOST") or "localhost"),
        port=int(port),  # type: ignore[arg-type]
        username=str(url.get("username") or env.get("REDIS_USERNAME") or "") or None,
        password=str(url.get("password") or env.get("REDIS_PASSWORD") or "") or None,
        tls=_tls(env, bool(url.get("tls"))),
        dbs=_dbs(env, url.get("default_db")),  # type: ignore[arg-type]
        key_prefix=env.get("REDIS_KEY_PREFIX", ""),
        connect_timeout=_seconds(env, "REDIS_CONNECT_TIMEOUT", 5.0),
        socket_timeout=_seconds(env, "REDIS_SOCKET_TIMEOUT", 30.0),
        lua_dir=env.get("REDIS_MANAGER_LUA_DIR") or None,
    )


def env_fingerprint(env: Optional[Mapping[str, str]] = None) -> Tuple[Optional[str], ...]:
    env = os.environ if env is None else env
    return tuple(env.get(name) for name in ENV_NAMES)
