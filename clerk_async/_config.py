"""Where each setting comes from when it is not passed: the one place that reads the environment.

=========================  ===============================  =================================
setting                    environment variable             resolver
=========================  ===============================  =================================
secret key                 ``CLERK_SECRET_KEY``             :func:`secret_key`
API URL                    ``CLERK_API_URL``                :func:`api_url`
JWT public key (PEM)       ``CLERK_JWT_KEY``                :func:`jwt_key`
publishable key            ``CLERK_PUBLISHABLE_KEY``        :func:`publishable_key`
webhook signing secret     ``CLERK_WEBHOOK_SIGNING_SECRET`` :func:`webhook_secret`
=========================  ===============================  =================================

An argument given explicitly always wins over the environment. The environment is
read at each call, not at import, so a process may set it late (tests do).
"""

from __future__ import annotations

import hashlib
import os

from yarl import URL

from .errors import ConfigurationError

__all__ = [
    "API_URL_ENV",
    "DEFAULT_API_URL",
    "JWT_KEY_ENV",
    "PUBLISHABLE_KEY_ENV",
    "SECRET_KEY_ENV",
    "WEBHOOK_SECRET_ENV",
    "api_origin",
    "api_url",
    "instance_key",
    "jwt_key",
    "publishable_key",
    "secret_key",
    "webhook_secret",
]

#: Where requests go when neither ``api_url=`` nor ``CLERK_API_URL`` says otherwise.
DEFAULT_API_URL = "https://api.clerk.com"

SECRET_KEY_ENV = "CLERK_SECRET_KEY"
API_URL_ENV = "CLERK_API_URL"
JWT_KEY_ENV = "CLERK_JWT_KEY"
PUBLISHABLE_KEY_ENV = "CLERK_PUBLISHABLE_KEY"
WEBHOOK_SECRET_ENV = "CLERK_WEBHOOK_SIGNING_SECRET"


def secret_key(given: str | None = None) -> str | None:
    """The secret key: ``given``, else ``CLERK_SECRET_KEY``; stripped, None when blank.

    An explicit empty string does not fall back to the environment: it means "no key".
    """
    value = given if given is not None else os.environ.get(SECRET_KEY_ENV)
    value = (value or "").strip()
    return value or None


def api_origin(url: str) -> str:
    """``url`` without a trailing slash or ``/v1``: requests go to ``{origin}/v1/…``.

    Raises :class:`~clerk_async.errors.ConfigurationError` unless ``url`` is an
    ``http(s)://host[:port][/prefix]`` URL (no query, fragment or control characters).
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"api_url must be a str, got {type(url).__name__}")
    shown = url if len(url) <= 80 else url[:80] + "..."
    url = url.strip().rstrip("/")
    try:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
            raise ValueError("it holds control characters")
        parsed = URL(url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError("the scheme must be http or https")
        if not parsed.host:
            raise ValueError("it names no host")
        parsed.port  # noqa: B018 (yarl checks the port when it is read)
        if parsed.raw_query_string or parsed.raw_fragment:
            raise ValueError("it must not carry a query or fragment")
    except ValueError as exc:
        raise ConfigurationError(
            f"api_url {shown!r} is not usable: {exc}; expected e.g. https://api.clerk.com"
        ) from None
    return url[: -len("/v1")] if url.endswith("/v1") else url


def api_url(given: str | None = None) -> str:
    """The API origin: ``given``, else ``CLERK_API_URL``, else :data:`DEFAULT_API_URL`."""
    return api_origin(given or os.environ.get(API_URL_ENV) or DEFAULT_API_URL)


def jwt_key(given: str | None = None) -> str | None:
    """The PEM public key for networkless verification: ``given``, else ``CLERK_JWT_KEY``."""
    if given is not None:
        return given
    return os.environ.get(JWT_KEY_ENV) or None


def publishable_key(given: str | None = None) -> str | None:
    """The publishable key: ``given``, else ``CLERK_PUBLISHABLE_KEY`` (None when unset)."""
    return given or os.environ.get(PUBLISHABLE_KEY_ENV) or None


def webhook_secret(given: str | None = None) -> str | None:
    """The webhook signing secret: ``given``, else ``CLERK_WEBHOOK_SIGNING_SECRET``; stripped."""
    value = given if given is not None else os.environ.get(WEBHOOK_SECRET_ENV)
    value = (value or "").strip()
    return value or None


def instance_key(origin: str, secret: str) -> tuple[str, str]:
    """``(API origin, SHA-256 hex of the secret key)``: names a Clerk instance, for caches.

    The digest, never the key itself, is what caches hold.
    """
    return origin, hashlib.sha256(secret.encode()).hexdigest()
