"""Where verification keys come from: a PEM public key, or the instance's JWKS.

One :class:`JWKSCache` exists per Clerk instance (API URL + a digest of the secret
key), shared by every client object pointing at that instance:

* a fetched key set is fresh for :data:`JWKS_TTL` seconds;
* concurrent callers that find the cache cold or stale share ONE fetch (a task
  they all await), so a burst of verifications sends a single request;
* a ``kid`` missing from a fresh set triggers one refetch, then no other for
  :data:`KID_REFETCH_COOLDOWN` seconds (so random kids cannot make us hammer Clerk);
* when a refresh fails, the previous set keeps being used (up to :data:`MAX_STALE`
  seconds old), and the refresh is retried after :data:`ERROR_BACKOFF` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from ..errors import ClerkError, ConfigurationError
from ._errors import TokenVerificationError, TokenVerificationErrorReason

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = [
    "ERROR_BACKOFF",
    "JWKS_TTL",
    "KID_REFETCH_COOLDOWN",
    "MAX_STALE",
    "JWKSCache",
    "clear_caches",
    "jwks_cache_for",
    "load_pem_key",
]

JWKS_TTL = 300.0
KID_REFETCH_COOLDOWN = 30.0
ERROR_BACKOFF = 10.0
MAX_STALE = 24 * 3600.0

# Read through the module so tests can move time without sleeping.
_monotonic = time.monotonic

Fetch = Callable[[], Awaitable[object]]


def _unavailable(message: str) -> TokenVerificationError:
    return TokenVerificationError(TokenVerificationErrorReason.JWKS_UNAVAILABLE, message)


def _public(key: object) -> RSAPublicKey | None:
    if isinstance(key, RSAPrivateKey):
        return key.public_key()
    if isinstance(key, RSAPublicKey):
        return key
    return None


def parse_jwks(
    document: object, previous: Mapping[str, tuple[str, RSAPublicKey]]
) -> dict[str, tuple[str, RSAPublicKey]]:
    """``{kid: (canonical JWK text, key)}`` for the RSA signing keys of a JWKS document.

    Keys whose JWK did not change keep their previous key object, so the
    signature cache (which checks key identity) stays warm across refreshes.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise _unavailable("the JWKS answer has no 'keys' list")
    keys: dict[str, tuple[str, RSAPublicKey]] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or jwk.get("use", "sig") != "sig":
            continue
        canonical = repr(sorted((str(k), repr(v)) for k, v in jwk.items()))
        old = previous.get(kid)
        if old is not None and old[0] == canonical:
            keys[kid] = old
            continue
        try:
            key = _public(RSAAlgorithm.from_jwk(dict(jwk)))
        except (InvalidKeyError, ValueError, TypeError, KeyError):
            continue
        if key is not None:
            keys[kid] = (canonical, key)
    return keys


class JWKSCache:
    """The key set of one Clerk instance (see the module docstring for the rules)."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, RSAPublicKey]] | None = None
        self._fetched_at = 0.0
        self._retry_at = 0.0  # after a failed refresh: keep serving the stale set until then
        self._kid_refetch_at = float("-inf")
        self._inflight: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        self.fetches = 0  # refreshes started (for diagnostics and tests)

    def lookup(self, kid: str) -> RSAPublicKey | None:
        """The key for ``kid`` if the cached set is fresh and has it (no I/O)."""
        keys = self._keys
        if keys is None or _monotonic() - self._fetched_at >= JWKS_TTL:
            return None
        entry = keys.get(kid)
        return None if entry is None else entry[1]

    async def get_key(self, kid: str, fetch: Fetch) -> RSAPublicKey:
        """The verification key for ``kid``, fetching the key set when needed."""
        now = _monotonic()
        keys = self._keys
        if keys is not None and now - self._fetched_at < JWKS_TTL:
            entry = keys.get(kid)
            if entry is not None:
                return entry[1]
            if now - self._kid_refetch_at < KID_REFETCH_COOLDOWN:
                raise self._unknown(kid)
            self._kid_refetch_at = now
            await self._refresh(fetch)
            return self._find(kid)
        if keys is not None and now < self._retry_at and now - self._fetched_at < MAX_STALE:
            return self._find(kid)  # Clerk failed recently: stay on the stale set for now
        try:
            await self._refresh(fetch)
        except TokenVerificationError:
            keys = self._keys
            if keys is None or _monotonic() - self._fetched_at >= MAX_STALE:
                raise
            self._retry_at = _monotonic() + ERROR_BACKOFF
        return self._find(kid)

    def _find(self, kid: str) -> RSAPublicKey:
        entry = (self._keys or {}).get(kid)
        if entry is None:
            raise self._unknown(kid)
        return entry[1]

    @staticmethod
    def _unknown(kid: str) -> TokenVerificationError:
        shown = kid if len(kid) <= 64 else kid[:64] + "..."
        return TokenVerificationError(
            TokenVerificationErrorReason.UNKNOWN_KID, f"no key of this instance has kid {shown!r}"
        )

    async def _refresh(self, fetch: Fetch) -> None:
        loop = asyncio.get_running_loop()
        inflight = self._inflight
        if inflight is not None and inflight[0] is loop and not inflight[1].done():
            task = inflight[1]
        else:
            # A task, not the first caller, does the fetch: a caller that is cancelled
            # does not take the refresh down with it for everybody else.
            task = loop.create_task(self._fetch(fetch))
            task.add_done_callback(_consume_exception)
            self._inflight = (loop, task)
        await asyncio.shield(task)

    async def _fetch(self, fetch: Fetch) -> None:
        self.fetches += 1
        try:
            document = await fetch()
        except ConfigurationError:
            raise
        except ClerkError as exc:
            raise _unavailable(f"could not fetch the JWKS: {type(exc).__name__}") from exc
        self._keys = parse_jwks(document, self._keys or {})
        self._fetched_at = _monotonic()
        self._retry_at = 0.0


def _consume_exception(task: asyncio.Task[None]) -> None:
    # Every waiter may have been cancelled; the failure is still reported to the
    # next caller, so do not let asyncio log it as never retrieved.
    if not task.cancelled():
        task.exception()


_caches: dict[tuple[str, str], JWKSCache] = {}
_caches_lock = threading.Lock()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def instance_key(clerk: Clerk | None) -> tuple[str, str]:
    """(API URL, secret key digest) of the instance a client (or the environment) points at."""
    if clerk is not None:
        shared = getattr(clerk, "_shared", None)
        secret = getattr(getattr(shared, "secret", None), "value", None)
        return clerk.api_url, _digest(secret) if isinstance(secret, str) else f"id:{id(shared)}"
    from .._client import DEFAULT_API_URL

    url = (os.environ.get("CLERK_API_URL") or DEFAULT_API_URL).rstrip("/")
    url = url[: -len("/v1")] if url.endswith("/v1") else url
    secret = (os.environ.get("CLERK_SECRET_KEY") or "").strip()
    if not secret:
        raise ConfigurationError(
            "cannot verify session tokens: pass jwt_key= (or set CLERK_JWT_KEY), "
            "or clerk= (or set CLERK_SECRET_KEY)"
        )
    return url, _digest(secret)


def jwks_cache_for(key: tuple[str, str]) -> JWKSCache:
    """The shared cache of one instance."""
    cache = _caches.get(key)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(key, JWKSCache())
    return cache


def jwks_fetcher(clerk: Clerk | None) -> Fetch:
    """A coroutine function that fetches ``GET /v1/jwks`` as raw JSON."""
    if clerk is not None:
        client = clerk

        async def fetch() -> object:
            return await client._request("GET", "/jwks", cast_to=object)

        return fetch

    async def fetch_from_env() -> object:
        from .._client import Clerk

        async with Clerk() as temporary:
            return await temporary._request("GET", "/jwks", cast_to=object)

    return fetch_from_env


_pem_keys: OrderedDict[str, RSAPublicKey] = OrderedDict()
_PEM_CACHE_SIZE = 16


def load_pem_key(pem: str) -> RSAPublicKey:
    """Parse (once) an RSA public key in PEM form, as given in ``CLERK_JWT_KEY``.

    Literal ``\\n`` sequences (how the key often travels in one-line env files) are
    accepted. Raises :class:`~clerk_async.errors.ConfigurationError` for anything
    that is not an RSA public key.
    """
    key = _pem_keys.get(pem)
    if key is not None:
        return key
    text = pem.strip()
    if "\\n" in text and "\n" not in text:
        text = text.replace("\\n", "\n")
    try:
        parsed = _public(RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(text))
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"jwt_key is not a PEM RSA public key ({exc})") from None
    if parsed is None:
        raise ConfigurationError("jwt_key is not an RSA key")
    with _caches_lock:
        _pem_keys[pem] = parsed
        while len(_pem_keys) > _PEM_CACHE_SIZE:
            _pem_keys.popitem(last=False)
    return parsed


def clear_caches() -> None:
    """Forget every cached key set and parsed PEM key (mainly for tests)."""
    with _caches_lock:
        _caches.clear()
        _pem_keys.clear()
