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


def encode_segment(name: str, value: object) -> str:
    """Percent-encode one path parameter so it can only ever be one segment.

    Raises :class:`ValueError` for values that would address a different
    resource than the caller meant: empty strings, ``.``/``..`` (also when
    percent-encoded) and non-string values.
    """
    if not isinstance(value, str):
        raise TypeError(f"path parameter {name!r} must be a str, got {type(value).__name__}")
    if _PLAIN.fullmatch(value):
        return value  # the common case (``user_2x…``): nothing to encode or refuse
    if not value or not value.strip():
        raise ValueError(f"path parameter {name!r} must be a non-empty string")
    if value in _FORBIDDEN_SEGMENTS or unquote(value) in _FORBIDDEN_SEGMENTS:
        raise ValueError(f"path parameter {name!r} must not be {value!r}")
    return quote(value, safe="")


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
