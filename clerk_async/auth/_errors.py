"""Why a token was rejected, and the exception that says so."""

from __future__ import annotations

import enum

from ..errors import ClerkError

__all__ = ["TokenVerificationError", "TokenVerificationErrorReason"]


class TokenVerificationErrorReason(str, enum.Enum):
    """Machine-readable cause of a :class:`TokenVerificationError`."""

    #: the token is larger than any Clerk token can be; it was not parsed
    TOKEN_TOO_LARGE = "token_too_large"
    #: not three base64url segments holding JSON objects
    MALFORMED = "malformed"
    #: the header names an algorithm other than RS256/RS384/RS512 (``none``, ``HS256``, ...)
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    #: no key of the instance has the token's ``kid`` (even after one refetch)
    UNKNOWN_KID = "unknown_kid"
    #: the key set gives the token's ``kid`` to two different keys: none is trusted
    AMBIGUOUS_KID = "ambiguous_kid"
    #: the key set could not be fetched and no earlier copy is available
    JWKS_UNAVAILABLE = "jwks_unavailable"
    #: the signature does not match the header and payload
    INVALID_SIGNATURE = "invalid_signature"
    #: a required claim (``sub``, ``exp``) is absent or has the wrong type
    MISSING_CLAIM = "missing_claim"
    #: ``exp`` is in the past (beyond the allowed clock skew), or Clerk says it expired
    EXPIRED = "expired"
    #: ``nbf`` is in the future (beyond the allowed clock skew)
    NOT_YET_VALID = "not_yet_valid"
    #: ``iat`` is in the future (beyond the allowed clock skew)
    ISSUED_IN_FUTURE = "issued_in_future"
    #: ``azp`` is missing or not one of the authorized parties
    UNAUTHORIZED_PARTY = "unauthorized_party"
    #: ``aud`` is missing or matches none of the expected audiences
    INVALID_AUDIENCE = "invalid_audience"
    #: ``iss`` is missing or not the expected issuer
    INVALID_ISSUER = "invalid_issuer"
    #: a machine token that Clerk does not know
    INVALID_TOKEN = "invalid_token"
    #: a machine token that was revoked
    TOKEN_REVOKED = "token_revoked"
    #: Clerk could not be asked about a machine token (network, rate limit, bad secret key)
    VERIFICATION_UNAVAILABLE = "verification_unavailable"


class TokenVerificationError(ClerkError):
    """A session or machine token was rejected.

    The message never contains the token itself, so it is safe to log.

    Attributes:
        reason: why, as a :class:`TokenVerificationErrorReason`.

    Example::

        try:
            claims = await verify_token(token, clerk=clerk)
        except TokenVerificationError as exc:
            if exc.reason is TokenVerificationErrorReason.EXPIRED:
                ...
    """

    reason: TokenVerificationErrorReason

    def __init__(self, reason: TokenVerificationErrorReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type[TokenVerificationError], tuple[object, ...]]:
        return (type(self), (self.reason, self.message))
