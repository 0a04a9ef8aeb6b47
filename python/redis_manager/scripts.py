"""The Lua scripts, loaded from the very files the node runs (the built
dist/platform/scripts/*.lua, shipped here in lua/ and checked byte for byte by
test/python/lua-identity.test.ts).

Each built script declares the keys it receives, in order (a `-- KEYS: a b c` line, from
its --@keys directive), and callers pass keys by those names, so the key order lives only
in the Lua. SCRIPTS is the one place on this side that knows the file names and the order
of the arguments. It lists the scripts Python calls; queue-complete-take.lua (the node
worker's ack-and-take in one call) is shipped but not called from here."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import redis

PACKAGED_LUA_DIR = Path(__file__).resolve().parent / "lua"
_KEYS_LINE = re.compile(r"^-- KEYS: ([\w ]+)$", re.MULTILINE)


@dataclass(frozen=True)
class ScriptSpec:
    file: str
    # Argument names in ARGV order; a trailing "*name" takes a list (variadic tail).
    args: Tuple[str, ...]


SCRIPTS: Mapping[str, ScriptSpec] = {
    "conversation_append": ScriptSpec("conversation-append.lua", ("side", "max_length", "ttl", "*messages")),
    "lock_acquire": ScriptSpec("lock-acquire.lua", ("token", "ttl_ms")),
    "lock_release": ScriptSpec("lock-release.lua", ("token",)),
    "lock_extend": ScriptSpec("lock-extend.lua", ("token", "ttl_ms")),
    "lock_sweep": ScriptSpec("lock-sweep.lua", ("delete",)),
    "rate_limit_check": ScriptSpec("rate-limit-check.lua", ("max_requests", "window_ms", "consume", "nonce", "ticket", "lease_ms")),
    "rate_limit_token_bucket": ScriptSpec("rate-limit-token-bucket.lua", ("capacity", "refill_per_second", "consume", "ticket", "lease_ms")),
    "rate_limit_fixed_window": ScriptSpec("rate-limit-fixed-window.lua", ("max_requests", "window_ms", "consume", "ticket", "lease_ms")),
    "rate_limit_leave": ScriptSpec("rate-limit-leave.lua", ("ticket",)),
    "queue_enqueue": ScriptSpec("queue-enqueue.lua", ("id", "envelope", "dedup", "delay_ms", "run_at", "priority", "group")),
    "queue_take": ScriptSpec(
        "queue-take.lua",
        ("visibility_ms", "bare_id", "lease", "default_max_attempts", "move_limit",
         "max_in_flight_per_group", "group_rate_max", "group_rate_window_ms"),
    ),
    "queue_complete": ScriptSpec("queue-complete.lua", ("id", "lease", "result", "result_ttl_ms")),
    "queue_fail": ScriptSpec(
        "queue-fail.lua",
        ("id", "lease", "error", "backoff_ms", "retry", "max_backoff_ms", "default_max_attempts", "default_backoff_ms"),
    ),
    "queue_extend": ScriptSpec("queue-extend.lua", ("id", "lease", "visibility_ms")),
    "queue_release": ScriptSpec("queue-release.lua", ("id", "lease")),
    "queue_recover": ScriptSpec("queue-recover.lua", ("default_max_attempts", "move_limit")),
    "queue_retry_dead": ScriptSpec("queue-retry-dead.lua", ("limit", "id")),
    "queue_purge_dead": ScriptSpec("queue-purge-dead.lua", ("limit",)),
    "queue_stats": ScriptSpec("queue-stats.lua", ("max_groups",)),
}


def lua_dir(override: Optional[str] = None) -> Path:
    """REDIS_MANAGER_LUA_DIR (e.g. an installed node package's dist/platform/scripts) wins."""
    chosen = override or os.environ.get("REDIS_MANAGER_LUA_DIR")
    return Path(chosen) if chosen else PACKAGED_LUA_DIR


@dataclass(frozen=True)
class LuaScript:
    name: str
    spec: ScriptSpec
    text: str
    keys: Tuple[str, ...]

    @property
    def sha1(self) -> str:
        """What EVALSHA names it by; equal to the node's because the bytes are equal."""
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()


def declared_keys(text: str, file: str) -> Tuple[str, ...]:
    lines = _KEYS_LINE.findall(text)
    if len(lines) != 1:
        raise ValueError(f"{file}: expected one -- KEYS: line (a built script), found {len(lines)}")
    return tuple(lines[0].split())


def read_script(name: str, directory: Path) -> LuaScript:
    spec = SCRIPTS[name]
    path = directory / spec.file
    # Bytes, not read_text(): newline translation would change the script and its SHA.
    text = path.read_bytes().decode("utf-8")
    return LuaScript(name=name, spec=spec, text=text, keys=declared_keys(text, spec.file))


def ordered_args(spec: ScriptSpec, args: Mapping[str, Any]) -> List[Any]:
    unknown = set(args) - {a.lstrip("*") for a in spec.args}
    if unknown:
        raise TypeError(f"{spec.file} takes no argument {sorted(unknown)}")
    out: List[Any] = []
    for arg in spec.args:
        if arg.startswith("*"):
            out.extend(args.get(arg[1:], ()))
        else:
            if arg not in args:
                raise TypeError(f"{spec.file} needs the argument {arg!r}")
            out.append(args[arg])
    return out


def ordered_keys(script: LuaScript, keys: Mapping[str, str]) -> List[str]:
    missing = [k for k in script.keys if k not in keys]
    if missing:
        raise TypeError(f"{script.spec.file} needs the keys {missing}")
    return [keys[k] for k in script.keys]


class ScriptRunner:
    """Runs scripts by name with EVALSHA, loading a script on a server that lacks it."""

    def __init__(self, directory: Optional[str] = None) -> None:
        self.directory = lua_dir(directory)
        self._scripts: Dict[str, LuaScript] = {}
        self._bound: Dict[str, Any] = {}
        self._lock = threading.Lock()

    def script(self, name: str) -> LuaScript:
        with self._lock:
            found = self._scripts.get(name)
            if found is None:
                found = self._scripts[name] = read_script(name, self.directory)
            return found

    def _redis_script(self, name: str, client: redis.Redis) -> Any:
        with self._lock:
            bound = self._bound.get(name)
        if bound is None:
            bound = client.register_script(self.script(name).text)
            with self._lock:
                self._bound[name] = bound
        return bound

    def run(self, client: Any, name: str, keys: Mapping[str, str], args: Mapping[str, Any]) -> Any:
        """`client` is a redis.Redis or one of its pipelines (the script then runs at execute())."""
        script = self.script(name)
        # redis-py's Pipeline is a Redis too; the Script uses it only for its encoder.
        bound = self._redis_script(name, client)
        return bound(keys=ordered_keys(script, keys), args=ordered_args(script.spec, args), client=client)

