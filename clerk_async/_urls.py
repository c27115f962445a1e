"""URL building: path parameters (which the generated methods put into f-strings) and queries."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

from ._types import UNSET

__all__ = ["encode_query", "encode_segment"]

_FORBIDDEN_SEGMENTS = frozenset({".", ".."})
# Letters, digits, "_" and "-" only: such a value is one segment exactly as it is.
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
# What no Clerk ID, slug or name in a path ever holds: separators (which a proxy that
# decodes %2F or %5C before routing would follow) and control characters (C0, DEL, C1).
_NEVER = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")
#: The longest path parameter sent. Clerk IDs are about 30 characters; slugs and
#: names stay well below this.
MAX_SEGMENT_LENGTH = 256


def encode_segment(name: str, value: object) -> str:
    """Percent-encode one path parameter so it can only ever be one segment.

    Raises :class:`TypeError` for a non-string value and :class:`ValueError`, before
    any request, for one that could address a different resource than the caller
    meant: empty, ``.``/``..``, holding ``/``, ``\\`` or a control character (also
    once percent-decoded, as a proxy might), or longer than
    :data:`MAX_SEGMENT_LENGTH`.
    """
    if not isinstance(value, str):
        raise TypeError(f"path parameter {name!r} must be a str, got {type(value).__name__}")
    if _PLAIN.fullmatch(value):
        if len(value) > MAX_SEGMENT_LENGTH:
            raise ValueError(_too_long(name, value))
        return value  # the common case (``user_2x…``): nothing to encode or refuse
    if not value or not value.strip():
        raise ValueError(f"path parameter {name!r} must be a non-empty string")
    if len(value) > MAX_SEGMENT_LENGTH:
        raise ValueError(_too_long(name, value))
    decoded = unquote(value) if "%" in value else value
    if value in _FORBIDDEN_SEGMENTS or decoded in _FORBIDDEN_SEGMENTS:
        raise ValueError(f"path parameter {name!r} must not be {value!r}")
    bad = _NEVER.search(value) or _NEVER.search(decoded)
    if bad is not None:
        raise ValueError(
            f"path parameter {name!r} holds {bad.group()!r}, which no Clerk ID contains: "
            f"pass the ID alone (got {_shown(value)!r})"
        )
    return quote(value, safe="")


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "..."


def _too_long(name: str, value: str) -> str:
    return (
        f"path parameter {name!r} is {len(value)} characters long, more than any Clerk ID "
        f"({MAX_SEGMENT_LENGTH} at most; got {_shown(value)!r})"
    )


def _query_value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, enum.Enum):
        value = value.value
    return quote(str(value), safe="")


def encode_query(query: Mapping[str, object]) -> str:
    """Encode query parameters the way Clerk reads them.

    Lists become repeated keys, booleans ``true``/``false``; ``0`` and ``False``
    are sent; only ``UNSET`` (and ``None``, which a query string cannot carry)
    is left out.
    """
    parts: list[str] = []
    for key, value in query.items():
        if value is UNSET or value is None:
            continue
        name = quote(key, safe="")
        if isinstance(value, (list, tuple, set, frozenset)):
            parts.extend(f"{name}={_query_value(v)}" for v in value if v is not None)
        else:
            parts.append(f"{name}={_query_value(value)}")
    return "&".join(parts)
