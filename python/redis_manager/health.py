"""The guide's "Metrics to Monitor" in one report, field for field the JSON of the node's
Server > Health (platform/health.ts), so a dashboard can show either. SLOWLOG and CONFIG
are admin commands a restricted ACL user may lack: each then adds a warning instead of
failing the report."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

import redis

# The node's role names, so the report's `roles` object has the node's keys.
NODE_ROLE_NAMES = {"rate_limit": "rateLimit", "celery_result": "celeryResult"}


def _num(value: Any) -> Optional[float]:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def _text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _optional(what: str, warnings: List[str], run: Callable[[], Any]) -> Any:
    try:
        return run()
    except redis.RedisError as error:
        warnings.append(f"{what} could not be read: {error}")
        return None


def iso_ms(epoch_ms: float) -> str:
    """Date.prototype.toISOString(): UTC, milliseconds, a trailing Z."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _describe_command(args: Any) -> str:
    # Slow-log arguments can hold customer data: the command's shape, not whole values.
    if not isinstance(args, list):
        return ""
    parts = [str(a) for a in args]
    return " ".join(a if len(a) <= 40 else f"{a[:40]}...({len(a)} bytes)" for a in parts)


def parse_slow_log(reply: Any) -> List[Dict[str, Any]]:
    entries: List[Dict[str, Any]] = []
    for row in reply if isinstance(reply, list) else []:
        entry: Dict[str, Any] = {
            "id": int(row[0]),
            "at": iso_ms(int(row[1]) * 1000),
            "durationMs": int(row[2]) / 1000,
            "command": _describe_command(row[3]),
        }
        if len(row) > 4 and row[4]:
            entry["client"] = str(row[4])
        if len(row) > 5 and row[5]:
            entry["clientName"] = str(row[5])
        entries.append(entry)
    return entries


def _config_value(client: redis.Redis, name: str) -> Any:
    # A raw CONFIG GET: the reply is [name, value], as ioredis gives it to the node.
    reply = client.execute_command("CONFIG", "GET", name)
    return reply[1] if isinstance(reply, list) and len(reply) >= 2 else None


def _max_bytes(client: redis.Redis, info: Mapping[str, Any], warnings: List[str]) -> Optional[float]:
    found = _num(info.get("maxmemory"))
    if found is None:
        # Some managed services strip maxmemory from INFO; CONFIG GET may still have it.
        found = _num(_optional("maxmemory (CONFIG GET)", warnings, lambda: _config_value(client, "maxmemory")))
    return found


def _warnings(used_percent: Optional[float], limit: Optional[float], max_bytes: Optional[float],
              evicted: float, policy: Optional[str], warn_percent: int) -> List[str]:
    out: List[str] = []
    if used_percent is not None and used_percent >= warn_percent:
        out.append(f"Memory use is {used_percent}% of maxmemory; raise maxmemory or shorten cache TTLs")
    if limit is None and max_bytes is not None:
        out.append("maxmemory is 0 (no limit): Redis can use all RAM")
    if evicted > 0:
        out.append(f"{evicted} keys were evicted since the server started; raise maxmemory if this grows")
    if policy and policy != "volatile-lru" and policy.startswith("allkeys"):
        out.append(f"maxmemory-policy is {policy}: queue, lock and conversation keys can be evicted; use volatile-lru")
    return out


def _roles(info: Mapping[str, Any], dbs: Mapping[str, int]) -> Dict[str, Dict[str, int]]:
    roles: Dict[str, Dict[str, int]] = {}
    for role, db in dbs.items():
        counts = info.get(f"db{db}") or {}
        roles[NODE_ROLE_NAMES.get(role, role)] = {
            "db": db,
            "keys": int(counts.get("keys", 0)),
            "expires": int(counts.get("expires", 0)),
        }
    return roles


def _slow_log(client: redis.Redis, count: int, warnings: List[str]) -> Optional[Dict[str, Any]]:
    raw = _optional("The slow log (SLOWLOG GET)", warnings, lambda: client.execute_command("SLOWLOG", "GET", count))
    if raw is None:
        return None
    length = _optional("SLOWLOG LEN", [], lambda: client.execute_command("SLOWLOG", "LEN"))
    threshold = _num(_optional("slowlog-log-slower-than (CONFIG GET)", [],
                               lambda: _config_value(client, "slowlog-log-slower-than")))
    return {
        "entries": parse_slow_log(raw),
        "length": int(length) if isinstance(length, int) else None,
        "thresholdMs": None if threshold is None else threshold / 1000,
    }


def read_health(client: redis.Redis, dbs: Mapping[str, int], slow_log_count: int = 10,
                memory_warn_percent: int = 90) -> Dict[str, Any]:
    """Fails only when INFO itself is refused or the server is down."""
    warnings: List[str] = []
    info = client.info()
    max_bytes = _max_bytes(client, info, warnings)
    slow_log = _slow_log(client, slow_log_count, warnings)
    used = _num(info.get("used_memory")) or 0
    limit = max_bytes if max_bytes is not None and max_bytes > 0 else None
    used_percent = round(used / limit * 100, 2) if limit else None
    hits = _num(info.get("keyspace_hits")) or 0
    misses = _num(info.get("keyspace_misses")) or 0
    evicted = _num(info.get("evicted_keys")) or 0
    policy = info.get("maxmemory_policy")
    warnings.extend(_warnings(used_percent, limit, max_bytes, evicted, policy, memory_warn_percent))
    return {
        "status": "warning" if warnings else "ok",
        "warnings": warnings,
        "server": {
            # redis-py turns INFO values that look numeric into numbers; the node keeps text.
            "version": _text(info.get("redis_version")),
            "mode": _text(info.get("redis_mode")),
            "uptimeSeconds": _num(info.get("uptime_in_seconds")),
        },
        "memory": {
            "usedBytes": used,
            "usedHuman": _text(info.get("used_memory_human")),
            "peakBytes": _num(info.get("used_memory_peak")),
            "maxBytes": limit,
            "maxHuman": info.get("maxmemory_human") if limit else None,
            "usedPercent": used_percent,
            "policy": policy,
        },
        "keyspace": {
            "hits": hits,
            "misses": misses,
            "hitRate": round(hits / (hits + misses), 4) if hits + misses > 0 else None,
            "evictedKeys": evicted,
            "expiredKeys": _num(info.get("expired_keys")) or 0,
        },
        "clients": {
            "connected": _num(info.get("connected_clients")) or 0,
            "blocked": _num(info.get("blocked_clients")) or 0,
        },
        "slowLog": slow_log,
        "roles": _roles(info, dbs),
    }
