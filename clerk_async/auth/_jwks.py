"""Where verification keys come from: a PEM public key, or the instance's JWKS.

One :class:`JWKSCache` exists per Clerk instance (API URL + a digest of the secret
key), shared by every client object pointing at that instance:

* a fetched key set is fresh for :data:`JWKS_TTL` seconds;
* concurrent callers that find the cache cold or stale share ONE fetch (a task
  they all await), so a burst of verifications sends a single request;
* a ``kid`` missing from a fresh set triggers one refetch, then no other for
  :data:`KID_REFETCH_COOLDOWN` seconds (so random kids cannot make us hammer Clerk).
  If that refetch fails, the token is still rejected as ``unknown_kid`` (a 401):
  we hold a fresh key set and the kid is not in it, which is not an outage;
* one fetch sends at most two requests and gives up after a few seconds
  (:data:`JWKS_FETCH_RETRIES`), whatever the client's own retry policy: a
  verification is on the hot path of a request and must not wait out a long
  backoff;
* when a fetch fails, nobody asks Clerk again for a while. With a previous set at
  most :data:`MAX_STALE` seconds old, that set keeps being used and the refresh is
  retried after :data:`ERROR_BACKOFF` seconds. With no usable set, every
  verification fails at once with ``jwks_unavailable`` for
  :data:`UNAVAILABLE_BACKOFF` seconds, then the next one tries again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import attrs
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from .. import _config
from .._http import requester_of
from .._retry import Retries
from ..errors import ClerkAPIError, ClerkError, ConfigurationError
from ._client import requester_for
from ._errors import TokenVerificationError, TokenVerificationErrorReason

if TYPE_CHECKING:
    from .._client import Clerk
    from .._http import Requester

__all__ = [
    "ERROR_BACKOFF",
    "JWKS_FETCH_RETRIES",
    "JWKS_TTL",
    "KID_REFETCH_COOLDOWN",
    "MAX_STALE",
    "UNAVAILABLE_BACKOFF",
    "JWKSCache",
    "clear_caches",
    "jwks_cache_for",
    "load_pem_key",
]

#: Seconds a fetched key set is used without asking Clerk again.
JWKS_TTL = 300.0
#: Seconds between two refetches caused by unknown ``kid`` values.
KID_REFETCH_COOLDOWN = 30.0
#: Seconds before a failed refresh is retried while an older key set is still served.
ERROR_BACKOFF = 10.0
#: Seconds during which verifications fail at once with ``jwks_unavailable`` after a
#: failed fetch when no usable key set exists. Short, because every verification
#: fails meanwhile; long enough that a process asks at most twice per 5 s (one
#: fetch, one retry) while Clerk is down, a small share of the 100 requests per
#: 10 s a development instance may send.
UNAVAILABLE_BACKOFF = 5.0
#: How long an older key set may be served while Clerk cannot be reached.
MAX_STALE = 24 * 3600.0
#: The retry policy of one JWKS fetch: one retry after at most 0.25 s, a server's
#: ``Retry-After`` honoured up to 1 s, and 5 s for the whole fetch. A client with
#: fewer retries or a shorter deadline keeps its own, smaller values.
JWKS_FETCH_RETRIES = Retries(
    max_retries=1, backoff_base=0.25, backoff_max=0.25, retry_after_max=1.0, deadline=5.0
)

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


#: What a JWKS maps a ``kid`` to: (canonical JWK text, key), the key ``None`` when the
#: set holds two different keys under that ``kid`` (a token naming it is refused).
KeyEntry = tuple[str, RSAPublicKey | None]
_AMBIGUOUS: KeyEntry = ("", None)


def parse_jwks(document: object, previous: Mapping[str, KeyEntry]) -> dict[str, KeyEntry]:
    """``{kid: (canonical JWK text, key)}`` for the RSA signing keys of a JWKS document.

    Keys whose JWK did not change keep their previous key object, so the
    signature cache (which checks key identity) stays warm across refreshes. A ``kid``
    given to two different keys maps to no key at all: which one signed a token
    would be a guess, so tokens naming it are refused (``ambiguous_kid``).
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise _unavailable("the JWKS answer has no 'keys' list")
    keys: dict[str, KeyEntry] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or jwk.get("use", "sig") != "sig":
            continue
        canonical = repr(sorted((str(k), repr(v)) for k, v in jwk.items()))
        seen = keys.get(kid)
        if seen is not None:
            if seen[0] != canonical:
                keys[kid] = _AMBIGUOUS  # the same JWK twice is harmless; two keys are not
            continue
        old = previous.get(kid)
        if old is not None and old[0] == canonical and old[1] is not None:
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
        self._keys: dict[str, KeyEntry] | None = None
        self._fetched_at = 0.0
        self._retry_at = 0.0  # after a failed fetch: do not ask Clerk again until then
        self._failure: tuple[str, BaseException | None] | None = None  # message, cause
        self._kid_refetch_at = float("-inf")
        self._inflight: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        self.fetches = 0  # fetches started (for diagnostics and tests)

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
                return self._key_of(kid, entry)
            if now - self._kid_refetch_at < KID_REFETCH_COOLDOWN:
                raise self._unknown(kid)
            self._kid_refetch_at = now
            try:
                await self._refresh(fetch)
            except TokenVerificationError as exc:
                # The set we hold is fresh and lacks this kid: the token is not one of
                # this instance's as far as we know (a 401), not an outage (a 503).
                raise self._unknown(kid, " (refetching the key set failed)") from exc
            return self._find(kid)
        if now < self._retry_at:
            # A fetch failed moments ago: do not ask Clerk again yet.
            if self._usable(now):
                return self._find(kid)
            raise self._still_unavailable(now)
        try:
            await self._refresh(fetch)
        except TokenVerificationError:
            if not self._usable(_monotonic()):
                raise
        return self._find(kid)

    def _usable(self, now: float) -> bool:
        return self._keys is not None and now - self._fetched_at < MAX_STALE

    def _find(self, kid: str) -> RSAPublicKey:
        entry = (self._keys or {}).get(kid)
        if entry is None:
            raise self._unknown(kid)
        return self._key_of(kid, entry)

    @staticmethod
    def _key_of(kid: str, entry: KeyEntry) -> RSAPublicKey:
        key = entry[1]
        if key is None:
            shown = kid if len(kid) <= 64 else kid[:64] + "..."
            raise TokenVerificationError(
                TokenVerificationErrorReason.AMBIGUOUS_KID,
                f"the key set holds two different keys with kid {shown!r}; "
                "a token naming it cannot be verified",
            )
        return key

    @staticmethod
    def _unknown(kid: str, detail: str = "") -> TokenVerificationError:
        shown = kid if len(kid) <= 64 else kid[:64] + "..."
        return TokenVerificationError(
            TokenVerificationErrorReason.UNKNOWN_KID,
            f"no key of this instance has kid {shown!r}{detail}",
        )

    def _still_unavailable(self, now: float) -> TokenVerificationError:
        message, cause = self._failure or ("the last JWKS fetch failed", None)
        error = _unavailable(f"{message}; next attempt in {self._retry_at - now:.1f}s")
        error.__cause__ = cause
        return error

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
        try:
            await asyncio.shield(task)
        except TokenVerificationError as exc:
            # Each waiter raises its own copy: one shared object would pile up the
            # tracebacks of every waiter.
            raise TokenVerificationError(exc.reason, exc.message) from exc.__cause__

    async def _fetch(self, fetch: Fetch) -> None:
        self.fetches += 1
        try:
            try:
                document = await fetch()
            except ConfigurationError:
                raise
            except ClerkError as exc:
                status = f" (HTTP {exc.status})" if isinstance(exc, ClerkAPIError) else ""
                raise _unavailable(
                    f"could not fetch the JWKS: {type(exc).__name__}{status}"
                ) from exc
            keys = parse_jwks(document, self._keys or {})
        except TokenVerificationError as exc:
            now = _monotonic()
            self._failure = (exc.message, exc.__cause__)
            self._retry_at = now + (ERROR_BACKOFF if self._usable(now) else UNAVAILABLE_BACKOFF)
            raise
        self._keys = keys
        self._fetched_at = _monotonic()
        self._retry_at = 0.0
        self._failure = None


def _consume_exception(task: asyncio.Task[None]) -> None:
    # Every waiter may have been cancelled; the failure is still reported to the
    # next caller, so do not let asyncio log it as never retrieved.
    if not task.cancelled():
        task.exception()


_caches: dict[tuple[str, str], JWKSCache] = {}
_caches_lock = threading.Lock()


def instance_key(clerk: Clerk | None) -> tuple[str, str]:
    """(API URL, secret key digest) of the instance a client (or the environment) points at."""
    if clerk is not None:
        return requester_of(clerk).instance_key
    secret = _config.secret_key()
    if secret is None:
        raise ConfigurationError(
            "cannot verify session tokens: pass jwt_key= (or set CLERK_JWT_KEY), "
            "or clerk= (or set CLERK_SECRET_KEY)"
        )
    return _config.instance_key(_config.api_url(), secret)


def jwks_cache_for(key: tuple[str, str]) -> JWKSCache:
    """The shared cache of one instance."""
    cache = _caches.get(key)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(key, JWKSCache())
    return cache


def _bounded(http: Requester) -> Requester:
    """``http`` with the JWKS retry budget (never more than its own)."""
    own = http.options.retries
    budget = JWKS_FETCH_RETRIES
    deadline = budget.deadline
    if own.deadline is not None and (deadline is None or own.deadline < deadline):
        deadline = own.deadline
    policy = attrs.evolve(
        budget,
        max_retries=min(own.max_retries, budget.max_retries),
        deadline=deadline,
        statuses=own.statuses,
    )
    return http.with_options(retries=policy)


def jwks_fetcher(clerk: Clerk | None) -> Fetch:
    """A coroutine function that fetches ``GET /v1/jwks`` as raw JSON."""

    async def fetch() -> object:
        async with requester_for(clerk) as http:
            return await _bounded(http).request("GET", "/jwks", cast_to=object)

    return fetch


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
