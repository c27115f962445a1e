"""Small shared types: the ``UNSET`` sentinel for omitted parameters."""

from __future__ import annotations

import enum
from typing import IO, Final, Literal, TypeAlias

__all__ = ["UNSET", "ApiEnum", "FileContent", "Unset"]


class Unset(enum.Enum):
    """Type of :data:`UNSET`, the marker for "this parameter was not given".

    ``None`` is a real value in the Clerk API (it clears a field), so omitted
    parameters need a marker of their own. Annotate optional parameters as
    ``str | Unset = UNSET``.
    """

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False


UNSET: Final = Unset.UNSET
"""The value of every optional parameter the caller did not pass."""


FileContent: TypeAlias = bytes | IO[bytes] | tuple[str, bytes] | tuple[str, bytes, str]
"""A file to upload: raw bytes, a binary file object, ``(filename, bytes)`` or
``(filename, bytes, content_type)``."""


class ApiEnum(str, enum.Enum):
    """Base of the generated enums: members are strings and print as their value."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
