"""Keys, token minting and a local Clerk-like server for the auth tests."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

SECRET_KEY = "sk_test_auth0123456789abcdefSECRET"


@cache
def private_key(name: str = "main") -> rsa.RSAPrivateKey:
    """One RSA key per name, generated once per test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(name: str = "main") -> bytes:
    return private_key(name).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(name: str = "main") -> str:
    return (
        private_key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def jwk(name: str = "main", kid: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key(name).public_key()))
    data.update(kid=kid or f"ins_{name}", alg="RS256", use="sig")
    return data


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "user_123",
        "sid": "sess_123",
        "iss": "https://clerk.example.com",
        "azp": "https://app.example.com",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 60,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(
    payload: dict[str, Any] | None = None,
    *,
    key: str = "main",
    kid: str | None = None,
    alg: str = "RS256",
    headers: dict[str, Any] | None = None,
) -> str:
    """A token signed by the named test key (kid defaults to that key's JWKS kid)."""
    extra = {"kid": kid or f"ins_{key}", **(headers or {})}
    return jwt.encode(
        claims() if payload is None else payload, private_key(key), algorithm=alg, headers=extra
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_raw(
    header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: str = "main"
) -> str:
    """Sign arbitrary header/payload bytes with RS256 (to build malformed-but-signed tokens).

    A dict header gets the key's kid unless it names one; bytes are used as they are.
    """
    if isinstance(header, dict):
        header = json.dumps({"kid": f"ins_{key}", **header}).encode()
    h = header
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(h)}.{b64(p)}".encode()
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input, private_key(key))
    return f"{signing_input.decode()}.{b64(signature)}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ClerkServer:
    """A local stand-in for the Backend API endpoints auth uses, counting requests.

    ``jwks`` is served at ``GET /v1/jwks``; set ``jwks_status`` (and ``jwks_headers``)
    to make it fail and ``gate`` to hold JWKS answers until the event is set.
    Machine-token verify endpoints answer from ``machine_answers[(path, token)] = (status, json)``.
    """

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": [jwk("main")]}
        self.jwks_status = 200
        self.jwks_headers: dict[str, str] = {}
        self.gate: asyncio.Event | None = None
        self.jwks_requested = asyncio.Event()
        self.counts: Counter[str] = Counter()
        self.bodies: list[tuple[str, Any]] = []
        self.auth_headers: list[str | None] = []
        self.machine_answers: dict[tuple[str, str], tuple[int, Any]] = {}
        app = web.Application()
        app.router.add_get("/v1/jwks", self._jwks)
        app.router.add_post("/v1/{tail:.*}", self._verify)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def _jwks(self, request: web.Request) -> web.StreamResponse:
        self.counts["jwks"] += 1
        self.jwks_requested.set()
        self.auth_headers.append(request.headers.get("Authorization"))
        if self.gate is not None:
            await self.gate.wait()
        if self.jwks_status != 200:
            return web.json_response(
                {"errors": [{"code": "unexpected", "message": "down"}]},
                status=self.jwks_status,
                headers=self.jwks_headers,
            )
        return web.json_response(self.jwks)

    async def _verify(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        self.counts[path] += 1
        body = await request.json()
        self.bodies.append((path, body))
        token = next(iter(body.values()), "") if isinstance(body, dict) else ""
        status, answer = self.machine_answers.get(
            (path, token), (404, {"errors": [{"code": "not_found", "message": "not found"}]})
        )
        return web.json_response(answer, status=status)
