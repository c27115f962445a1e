"""Session token verification: ``verify_token`` and its signature cache."""

from __future__ import annotations

import binascii
import codecs
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

import attrs
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from .. import _config
from ._claims import SessionClaims
from ._errors import TokenVerificationError, TokenVerificationErrorReason
from ._jwks import instance_key, jwks_cache_for, jwks_fetcher, load_pem_key

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = [
    "ALLOWED_ALGORITHMS",
    "CATEGORY_IGNORE",
    "CATEGORY_JWT_TEMPLATE",
    "CATEGORY_M2M_TOKEN",
    "CATEGORY_SESSION_TOKEN",
    "MAX_TOKEN_LENGTH",
    "SIGNATURE_CACHE_SIZE",
    "clear_signature_cache",
    "decode_unverified",
    "decode_unverified_payload",
    "is_non_session_category",
    "verify_signed",
    "verify_token",
]

# The ``cat`` JOSE header Clerk stamps on the JWTs one instance key signs, so a
# JWT of one class is never taken for another (all share ``iss`` and key).
#: a session token (and a handshake token)
CATEGORY_SESSION_TOKEN = "cl_B7d4PD111AAA"
#: a token minted from a JWT template
CATEGORY_JWT_TEMPLATE = "cl_B7d4PD222AAA"
#: a machine-to-machine token in JWT form
CATEGORY_M2M_TOKEN = "cl_B7d4PD333AAA"
#: stamped on every class by some instances: says nothing about the class
CATEGORY_IGNORE = "cl_I7d4PD111III"


def is_non_session_category(cat: object) -> bool:
    """Whether a ``cat`` header marks a JWT as something other than a session token.

    An absent ``cat`` (tokens minted before Clerk added it) and the "ignore"
    category say nothing, so they pass.
    """
    return cat is not None and cat not in (CATEGORY_SESSION_TOKEN, CATEGORY_IGNORE)


R = TokenVerificationErrorReason

#: Clerk session tokens are a few hundred bytes to a few KiB (they must fit in a
#: cookie); anything larger is refused before it is even split.
MAX_TOKEN_LENGTH = 16 * 1024

#: The only algorithms ever accepted, whatever the token's header says.
ALLOWED_ALGORITHMS: dict[str, RSAAlgorithm] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "RS384": RSAAlgorithm(RSAAlgorithm.SHA384),
    "RS512": RSAAlgorithm(RSAAlgorithm.SHA512),
}

#: How many verified tokens the signature cache remembers.
SIGNATURE_CACHE_SIZE = 4096

# Read through the module so tests can move the clock.
_now = time.time

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _fail(reason: TokenVerificationErrorReason, message: str) -> NoReturn:
    raise TokenVerificationError(reason, message)


# base64url to the standard alphabet, for binascii (which base64.urlsafe_b64decode
# reaches through three more calls per segment, measured on fresh tokens).
_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64decode(segment: str, what: str) -> bytes:
    # Strict: the standard decoder silently skips characters outside the alphabet.
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        _fail(R.MALFORMED, f"the {what} is not base64url")
    try:
        padded = (segment + "=" * (-len(segment) % 4)).encode("ascii")
        return binascii.a2b_base64(padded.translate(_URLSAFE))
    except (binascii.Error, ValueError):
        _fail(R.MALFORMED, f"the {what} is not base64url")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads with any keyword builds a decoder per call.
_JSON = json.JSONDecoder(parse_constant=_reject_constant)


_BOM = codecs.BOM_UTF8


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        # A JWT's JSON is UTF-8 (RFC 7519); a byte order mark is tolerated as before,
        # stripped here (the "utf-8-sig" codec is Python code, measured per token).
        text = (data[3:] if data.startswith(_BOM) else data).decode()
        try:
            value, end = _JSON.raw_decode(text)
        except ValueError:
            end = -1
        if end != len(text):  # leading or trailing whitespace, or no JSON: the full rules
            value = _JSON.decode(text)
    except (ValueError, RecursionError):
        _fail(R.MALFORMED, f"the {what} is not JSON")
    if not isinstance(value, dict):
        _fail(R.MALFORMED, f"the {what} is not a JSON object")
    return value


def _split(token: str) -> tuple[str, str, str]:
    if len(token) > MAX_TOKEN_LENGTH:
        _fail(R.TOKEN_TOO_LARGE, f"the token is longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        _fail(R.MALFORMED, "a JWT has three dot-separated parts")
    return parts[0], parts[1], parts[2]


def decode_unverified_payload(token: str) -> dict[str, Any]:
    """The payload of a JWT WITHOUT checking anything; only for routing decisions
    that can lead nowhere but to "signed out" (like the ``__client_uat`` rule)."""
    _, payload, _ = _split(token)
    return _json_object(_b64decode(payload, "payload"), "payload")


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, payload)`` of a JWT WITHOUT checking the signature; for routing
    only (which verifier a token goes to, whether it can be a session token)."""
    header, payload, _ = _split(token)
    return (
        _json_object(_b64decode(header, "header"), "header"),
        _json_object(_b64decode(payload, "payload"), "payload"),
    )


async def verify_signed(
    token: str, *, jwt_key: str | None = None, clerk: Clerk | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, payload)`` of a JWT whose signature checks out against the
    instance's key (``jwt_key``/``CLERK_JWT_KEY``, else the JWKS of ``clerk``).

    The signature only: the caller checks the claims its kind of token needs.
    Used for machine JWTs and handshake tokens, which the session-token cache
    does not serve.
    """
    if not isinstance(token, str) or not token:
        _fail(R.MALFORMED, "the token is empty")
    header_b64, payload_b64, signature_b64 = _split(token)
    header, algorithm, kid = _parse_header(header_b64)
    signature = _b64decode(signature_b64, "signature")
    pem_key, instance = _key_source(jwt_key, clerk)
    await _check_signature(
        header_b64, payload_b64, signature, algorithm, kid, pem_key, instance, clerk
    )
    # A copy: the parsed header is shared by every token that carries the same one.
    return dict(header), _json_object(_b64decode(payload_b64, "payload"), "payload")


def _key_source(
    jwt_key: str | None, clerk: Clerk | None
) -> tuple[RSAPublicKey | None, tuple[str, str] | None]:
    """Where tokens are checked: ``(the PEM key, None)`` when ``jwt_key`` or
    ``CLERK_JWT_KEY`` gives one, else ``(None, the instance whose JWKS serves them)``."""
    pem = _config.jwt_key(jwt_key)
    pem_key = load_pem_key(pem) if pem else None
    return pem_key, None if pem_key is not None else instance_key(clerk)


async def _check_signature(
    header_b64: str,
    payload_b64: str,
    signature: bytes,
    algorithm: RSAAlgorithm,
    kid: str | None,
    pem_key: RSAPublicKey | None,
    instance: tuple[str, str] | None,
    clerk: Clerk | None,
) -> RSAPublicKey:
    """The key that verified the token's signature (the PEM key, else the JWKS key its
    ``kid`` names); raises when there is none or the signature does not match."""
    if pem_key is not None:
        key = pem_key
    else:
        assert instance is not None
        if not kid:
            _fail(R.UNKNOWN_KID, "the token has no 'kid' header")
        key = await jwks_cache_for(instance).get_key(kid, jwks_fetcher(clerk))
    if not algorithm.verify(f"{header_b64}.{payload_b64}".encode("ascii"), key, signature):
        _fail(R.INVALID_SIGNATURE, "the signature does not match")
    return key


#: How many distinct JWT headers :func:`_parse_header` remembers.
HEADER_CACHE_SIZE = 64
_headers: OrderedDict[str, tuple[dict[str, Any], RSAAlgorithm, str | None]] = OrderedDict()
_headers_lock = threading.Lock()


def _parse_header(header_b64: str) -> tuple[dict[str, Any], RSAAlgorithm, str | None]:
    """``(header, algorithm, kid)`` of a JWT's first segment, checked: base64url JSON
    object, an allowed ``alg``, no ``crit``, a string ``kid`` when there is one.

    The one place a JWT header is read. Every token one instance key signs carries one
    of a handful of headers (the same ``alg``, ``kid``, ``typ`` and ``cat``), so the last
    :data:`HEADER_CACHE_SIZE` distinct ones are remembered, their segment as the key: a
    repeat costs a dictionary lookup instead of base64 and JSON decoding. The header
    dictionary is shared; callers must not change it.
    """
    found = _headers.get(header_b64)
    if found is not None:
        return found
    header = _json_object(_b64decode(header_b64, "header"), "header")
    algorithm = _algorithm_of(header)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        _fail(R.MALFORMED, "the 'kid' header is not a string")
    parsed = (header, algorithm, kid)
    with _headers_lock:
        _headers[header_b64] = parsed
        while len(_headers) > HEADER_CACHE_SIZE:
            _headers.popitem(last=False)
    return parsed


def _algorithm_of(header: dict[str, Any]) -> RSAAlgorithm:
    alg = header.get("alg")
    algorithm = ALLOWED_ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if algorithm is None:
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else type(alg).__name__
        _fail(R.ALGORITHM_NOT_ALLOWED, f"algorithm {shown!r} is not allowed (RS256/384/512 only)")
    if "crit" in header:
        _fail(R.MALFORMED, "critical header extensions are not supported")
    return algorithm


@attrs.define(eq=False)
class _Verified:
    kid: str | None
    key: RSAPublicKey
    claims: SessionClaims
    # What authenticate_request builds from the claims (an ``Auth``), kept with them so
    # a repeated token does not rebuild it; built from the claims alone, no token in it.
    auth: Any = None
    # Whether authenticate_request read the token's header and claims and found a session
    # token's (no machine type, no other ``cat``): then it answers the token again from
    # this entry without reading them (:func:`recalled` with ``routed=True``).
    routed: bool = False


@attrs.frozen(eq=False)
class SessionChecks:
    """How a session token is verified: where its key comes from (``jwt_key``, else the
    JWKS of ``clerk``'s instance) and what its claims must say. One value carries
    :func:`verify_token`'s keywords and an ``AuthenticateOptions``' fields alike, so the
    cached path and the whole path check the same things."""

    jwt_key: str | None = attrs.field(default=None, repr=False)
    clerk: Clerk | None = None
    authorized_parties: Sequence[str] | None = None
    audience: str | Sequence[str] | None = None
    issuer: str | None = None
    clock_skew: float = 5.0
    now: Callable[[], float] | None = None


V = TypeVar("V")


class DigestCache(Generic[V]):
    """A bounded LRU keyed by a digest of a token (:func:`token_digest`), so no
    token is kept in memory. Thread-safe: sync shims may verify from several threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, digest: bytes) -> V | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None:
                self._entries.move_to_end(digest)
            return entry

    def put(self, digest: bytes, entry: V) -> None:
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def token_digest(token: str | bytes) -> bytes:
    """The key of a token in a :class:`DigestCache` (a token as text, or its bytes as
    they came in a header: a valid token is ASCII, so both give the same key)."""
    # BLAKE2b (256 bits): as collision-resistant a key as SHA-256, and CPython's own code
    # rather than OpenSSL's, whose per-call setup shows on a request's first hash (about
    # 1.5 µs against 3 µs measured inside a FastAPI request).
    data = token if isinstance(token, bytes) else token.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=32).digest()


#: Tokens whose signature (and static claims) checked out. An entry only counts when
#: the key that verified it is still the key we would use now (same object), so a
#: rotated key set or another ``jwt_key`` misses.
_signatures: DigestCache[_Verified] = DigestCache(SIGNATURE_CACHE_SIZE)


def clear_signature_cache() -> None:
    """Forget every remembered token signature (and parsed header)."""
    _signatures.clear()
    with _headers_lock:
        _headers.clear()


def check_times(
    exp: float,
    nbf: float | None,
    iat: float | None,
    clock_skew: float,
    what: str = "token",
    clock: Callable[[], float] | None = None,
) -> None:
    """Raise when ``exp``/``nbf``/``iat`` say the token is not valid at ``clock()``
    (epoch seconds; the wall clock by default)."""
    now = _now() if clock is None else clock()
    if exp <= now - clock_skew:
        _fail(R.EXPIRED, f"the {what} has expired")
    if nbf is not None and nbf > now + clock_skew:
        _fail(R.NOT_YET_VALID, f"the {what} is not valid yet (nbf)")
    if iat is not None and iat > now + clock_skew:
        _fail(R.ISSUED_IN_FUTURE, f"the {what} was issued in the future (iat)")


def _check_dynamic(claims: SessionClaims, checks: SessionChecks) -> None:
    """The checks a cached signature does not spare: time claims, parties, audience, issuer."""
    check_times(claims.exp, claims.nbf, claims.iat, checks.clock_skew, clock=checks.now)
    authorized_parties, audience, issuer = checks.authorized_parties, checks.audience, checks.issuer
    if authorized_parties:
        parties = (
            [authorized_parties] if isinstance(authorized_parties, str) else authorized_parties
        )
        if claims.azp is None:
            _fail(R.UNAUTHORIZED_PARTY, "the token has no 'azp' claim")
        if claims.azp not in parties:
            _fail(R.UNAUTHORIZED_PARTY, "the token's 'azp' is not an authorized party")
    if audience:
        expected = {audience} if isinstance(audience, str) else set(audience)
        got = claims.aud
        actual = set() if got is None else {got} if isinstance(got, str) else set(got)
        if not expected & actual:
            _fail(R.INVALID_AUDIENCE, "the token's 'aud' matches no expected audience")
    if issuer is not None and claims.iss != issuer:
        _fail(R.INVALID_ISSUER, "the token's 'iss' is not the expected issuer")


async def verify_token(
    token: str,
    *,
    jwt_key: str | None = None,
    clerk: Clerk | None = None,
    authorized_parties: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    issuer: str | None = None,
    clock_skew: float = 5.0,
    now: Callable[[], float] | None = None,
) -> SessionClaims:
    """Verify a Clerk session token and return its claims.

    Args:
        token: the JWT (from ``Authorization: Bearer …`` or the ``__session`` cookie).
        jwt_key: the instance's PEM public key (Dashboard → API keys → JWT public key),
            for verification without any network call; defaults to ``CLERK_JWT_KEY``.
        clerk: the client whose instance's ``GET /v1/jwks`` provides the keys when no
            PEM key is given. Without it, ``CLERK_SECRET_KEY`` (and ``CLERK_API_URL``)
            from the environment name the instance.
        authorized_parties: origins allowed in ``azp`` (e.g. ``["https://example.com"]``);
            when given, a token without ``azp`` is rejected too. Strongly recommended
            for browser-issued tokens.
        audience: expected ``aud`` value(s), checked when given.
        issuer: expected ``iss``, checked when given.
        clock_skew: seconds of tolerance for ``exp``, ``nbf`` and ``iat``.
        now: the time source the time claims are judged by (epoch seconds), for
            tests on a moved clock: ``now=emu.clock.now`` with the emulator. Default:
            the wall clock.

    Only RS256, RS384 and RS512 are accepted, whatever the header claims; the
    signature is checked before any claim is read. Repeated tokens skip the RSA
    work through a small cache, but their time claims and parties are checked on
    every call.

    Raises:
        TokenVerificationError: with a ``reason``; the token is never in the message.
        ConfigurationError: no key source (no ``jwt_key``/``CLERK_JWT_KEY``, no client
            and no ``CLERK_SECRET_KEY``), or a ``jwt_key`` that is not an RSA public key.

    Example::

        claims = await verify_token(token, clerk=clerk, authorized_parties=["https://app.example"])
        print(claims.user_id, claims.session_id, claims.org_id)
    """
    checks = SessionChecks(
        jwt_key=jwt_key,
        clerk=clerk,
        authorized_parties=authorized_parties,
        audience=audience,
        issuer=issuer,
        clock_skew=clock_skew,
        now=now,
    )
    return (await verified(token, checks)).claims


def recalled(digest: bytes, checks: SessionChecks, *, routed: bool = False) -> _Verified | None:
    """The signature cache's entry for the token of ``digest`` (:func:`token_digest`) when
    it holds one verified by the key that would verify it now, its claims checked again
    (time, parties, audience, issuer: :class:`TokenVerificationError` when they fail);
    None when the token must be verified (or, with ``routed``, when the entry was not
    marked routed). No await: a repeated token is answered here."""
    hit = _signatures.get(digest)
    if hit is None or (routed and not hit.routed):
        return None
    pem_key, instance = _key_source(checks.jwt_key, checks.clerk)
    current: RSAPublicKey | None
    if pem_key is not None:
        current = pem_key
    elif hit.kid is not None and instance is not None:
        current = jwks_cache_for(instance).lookup(hit.kid)
    else:
        current = None
    if current is not hit.key:
        return None
    _signatures.hits += 1
    _check_dynamic(hit.claims, checks)
    return hit


async def verified(token: str, checks: SessionChecks, digest: bytes | None = None) -> _Verified:
    """:func:`verify_token`, returning the signature cache's entry (for authenticate_request,
    which may pass the token's :func:`token_digest` it already has)."""
    if not isinstance(token, str) or not token:
        _fail(R.MALFORMED, "the token is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        _fail(R.TOKEN_TOO_LARGE, f"the token is longer than {MAX_TOKEN_LENGTH} characters")
    digest = token_digest(token) if digest is None else digest
    hit = recalled(digest, checks)
    if hit is not None:
        return hit
    clerk = checks.clerk
    pem_key, instance = _key_source(checks.jwt_key, clerk)
    header_b64, payload_b64, signature_b64 = _split(token)
    _, algorithm, kid = _parse_header(header_b64)
    signature = _b64decode(signature_b64, "signature")
    # Decoded before the signature is checked (a malformed payload is refused as such),
    # read only once it holds.
    payload_json = _b64decode(payload_b64, "payload")
    key = await _check_signature(
        header_b64, payload_b64, signature, algorithm, kid, pem_key, instance, clerk
    )

    payload = _json_object(payload_json, "payload")
    claims = SessionClaims.from_payload(payload)
    entry = _Verified(kid, key, claims)
    _signatures.put(digest, entry)
    _check_dynamic(claims, checks)
    return entry
