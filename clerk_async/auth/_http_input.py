"""Reading an incoming request: header lookups and the ``Cookie`` header, one set of rules.

Used by :func:`~clerk_async.auth.authenticate_request`, the integrations and
:func:`~clerk_async.webhooks.verify_webhook`, so every entry point sees the same
headers and the same cookies for the same request.

Cookie rules (those of the ``cookie`` package Clerk's own JavaScript SDK parses with):

* pairs are separated by ``;``; names and values are trimmed of spaces;
* a part without ``=`` or with an empty name is skipped, never an error;
* a value wrapped in double quotes loses them;
* when a name appears twice, the FIRST occurrence wins: browsers send the cookie
  with the most specific path first, so that is the one meant for this app;
* several ``Cookie`` headers (HTTP/2 may split them) are read in order, as one.

The standard library's ``http.cookies.SimpleCookie`` is not used: one cookie it
cannot parse (a value with a space or a JSON object, which other scripts on the
same domain set) makes it drop every cookie after it, the session cookie
included, and for a repeated name the last occurrence wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["cookies_of", "header", "header_values", "parse_cookies"]

# Per headers class: whether it exposes the ASGI list of (name, value) bytes as ``raw``
# (Starlette's ``Headers``); and the lower-cased names looked up in such lists. Both
# stay a handful of entries (classes and header names are the code's, not the client's).
_ASGI_CLASSES: dict[type, bool] = {}
_ASGI_NAMES: dict[str, bytes] = {}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The first value of header ``name``, matched case-insensitively, or None.

    Framework headers (multidict, Starlette's ``Headers``...) are case-insensitive
    already; other mappings (a plain dict) are searched by lower-cased name. Headers
    that expose the ASGI list (Starlette's ``raw``) are scanned in it directly, as
    Starlette's own lookup does, without its per-call name encoding.
    """
    cls = headers.__class__
    asgi = _ASGI_CLASSES.get(cls)
    if asgi is None:
        asgi = _ASGI_CLASSES[cls] = isinstance(getattr(cls, "raw", None), property)
    if asgi:
        raw = headers.raw  # type: ignore[attr-defined]
        # The ASGI shape (a list of byte pairs), else the mapping's own lookup below.
        if raw.__class__ is list and (not raw or raw[0][0].__class__ is bytes):
            wanted = _ASGI_NAMES.get(name)
            if wanted is None:
                wanted = _ASGI_NAMES[name] = name.lower().encode("latin-1")
            for key, found in raw:
                if key == wanted:
                    text: str = found.decode("latin-1")
                    return text
            return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    value = headers.get(lowered)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in the order received.

    A multidict (aiohttp's ``getall``) and Starlette's ``Headers`` (``getlist``) keep
    repeated headers; a plain mapping holds at most one value per name.
    """
    values: list[str]
    getall = getattr(headers, "getall", None)
    if callable(getall):
        values = getall(name, [])
        return list(values)
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        values = getlist(name)
        return list(values)
    value = header(headers, name)
    return [] if value is None else [value]


def parse_cookies(values: Iterable[str]) -> dict[str, str]:
    """The cookies of one or more ``Cookie`` header values (see the module's rules)."""
    cookies: dict[str, str] = {}
    for value in values:
        for part in value.split(";"):
            name, sep, raw = part.partition("=")
            name = name.strip()
            if not sep or not name or name in cookies:
                continue
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                raw = raw[1:-1]
            cookies[name] = raw
    return cookies


def cookies_of(headers: Mapping[str, str]) -> dict[str, str]:
    """The cookies a request's headers carry (every ``Cookie`` header, case-insensitive)."""
    return parse_cookies(header_values(headers, "Cookie"))
