"""Runs a batch of redis_manager calls for the jest interop tests (test/python/) and prints
their results as one JSON document, so a test pays Python's start-up once per batch.

stdin:  {"calls": [{"target": "manager" | "keys" | "module", "method": "...",
                    "args": [...], "kwargs": {...}, "prefix": "..."}]}
stdout: {"results": [{"ok": <value>} | {"error": "<exception class>", "message": "..."}]}

"manager" calls go to get_redis_manager() (environment from the test), "keys" to a
KeySchema(prefix), "module" to functions of the redis_manager package, "driver" to the
introspection helpers below."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any, Dict

import redis_manager
from redis_manager import KeySchema, get_redis_manager


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def key_builders() -> list:
    """KeySchema's public builders, so the differential test notices a new one on this side."""
    return sorted(n for n in vars(KeySchema) if not n.startswith("_") and callable(getattr(KeySchema, n)))


def scripts() -> list:
    """Every script of the SCRIPTS table as the runner loads it: file, keys, SHA-1 of its text."""
    from redis_manager.scripts import SCRIPTS, ScriptRunner

    runner = ScriptRunner()
    loaded = [runner.script(name) for name in SCRIPTS]
    return [{"name": s.name, "file": s.spec.file, "keys": list(s.keys), "sha1": s.sha1, "dir": str(runner.directory)}
            for s in loaded]


def ttl(role: str, key: str) -> int:
    """TTL in seconds of a key as the Python side sees it (-2 missing, -1 none)."""
    return get_redis_manager().client(role).ttl(key)


def target_of(call: Dict[str, Any]) -> Any:
    kind = call.get("target", "manager")
    if kind == "manager":
        return get_redis_manager()
    if kind == "keys":
        return KeySchema(call.get("prefix", ""))
    if kind == "module":
        return redis_manager
    if kind == "driver":
        return sys.modules[__name__]
    raise ValueError(f"unknown target {kind!r}")


def run(call: Dict[str, Any]) -> Dict[str, Any]:
    try:
        method = getattr(target_of(call), call["method"])
        return {"ok": plain(method(*call.get("args", []), **call.get("kwargs", {})))}
    except Exception as error:  # the test asserts on the class and message
        return {"error": type(error).__name__, "message": str(error)}


def main() -> None:
    request = json.load(sys.stdin)
    results = [run(call) for call in request["calls"]]
    # ensure_ascii keeps lone surrogates (hostile ids) representable on stdout.
    sys.stdout.write(json.dumps({"results": results}, ensure_ascii=True))
    get_redis_manager().close()


if __name__ == "__main__":
    main()
