"""``parse_json`` against ``json.loads``: the same value or the same kind of error.

Answers are read by a faster decoder first, with ``json.loads`` behind it for what that
decoder refuses; these properties show nobody can tell: every value decoded is equal
to the standard library's, down to ``int`` against ``float``, ``-0.0`` and the order of
keys, and every body the standard library refuses is refused with a ``ValueError``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk_async._convert import parse_json

from .conftest import CASES

JSON_TYPES = [None, "application/json", "application/json; charset=utf-8"]


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (``1 == 1.0 == True`` does not do)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def outcome(body: bytes, content_type: str | None) -> tuple[str, Any]:
    try:
        return "value", parse_json(body, content_type)
    except ValueError:
        return "refused", None


def expected(body: bytes) -> tuple[str, Any]:
    try:
        return "value", json.loads(body)
    except ValueError:
        return "refused", None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 3, max_value=2**64 + 3),  # where 64-bit decoders stop
    st.integers(min_value=10**19, max_value=10**60),
    st.integers(min_value=-(10**60), max_value=-(10**19)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),  # lone surrogates included
    st.sampled_from(["", "\x00", "\u2028", "\ud800", "\udfff\ud800", "é", "😀", "\\", '"']),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(
    value=values,
    ascii_only=st.booleans(),
    spaced=st.booleans(),
    content_type=st.sampled_from(JSON_TYPES),
)
def test_any_json_decodes_as_the_standard_library_does(
    value: Any, ascii_only: bool, spaced: bool, content_type: str | None
) -> None:
    CASES["parse_json equals json.loads"] += 1
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if spaced else None)
    body = text.encode("utf-8", "surrogatepass")
    got, want = outcome(body, content_type), expected(body)
    assert got[0] == want[0], body[:200]
    assert same(got[1], want[1]), body[:200]


@given(body=st.binary(max_size=64), content_type=st.sampled_from(JSON_TYPES))
def test_arbitrary_bytes_are_refused_or_read_alike(body: bytes, content_type: str | None) -> None:
    CASES["parse_json on arbitrary bytes"] += 1
    got, want = outcome(body, content_type), expected(body)
    assert got[0] == want[0], body
    assert same(got[1], want[1]), body


@given(
    junk=st.sampled_from(
        [b"[1,]", b"{'a': 1}", b"01", b"1 2", b"[1] x", b"", b"  ", b"\xff", b'"\x01"', b"[", b"-"]
    ),
    content_type=st.sampled_from(JSON_TYPES),
)
def test_what_is_not_json_is_a_value_error(junk: bytes, content_type: str | None) -> None:
    CASES["parse_json refusals"] += 1
    with pytest.raises(ValueError):
        parse_json(junk, content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"[NaN, Infinity, -Infinity]",
        b"1e400",
        b'"\\ud800"',
        b'"\xed\xa0\x80"',  # a surrogate in raw bytes: json.loads reads it, strict UTF-8 does not
        b"\xef\xbb\xbf" + b'{"a": 1}',  # a byte order mark
        b"1" * 4000,  # digits under the conversion limit: an exact int
        b"18446744073709551616",  # 2**64
        b'{"a": 1, "a": 2}',  # the last of a repeated key wins
    ],
)
def test_what_the_fast_decoder_refuses_still_reads_as_before(body: bytes) -> None:
    got, want = outcome(body, "application/json"), expected(body)
    assert got[0] == want[0] == "value"
    assert same(got[1], want[1])


def test_nesting_past_the_recursion_limit_raises_recursion_error_like_json() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(body)
    with pytest.raises(RecursionError):
        parse_json(body, "application/json")


def test_other_charsets_are_decoded_with_them() -> None:
    body = '{"name": "Zoë"}'.encode("latin-1")
    assert parse_json(body, "application/json; charset=latin-1") == {"name": "Zoë"}


def test_a_usual_answer_is_read_without_json_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast decoder is the one that reads ordinary answers (json.loads is the fallback)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json.loads was used")

    monkeypatch.setattr(json, "loads", refuse)
    body = b'{"id": "user_1", "email_addresses": [{"id": "idn_1"}], "created_at": 1700000000000}'
    assert parse_json(body, "application/json") == json.JSONDecoder().decode(body.decode())
