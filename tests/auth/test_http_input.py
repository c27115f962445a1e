"""The one header lookup and the one cookie parser, under every kind of headers."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict
from starlette.datastructures import Headers

from clerk_async.auth import AuthReason, authenticate_request
from clerk_async.auth._http_input import cookies_of, header, header_values, parse_cookies

from .helpers import mint, public_pem

PEM = public_pem()
NOW = int(time.time())


def test_header_lookup_is_case_insensitive_for_any_mapping() -> None:
    plain = {"X-Thing": "1"}
    assert header(plain, "x-thing") == header(plain, "X-THING") == "1"
    assert header({"x-thing": "1"}, "X-Thing") == "1"
    assert header(plain, "X-Other") is None
    multi = CIMultiDict([("X-Thing", "1"), ("x-thing", "2")])
    assert header(multi, "X-THING") == "1"
    starlette = Headers(raw=[(b"x-thing", b"1"), (b"x-thing", b"2")])
    assert header(starlette, "X-Thing") == "1"


def test_asgi_headers_are_read_from_their_list_as_starlette_reads_them() -> None:
    """Starlette's headers are scanned in their ASGI list; the answer is Starlette's own."""
    raw = [(b"host", b"a"), (b"authorization", b"Bearer x\xe9"), (b"authorization", b"2")]
    starlette = Headers(raw=raw)
    for name in ("Authorization", "AUTHORIZATION", "authorization", "Host", "X-Missing"):
        assert header(starlette, name) == starlette.get(name)
    assert header(Headers(raw=[]), "Authorization") is None

    class Odd(dict[str, str]):
        """A mapping whose ``raw`` is not the ASGI list: its own lookup answers."""

        @property
        def raw(self) -> list[tuple[str, str]]:
            return [("authorization", "not this")]

    assert header(Odd({"Authorization": "Bearer y"}), "Authorization") == "Bearer y"


def test_repeated_headers_are_all_kept_where_the_mapping_keeps_them() -> None:
    multi = CIMultiDict([("Cookie", "a=1"), ("cookie", "b=2")])
    assert header_values(multi, "COOKIE") == ["a=1", "b=2"]
    starlette = Headers(raw=[(b"cookie", b"a=1"), (b"cookie", b"b=2")])
    assert header_values(starlette, "Cookie") == ["a=1", "b=2"]
    assert header_values({"cookie": "a=1"}, "Cookie") == ["a=1"]
    assert header_values({}, "Cookie") == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a=1; b=2"], {"a": "1", "b": "2"}),
        (["  a = 1 ;b=2;  "], {"a": "1", "b": "2"}),
        # the first occurrence wins (the most specific path comes first)
        (["a=first; a=second"], {"a": "first"}),
        (["a=first", "a=second; b=2"], {"a": "first", "b": "2"}),
        # double quotes around a value are dropped, only as a pair
        (['a="quoted"; b="'], {"a": "quoted", "b": '"'}),
        # parts without "=" or without a name are skipped, values may hold "="
        (["flag; =orphan; a=x=y"], {"a": "x=y"}),
        (["a="], {"a": ""}),
        # what the standard library's SimpleCookie gives up on keeps the rest readable
        (['prefs={"theme": "dark"}; a=1'], {"prefs": '{"theme": "dark"}', "a": "1"}),
        (["note=two words; k[1]=v; a=1"], {"note": "two words", "k[1]": "v", "a": "1"}),
        (['bad"cookie'], {}),
        ([], {}),
    ],
)
def test_cookie_rules(values: list[str], expected: dict[str, str]) -> None:
    assert parse_cookies(values) == expected


def test_cookies_of_reads_every_cookie_header() -> None:
    multi = CIMultiDict([("Cookie", "a=1"), ("Cookie", "a=2; b=2")])
    assert cookies_of(multi) == {"a": "1", "b": "2"}
    assert cookies_of({"cookie": "a=1"}) == {"a": "1"}


async def test_a_neighbours_cookie_does_not_hide_the_session() -> None:
    cookie = f'prefs={{"theme": "dark"}}; __session={mint()}; __client_uat={NOW - 100}'
    request = make_mocked_request("GET", "/", headers={"Cookie": cookie})
    assert (await authenticate_request(request, jwt_key=PEM)).is_signed_in


async def test_the_first_session_cookie_is_the_one_used() -> None:
    cookie = f"__session={mint()}; __client_uat={NOW - 100}; __session=stale"
    assert (await authenticate_request(headers={"Cookie": cookie}, jwt_key=PEM)).is_signed_in
    # Split over two Cookie headers (as HTTP/2 may send them): read as one.
    split = CIMultiDict(
        [("Cookie", f"__session={mint()}"), ("Cookie", f"__client_uat={NOW - 100}")]
    )
    assert (await authenticate_request(headers=split, jwt_key=PEM)).is_signed_in
    state = await authenticate_request(
        headers={"Cookie": "__session=; __client_uat=0"}, jwt_key=PEM
    )
    assert state.reason is AuthReason.SESSION_TOKEN_AND_UAT_MISSING
