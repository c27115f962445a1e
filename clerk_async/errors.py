"""Every exception this package raises.

The tree::

    ClerkError
    ├── ConfigurationError            the client cannot send a request (no secret key, ...)
    │   └── InvalidOptionError        an option or argument no Clerk setup accepts (also ValueError)
    ├── ClerkAPIError                 Clerk answered with a non-2xx status
    │   ├── BadRequestError           400
    │   ├── AuthenticationError       401
    │   ├── PaymentRequiredError      402
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── GoneError                 410
    │   ├── UnprocessableEntityError  422
    │   ├── LockedError               423
    │   ├── RateLimitError            429
    │   └── ServerError               5xx
    ├── ClerkConnectionError          the request did not get an answer
    │   └── ClerkTimeoutError         ... because a timeout or the retry deadline ran out
    ├── ClerkDecodeError              a 2xx answer whose body is not the JSON we expected
    │   └── ResponseTooLargeError     ... because it is larger than max_response_bytes
    ├── PaginationError               a list's pages did not advance (offset/cursor ignored)
    ├── TokenVerificationError        (clerk_async.auth) a token was rejected
    └── WebhookVerificationError      (clerk_async.webhooks) a webhook was rejected

``asyncio.CancelledError`` is never wrapped.

Example::

    try:
        user = await clerk.users.get(user_id)
    except NotFoundError:
        user = None
    except ClerkAPIError as exc:
        log.warning("Clerk said %s (trace %s)", exc.code, exc.clerk_trace_id)
        raise
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
from multidict import CIMultiDict

from ._retry import parse_retry_after

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClerkAPIError",
    "ClerkConnectionError",
    "ClerkDecodeError",
    "ClerkError",
    "ClerkTimeoutError",
    "ConfigurationError",
    "ConflictError",
    "ErrorDetail",
    "GoneError",
    "InvalidOptionError",
    "LockedError",
    "NotFoundError",
    "PaginationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "UnprocessableEntityError",
    "error_class_for_status",
]

_EXCERPT = 200  # characters of a non-JSON error body kept in the message


class ClerkError(Exception):
    """Base class of every error raised by clerk-async."""


class ConfigurationError(ClerkError):
    """The client is not configured well enough to send a request."""


class InvalidOptionError(ConfigurationError, ValueError):
    """An option or argument has a value no Clerk setup accepts (a malformed
    publishable key, a satellite without its domain, an unknown reverification
    rule, ...); the message names the option and what it takes."""


@attrs.frozen
class ErrorDetail:
    """One entry of the ``errors`` array of a Clerk error response."""

    code: str | None = None
    message: str | None = None
    long_message: str | None = None
    meta: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_json(cls, raw: object) -> ErrorDetail:
        if not isinstance(raw, Mapping):
            return cls(message=str(raw)[:_EXCERPT])

        def text(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else str(value)

        meta = raw.get("meta")
        return cls(
            code=text("code"),
            message=text("message"),
            long_message=text("long_message"),
            meta=dict(meta) if isinstance(meta, Mapping) else {},
        )


class ClerkAPIError(ClerkError):
    """Clerk answered with an error status.

    Attributes:
        status: the HTTP status code.
        errors: the parsed ``errors`` array (possibly empty for non-JSON pages).
        clerk_trace_id: Clerk's trace id (from the body, else the ``cf-ray`` header).
        retry_after: seconds the server asked us to wait, when it said so.
        headers: the response headers.
        attempts: how many times the request was sent before giving up.
        body_excerpt: the start of a body that was not a Clerk error document.
    """

    status: int

    def __init__(
        self,
        status: int,
        *,
        errors: list[ErrorDetail] | None = None,
        clerk_trace_id: str | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
        body_excerpt: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.errors = errors or []
        self.clerk_trace_id = clerk_trace_id
        self.retry_after = retry_after
        # Case-insensitive, like HTTP header names: ``exc.headers["retry-after"]`` works.
        self.headers: CIMultiDict[str] = CIMultiDict(headers or {})
        self.method = method
        self.url = url
        self.body_excerpt = body_excerpt
        self.attempts = attempts
        super().__init__(self._describe())

    @classmethod
    def from_response(
        cls,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        method: str = "",
        url: str = "",
        attempts: int = 1,
    ) -> ClerkAPIError:
        """The error for an error answer, of the class its status maps to.

        A Clerk error document (``{"errors": [...], "clerk_trace_id": ...}``) gives the
        details; any other body (a proxy's HTML page, say) is kept as an excerpt.
        """
        details: list[ErrorDetail] = []
        trace_id: str | None = None
        excerpt: str | None = None
        try:
            payload = json.loads(body) if body else None
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
            payload = None
        if isinstance(payload, Mapping) and isinstance(payload.get("errors"), list):
            details = [ErrorDetail.from_json(e) for e in payload["errors"]]
            raw_trace = payload.get("clerk_trace_id")
            trace_id = str(raw_trace) if raw_trace else None
        elif body:
            excerpt = body[:_EXCERPT].decode("utf-8", "replace").strip()
        error_class = error_class_for_status(status) if cls is ClerkAPIError else cls
        return error_class(
            status,
            errors=details,
            clerk_trace_id=trace_id or headers.get("cf-ray"),
            retry_after=parse_retry_after(headers.get("Retry-After")),
            headers=headers,
            method=method,
            url=url.split("?", 1)[0],
            body_excerpt=excerpt,
            attempts=attempts,
        )

    @property
    def code(self) -> str | None:
        """The code of the first error, e.g. ``"resource_not_found"``."""
        return self.errors[0].code if self.errors else None

    @property
    def message(self) -> str | None:
        """The long (else short) message of the first error."""
        if not self.errors:
            return None
        first = self.errors[0]
        return first.long_message or first.message

    def _describe(self) -> str:
        parts = [f"{self.method} {self.url} -> HTTP {self.status}".strip()]
        for err in self.errors:
            text = err.long_message or err.message or ""
            parts.append(f"{err.code}: {text}" if err.code else text)
        if not self.errors and self.body_excerpt:
            parts.append(f"non-JSON body: {self.body_excerpt!r}")
        if self.clerk_trace_id:
            parts.append(f"trace id {self.clerk_trace_id}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return "; ".join(p for p in parts if p)

    def __str__(self) -> str:
        # Recomputed so that ``attempts`` set after construction shows up.
        return self._describe()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class BadRequestError(ClerkAPIError):
    """HTTP 400: the request was malformed."""


class AuthenticationError(ClerkAPIError):
    """HTTP 401: the secret key is missing, wrong or revoked."""


class PaymentRequiredError(ClerkAPIError):
    """HTTP 402: the feature needs a paid plan."""


class PermissionDeniedError(ClerkAPIError):
    """HTTP 403: the key may not do this."""


class NotFoundError(ClerkAPIError):
    """HTTP 404: the resource does not exist."""


class ConflictError(ClerkAPIError):
    """HTTP 409: the request conflicts with the resource's current state."""


class GoneError(ClerkAPIError):
    """HTTP 410: the resource or endpoint is gone for good."""


class UnprocessableEntityError(ClerkAPIError):
    """HTTP 422: validation failed; ``code`` tells which rule (``form_identifier_exists``...)."""


class LockedError(ClerkAPIError):
    """HTTP 423: the resource (typically a user) is locked."""


class RateLimitError(ClerkAPIError):
    """HTTP 429: too many requests; see ``retry_after``."""


class ServerError(ClerkAPIError):
    """HTTP 5xx: Clerk (or a proxy in front of it) failed."""


class ClerkConnectionError(ClerkError):
    """The request got no answer: connection refused, reset, DNS failure..."""

    def __init__(self, message: str, *, attempts: int = 1, request_sent: bool = True) -> None:
        super().__init__(message)
        self.attempts = attempts
        #: False when the request provably never left this machine (safe to resend).
        self.request_sent = request_sent


class ClerkTimeoutError(ClerkConnectionError):
    """The request timed out, or the retry deadline ran out."""


class PaginationError(ClerkError):
    """The server's pages did not advance (it ignored ``offset`` or the cursor)."""


class ClerkDecodeError(ClerkError):
    """A successful answer could not be decoded as the JSON we expected: not JSON,
    nested too deeply, or of the wrong shape (an array where an object belongs...)."""


class ResponseTooLargeError(ClerkDecodeError):
    """A successful answer was larger than ``max_response_bytes`` (counted decompressed).

    It is not retried: the same request would get the same answer.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        #: the limit that was exceeded, in bytes
        self.limit = limit


_BY_STATUS: dict[int, type[ClerkAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: UnprocessableEntityError,
    423: LockedError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[ClerkAPIError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ClerkAPIError)
