"""Framework integrations: FastAPI, Starlette (any ASGI app) and aiohttp.web.

Each module imports its framework, so import the one you use:
``clerk_async.integrations.fastapi``, ``.starlette`` or ``.aiohttp``
(extras ``clerk-async[fastapi]``, ``[starlette]``, ``[aiohttp]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ..auth import (
    AuthenticateOptions,
    AuthReason,
    RequestState,
    TokenType,
    TokenVerificationErrorReason,
)

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = ["cookies_from_header", "describe", "status_for"]

# Signed out because Clerk (or its key set) could not be reached: a 503, not a 401.
_UNAVAILABLE = frozenset(
    {
        TokenVerificationErrorReason.JWKS_UNAVAILABLE,
        TokenVerificationErrorReason.VERIFICATION_UNAVAILABLE,
    }
)


def status_for(state: RequestState) -> int:
    """The HTTP status for a signed-out request: 503 when Clerk was unreachable, else 401."""
    return 503 if state.reason in _UNAVAILABLE else 401


def describe(state: RequestState) -> dict[str, str | None]:
    """A small JSON body explaining why a request is not authenticated."""
    reason = state.reason
    value = (
        reason.value if isinstance(reason, (AuthReason, TokenVerificationErrorReason)) else reason
    )
    return {"error": "unauthenticated", "reason": value}


def cookies_from_header(values: Iterable[str]) -> dict[str, str]:
    """Parse ``Cookie`` header values into a dict (first occurrence wins)."""
    cookies: dict[str, str] = {}
    for header in values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name and name not in cookies:
                cookies[name] = value.strip().strip('"')
    return cookies


def headers_from_scope(raw: Iterable[tuple[bytes, bytes]]) -> tuple[dict[str, str], dict[str, str]]:
    """Headers (lower-cased names) and cookies from an ASGI scope's raw headers."""
    headers: dict[str, str] = {}
    cookie_values: list[str] = []
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key == "cookie":
            cookie_values.append(text)
        headers.setdefault(key, text)
    return headers, cookies_from_header(cookie_values)


def build_options(options: AuthenticateOptions | None, **overrides: Any) -> AuthenticateOptions:
    """``options`` (or the defaults) with every override that is not ``None`` applied."""
    base = options or AuthenticateOptions()
    return attrs.evolve(base, **{k: v for k, v in overrides.items() if v is not None})


def with_client(options: AuthenticateOptions, client: Callable[[], Clerk]) -> AuthenticateOptions:
    """``options`` with a client when verification may need one (JWKS or machine tokens)."""
    session_only = options.accepts_token == frozenset({TokenType.SESSION_TOKEN})
    if options.clerk is not None or (options.jwt_key is not None and session_only):
        return options
    return attrs.evolve(options, clerk=client())
