"""A local Clerk stand-in (JWKS + API key verification) and token minting for the tests."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import jwt
import pytest
import uvicorn
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clerk_async._transport import Transport
from clerk_async.emulator import Emulator

from ..stub_server import Reply, StubServer

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "ins_test_key"
PARTY = "https://app.example.com"
SECRET = "sk_test_integrations"
API_KEY = "ak_test_valid_key"
# Clerk answers 401 for this one, as it does when our own secret key is wrong:
# the caller's token could not be checked at all.
UNCHECKABLE_API_KEY = "ak_test_clerk_rejects_us"
PUBLIC_PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def mint(**overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "user_1",
        "sid": "sess_1",
        "azp": PARTY,
        "iat": now - 1,
        "nbf": now - 1,
        "exp": now + 60,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID})


def org_token(**overrides: Any) -> str:
    claims: dict[str, Any] = {
        "org_id": "org_1",
        "org_slug": "acme",
        "org_role": "org:admin",
        "org_permissions": ["org:invoices:read"],
    }
    return mint(**{**claims, **overrides})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def uvicorn_server(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 (lifespan on) and yield its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def call(
    url: str, token: str | None = None, **headers: str
) -> tuple[int, Any, dict[str, str]]:
    """GET ``url`` (with a bearer token) and return status, JSON body and headers."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


class Sessions:
    """Every HTTP session the SDK's transports create during a test."""

    def __init__(self) -> None:
        self.created: list[aiohttp.ClientSession] = []

    @property
    def all_closed(self) -> bool:
        return all(session.closed for session in self.created)


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Sessions:
    record = Sessions()
    original = Transport._get_session

    def get_session(self: Transport) -> aiohttp.ClientSession:
        session = original(self)
        if not any(session is known for known in record.created):
            record.created.append(session)
        return session

    monkeypatch.setattr(Transport, "_get_session", get_session)
    return record


async def verify_api_key(request: web.Request) -> web.Response:
    body = await request.json()
    if body.get("secret") == UNCHECKABLE_API_KEY:
        return web.json_response({"errors": [{"code": "authentication_invalid"}]}, status=401)
    if body.get("secret") != API_KEY:
        return web.json_response({"errors": [{"code": "resource_not_found"}]}, status=404)
    return web.json_response(
        {
            "object": "api_key",
            "id": "ak_id_1",
            "type": "api_key",
            "subject": "user_machine",
            "scopes": ["read"],
            "claims": None,
            "name": "ci",
            "revoked": False,
            "expired": False,
            "expiration": None,
            "created_at": 1,
            "updated_at": 1,
        }
    )


@pytest.fixture
async def clerk_api(stub: StubServer) -> AsyncIterator[StubServer]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update(kid=KID, alg="RS256", use="sig")
    stub.add("GET", "/v1/jwks", Reply(json={"keys": [jwk]}))
    stub.add("POST", "/v1/api_keys/verify", verify_api_key)
    from clerk_async.auth import clear_caches

    clear_caches()
    yield stub
    clear_caches()


# -- the sync frameworks (Django, Flask) against an emulator on a thread -------------------


class Tokens:
    def __init__(self, emu: Emulator) -> None:
        store = emu.store
        self.member_id = store.make_user({"email_address": ["member@example.com"]})["id"]
        self.admin_id = store.make_user({"email_address": ["admin@example.com"]})["id"]
        with emu.sync_client() as clerk:
            org = clerk.organizations.create(name="Acme", created_by=self.admin_id)
            assert org.id
            self.org_id = org.id
            session = clerk.sessions.create(user_id=self.admin_id, active_organization_id=org.id)
            assert session.id
            self.admin = clerk.sessions.create_token(session.id).jwt
        self.member = emu.mint_session_token(self.member_id)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator().running_in_thread() as emu:
        yield emu


@pytest.fixture(scope="module")
def tokens(emulator: Emulator) -> Tokens:
    return Tokens(emulator)
