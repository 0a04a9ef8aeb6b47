from __future__ import annotations

import json

import pytest

from redis_manager.keys import PY_WHITESPACE
from redis_manager.codec import RedisManagerValueError, decode_content, decode_maybe_json, encode_json, identifier


def test_json_is_compact_utf8_and_refuses_nan() -> None:
    assert encode_json({"name": "Jürgen", "n": [1, 2.5]}) == '{"name":"Jürgen","n":[1,2.5]}'
    for bad in (float("nan"), {"x": float("inf")}, {1, 2}, object()):
        with pytest.raises(RedisManagerValueError):
            encode_json(bad)


def test_a_lone_surrogate_is_escaped_as_json_stringify_does() -> None:
    text = encode_json({"t": "a\ud800b"})
    assert text == '{"t":"a\\ud800b"}'
    text.encode("utf-8")
    assert json.loads(text) == {"t": "a\ud800b"}


def test_size_limit_counts_utf8_bytes() -> None:
    encode_json("é" * 10, max_bytes=22)
    with pytest.raises(RedisManagerValueError, match="over the limit"):
        encode_json("é" * 11, max_bytes=22)


def test_reading_treats_what_json_parse_refuses_as_text() -> None:
    assert decode_maybe_json('{"a": 1}') == {"a": 1}
    for text in ("NaN", "Infinity", "-Infinity", "not json", "{'a': 1}"):
        assert decode_maybe_json(text) == text
    assert decode_content("42", "auto") == 42
    assert decode_content("42", "text") == "42"
    with pytest.raises(RedisManagerValueError):
        decode_content("plain", "json")


def test_the_whitespace_set_is_pythons_own() -> None:
    # platform/keys.ts spells out the same set; if Python's Unicode data ever changed it, this says so.
    assert set(PY_WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


@pytest.mark.parametrize("bad", ["", "   ", "\x1c\u3000\x85", "a\udc00", "x" * 1025, True, None, 1.5, b"bytes"])
def test_identifiers_are_checked_like_the_node_checks_them(bad: object) -> None:
    with pytest.raises(RedisManagerValueError):
        identifier(bad, "session_id")


def test_identifiers_are_trimmed_and_keep_inner_spaces_colons_braces_and_unicode() -> None:
    assert identifier(" padded id\n", "id") == "padded id"
    assert identifier("\ufeffbom", "id") == "\ufeffbom"
    for good in ("a:b:c", "{tag}", "😀" * 256, 42):
        assert identifier(good, "id") == str(good)
