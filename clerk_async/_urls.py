"""Safely encoded path parameters (the generated methods put them into f-strings)."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["encode_segment"]

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
