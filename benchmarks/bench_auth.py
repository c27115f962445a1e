"""Session token verification throughput: clerk-async vs plain PyJWT, same key.

Run it directly for a table::

    python benchmarks/bench_auth.py [--fresh 2000] [--repeated 20000]

or import the pieces (``setup``, ``bench_*``, ``run_all``, ``format_table``) to add
peers. Each case verifies a fixed number of tokens (no time-boxed loops) and
reports verifications per second and microseconds per verification:

* ``clerk-async fresh``: every token is new, so each pays the RSA check;
* ``clerk-async repeated``: one token again and again (the signature cache hit);
* ``clerk-async authenticate_request``: the whole request path, repeated token;
* ``pyjwt decode``: ``jwt.decode`` with the same RSA public key (no cache), the
  floor any PyJWT-based verifier pays per call.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clerk_async.auth import AuthenticateOptions, authenticate_request, clear_caches, verify_token

__all__ = [
    "Fixture",
    "Result",
    "bench_authenticate_request",
    "bench_ours_fresh",
    "bench_ours_repeated",
    "bench_pyjwt",
    "format_table",
    "main",
    "run_all",
    "setup",
]


@attrs.frozen
class Fixture:
    """A key pair and tokens signed with it."""

    private_key: rsa.RSAPrivateKey
    public_pem: str
    fresh_tokens: list[str]
    repeated_token: str
    azp: str = "https://app.example.com"

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()


@attrs.frozen
class Result:
    name: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")

    @property
    def microseconds(self) -> float:
        return self.seconds / self.count * 1e6


def _claims(i: int) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "sid": f"sess_{i:08d}",
        "azp": "https://app.example.com",
        "iss": "https://clerk.example.com",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 3600,
        "v": 2,
        "fea": "o:dashboard",
        "o": {"id": "org_1", "rol": "admin", "slg": "acme", "per": "read,manage", "fpm": "3"},
    }


def setup(fresh: int = 2000, key_size: int = 2048) -> Fixture:
    """Generate a key and ``fresh`` distinct tokens (RS256, with a kid)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    headers = {"kid": "ins_bench"}
    tokens = [
        jwt.encode(_claims(i), private_key, algorithm="RS256", headers=headers)
        for i in range(fresh + 1)
    ]
    return Fixture(private_key, pem, tokens[1:], tokens[0])


async def _timed(name: str, count: int, call: Callable[[], Awaitable[object]]) -> Result:
    start = time.perf_counter()
    for _ in range(count):
        await call()
    return Result(name, count, time.perf_counter() - start)


async def bench_ours_fresh(fixture: Fixture) -> Result:
    """verify_token over distinct tokens (every call does the RSA work)."""
    clear_caches()
    tokens = iter(fixture.fresh_tokens)
    parties = [fixture.azp]

    async def call() -> object:
        return await verify_token(
            next(tokens), jwt_key=fixture.public_pem, authorized_parties=parties
        )

    return await _timed("clerk-async verify_token, fresh", len(fixture.fresh_tokens), call)


async def bench_ours_repeated(fixture: Fixture, count: int = 20000) -> Result:
    """verify_token on one token again and again (signature cache hits)."""
    clear_caches()
    token, parties = fixture.repeated_token, [fixture.azp]

    async def call() -> object:
        return await verify_token(token, jwt_key=fixture.public_pem, authorized_parties=parties)

    return await _timed("clerk-async verify_token, repeated", count, call)


async def bench_authenticate_request(fixture: Fixture, count: int = 20000) -> Result:
    """authenticate_request with a Bearer header, repeated token."""
    clear_caches()
    options = AuthenticateOptions(jwt_key=fixture.public_pem, authorized_parties=[fixture.azp])
    headers = {"Authorization": f"Bearer {fixture.repeated_token}", "Cookie": "theme=dark"}

    async def call() -> object:
        return await authenticate_request(headers=headers, options=options)

    return await _timed("clerk-async authenticate_request, repeated", count, call)


def bench_pyjwt(fixture: Fixture, count: int | None = None) -> Result:
    """Plain ``jwt.decode`` with the same public key over the fresh tokens."""
    key = fixture.public_key
    tokens = fixture.fresh_tokens if count is None else fixture.fresh_tokens[:count]
    start = time.perf_counter()
    for token in tokens:
        jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            options={"require": ["exp", "sub"]},
            leeway=5,
        )
    return Result("pyjwt decode (no cache)", len(tokens), time.perf_counter() - start)


async def run_all(fresh: int = 2000, repeated: int = 20000) -> list[Result]:
    """Every case above, on one fixture."""
    fixture = setup(fresh)
    results = [
        await bench_ours_fresh(fixture),
        await bench_ours_repeated(fixture, repeated),
        await bench_authenticate_request(fixture, repeated),
        bench_pyjwt(fixture),
    ]
    clear_caches()
    return results


def format_table(results: Sequence[Result]) -> str:
    """A Markdown table of results."""
    lines = [
        "| case | verifications | verifications/s | µs each |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r.name} | {r.count} | {r.per_second:,.0f} | {r.microseconds:.1f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--fresh", type=int, default=2000, help="distinct tokens to verify")
    parser.add_argument("--repeated", type=int, default=20000, help="repeated verifications")
    args = parser.parse_args(argv)
    print(format_table(asyncio.run(run_all(args.fresh, args.repeated))))


if __name__ == "__main__":
    main()
