"""A local Clerk stand-in (JWKS + API key verification) and token minting for the tests."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from ..stub_server import Reply, StubServer

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "ins_test_key"
PARTY = "https://app.example.com"
SECRET = "sk_test_integrations"
API_KEY = "ak_test_valid_key"


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


async def verify_api_key(request: web.Request) -> web.Response:
    body = await request.json()
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
