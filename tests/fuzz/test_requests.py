"""Generated path parameters through every operation, and generated request bodies and
headers into the emulator, both over a real loopback server.

Invariants: a path parameter is refused before any I/O (``ValueError``/``TypeError``)
or reaches the server as exactly one segment; the emulator answers every request with
Clerk-shaped JSON and never a 5xx; the SDK raises only our typed errors.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clerk_sync
from clerk_async import OPERATIONS, Clerk, Operation
from clerk_async.emulator import Emulator
from clerk_async.errors import ClerkError

from ..api_samples import build_call
from .conftest import CASES

WITH_PATH = [op for op in OPERATIONS if any(p.where == "path" for p in op.params)]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed_users=3).running_in_thread() as emu:
        yield emu


@pytest.fixture(scope="module")
def sync_clerk(emulator: Emulator) -> Iterator[clerk_sync.Clerk]:
    with emulator.sync_client(retries=0, timeout=10) as clerk:
        yield clerk


path_values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("/\\.%2fFeE5cC0aAdD \x00\r\n\t?#&=_-ab"), max_size=12),
    st.sampled_from(["..", ".", "%2e%2E", "../users", "a%2Fb", "%5C", "%00", "\u2028", "ü" * 300]),
    st.integers(min_value=200, max_value=400).map(lambda n: "u" * n),
)


@given(st.sampled_from(WITH_PATH), path_values)
def test_path_parameters_are_refused_or_sent_as_one_segment(
    emulator: Emulator, sync_clerk: clerk_sync.Clerk, op: Operation, value: str
) -> None:
    CASES["path parameters"] += 1
    call = build_call(op, None, Clerk("sk_test_x", api_url="http://127.0.0.1:9"))
    args = [value, *call.args[1:]]
    method = getattr(getattr(sync_clerk, op.group), op.name)
    before = emulator.request_count
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # deprecated operations say so
            result = method(*args, **call.kwargs)
            if hasattr(result, "__iter__") and not isinstance(result, (dict, list, str)):
                next(iter(result), None)  # a paginator: fetch its first page
    except (ValueError, TypeError) as exc:
        assert emulator.request_count == before, f"refused after sending: {exc}"
        assert "path parameter" in str(exc)
        return
    except ClerkError:
        pass
    assert emulator.request_count > before
    _, path, _ = emulator.request_log[-1]
    # Decoded by the server, the path still has the template's segments: the value
    # could not add one (a "/") or climb out of its own (".."), whatever it held.
    assert path.count("/") == ("/v1" + op.path).count("/"), (value, path)


JSON_FIELDS = [
    "email_address", "phone_number", "username", "external_id", "first_name", "last_name",
    "password", "skip_password_checks", "public_metadata", "private_metadata",
    "unsafe_metadata", "name", "slug", "created_by", "max_allowed_memberships", "role",
    "user_id", "identifier", "notify", "expires_in_seconds", "token", "inviter_user_id",
    "expires_in_days", "admin_delete_enabled", "active_organization_id",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.just("a@example.com"),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)

bodies = st.one_of(
    st.dictionaries(st.sampled_from(JSON_FIELDS), json_values, max_size=6).map(
        lambda d: json.dumps(d).encode()
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda n: b'{"public_metadata": ' + b"[" * n + b"]" * n + b"}"),
    st.just(b"[" * 100_000),
)

ROUTES = [
    ("POST", "/users"),
    ("PATCH", "/users/{user}"),
    ("PATCH", "/users/{user}/metadata"),
    ("PUT", "/users/{user}/metadata"),
    ("POST", "/organizations"),
    ("PATCH", "/organizations/{org}"),
    ("POST", "/organizations/{org}/memberships"),
    ("PATCH", "/organizations/{org}/memberships/{user}"),
    ("POST", "/organizations/{org}/invitations"),
    ("POST", "/invitations"),
    ("POST", "/allowlist_identifiers"),
    ("POST", "/sessions"),
    ("POST", "/clients/verify"),
    ("GET", "/users"),
    ("GET", "/users/{user}"),
    ("DELETE", "/users/{nobody}"),
]

headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "a/b; c"]
        ),
        "Clerk-API-Version": st.text(
            alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=12
        ),
        # Content-Encoding is set below, on bodies really encoded so: a body that does
        # not match its encoding is refused by aiohttp's HTTP parser, in plain text,
        # before any application code (the emulator's or Clerk's) sees it.
        "Content-Encoding": st.just("identity"),
        "Accept": st.sampled_from(["*/*", "text/html", ""]),
    },
)

query = st.dictionaries(
    st.sampled_from(["limit", "offset", "order_by", "email_address", "query", "x"]),
    st.text(max_size=8),
    max_size=3,
)


@pytest.fixture(scope="module")
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {emulator.secret_key}"}
    with httpx.Client(base_url=emulator.url + "/v1", headers=auth, timeout=10) as client:
        yield client


@given(st.sampled_from(ROUTES), bodies, headers, query, st.booleans())
def test_the_emulator_answers_every_body_with_clerk_shaped_json(
    emulator: Emulator,
    http: httpx.Client,
    route: tuple[str, str],
    body: bytes,
    extra: dict[str, str],
    params: dict[str, str],
    gzipped: bool,
) -> None:
    CASES["emulator bodies"] += 1
    method, template = route
    store = emulator.store
    user = next(iter(store.users))
    org = next(iter(store.organizations), "org_missing")
    path = template.format(user=user, org=org, nobody="user_nobody")
    if gzipped:
        body = gzip.compress(body)
        extra = {**extra, "Content-Encoding": "gzip"}
    response = http.request(method, path, content=body, headers=extra, params=params)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].split(";")[0] == "application/json"
    answer: Any = response.json()
    if response.status_code >= 400:
        assert isinstance(answer["errors"], list) and answer["errors"][0]["code"]
        assert answer["clerk_trace_id"]
