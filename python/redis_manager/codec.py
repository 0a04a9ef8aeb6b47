"""Value encoding shared with the node (platform/codec.ts, platform/content.ts): UTF-8 JSON
unless a field is documented as raw text, with the same size limit and the same checks of
identifiers (nodes/shared/params.ts) before anything is sent."""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from .keys import trim_identifier

DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
MAX_IDENTIFIER_BYTES = 1024
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class RedisManagerValueError(ValueError):
    """A value or identifier that cannot be stored; nothing was sent to Redis."""


def _refuse_constant(name: str) -> Any:
    # JSON.parse knows no NaN or Infinity: text like "NaN" is text to the node, so it is here too.
    raise ValueError(f"{name} is not JSON")


def encode_json(value: Any, max_bytes: int = DEFAULT_MAX_VALUE_BYTES, what: str = "the value") -> str:
    """JSON text the node's JSON.parse reads back equal; NaN and Infinity are refused, as
    JSON.stringify would turn them into null."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise RedisManagerValueError(f"{what} cannot be turned into JSON ({error})") from None
    if _LONE_SURROGATE.search(text):
        # No UTF-8 form exists for a lone surrogate; escaped, it survives as JSON.stringify writes it.
        text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    assert_size(text, max_bytes, what)
    return text


def assert_size(text: str, max_bytes: int = DEFAULT_MAX_VALUE_BYTES, what: str = "the value") -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise RedisManagerValueError(f"{what} is {size} bytes, over the limit of {max_bytes} bytes; store less")


def decode_json_strict(text: str) -> Any:
    return json.loads(text, parse_constant=_refuse_constant)


def decode_maybe_json(text: Optional[str]) -> Any:
    """Stored JSON, parsed; text that is not JSON comes back as it is (raw strings exist)."""
    if text is None:
        return None
    try:
        return decode_json_strict(text)
    except ValueError:
        return text


def decode_content(text: str, read_as: str) -> Any:
    """`auto`: JSON when it parses, else the text; `text`: as stored; `json`: must parse."""
    if read_as == "text":
        return text
    if read_as not in ("auto", "json"):
        raise RedisManagerValueError(f'read_as must be "auto", "text" or "json", got {read_as!r}')
    try:
        return decode_json_strict(text)
    except ValueError as error:
        if read_as == "json":
            raise RedisManagerValueError(f"the cached value is not JSON ({error}); read it as text instead") from None
        return text


def identifier(value: Any, label: str) -> str:
    """An id checked and trimmed the way the node reads its key fields (surrounding whitespace
    stripped, as str.strip() does), so both sides name the same key and refuse the same ids."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RedisManagerValueError(f"{label} must be text, got {type(value).__name__}")
    text = trim_identifier(str(value))
    if text == "":
        raise RedisManagerValueError(f"{label} is empty")
    if _LONE_SURROGATE.search(text):
        # It would need replacing to be sent, and two ids could then share one key.
        raise RedisManagerValueError(f"{label} contains a broken Unicode character (a lone surrogate)")
    if len(text.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise RedisManagerValueError(f"{label} is longer than {MAX_IDENTIFIER_BYTES} bytes")
    return text


def whole_number(value: Any, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RedisManagerValueError(f"{label} must be a whole number from {low} to {high}, got {value!r}")
    return value


def ttl_seconds(value: Any, label: str = "ttl", low: int = 1) -> int:
    return whole_number(value, label, low, MAX_TTL_SECONDS)


def finite_number(value: Any, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise RedisManagerValueError(f"{label} must be a finite number, got {value!r}")
    return float(value)
