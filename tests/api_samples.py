"""Sample arguments and answers for every operation.

The per-operation tests build them from the generated, checked-in surface (the
operation registry, the methods' type hints and the models), so they need no spec.
The Prism contract suite also reads the spec itself (``spec()``, ``resolve()``); it
runs only where the spec is present.
"""

from __future__ import annotations

import enum
import importlib.util
import sys
import types
import typing
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, Union, get_args, get_origin

import attrs
import pytest

from clerk_async import OPERATIONS, UNSET, Clerk, Operation, Unset

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO.parent / "shared" / "clerk-bapi" / "bapi-2026-05-12.yml"

#: Marks a check that reads Clerk's spec beside the checkout (CI has it; a clone may not).
requires_spec = pytest.mark.skipif(
    not SPEC.exists(), reason=f"needs Clerk's spec at {SPEC} (absent from this checkout)"
)

# A path value that exercises percent-encoding: it must arrive as one segment.
PATH_VALUE = "id 1?x"


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_api", REPO / "tools" / "generate_api.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_api"] = module
    spec.loader.exec_module(module)
    return module


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = generator().load_spec(SPEC)
    return loaded


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = generator().Resolver(spec()).deref(node)
    return resolved


def spec_operation(op: Operation) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    item = spec()["paths"][op.path]
    params = [
        resolve(p)
        for p in [*item.get("parameters", []), *item[op.method.lower()].get("parameters", [])]
    ]
    return item[op.method.lower()], params


@attrs.define
class Call:
    """How to call one operation and what should arrive at the server."""

    args: list[Any]
    kwargs: dict[str, Any]
    raw_path: str
    query: list[tuple[str, str]]
    json: Any
    form_fields: list[str]


def _members(tp: Any) -> list[Any]:
    """The members of a union that a value can take (``None`` and ``Unset`` left out)."""
    if get_origin(tp) in (Union, types.UnionType):
        return [m for m in get_args(tp) if m is not type(None) and m is not Unset]
    return [tp]


def value_for(tp: Any, depth: int = 0, *, full: bool = False) -> Any:
    """A Python value of type ``tp``, as a caller would pass it (models as instances).

    ``full`` fills every field of a model (an answer); otherwise only the required ones.
    """
    members = _members(tp)
    tp = members[0] if members else Any
    origin = get_origin(tp)
    if tp is str or tp is Any or tp is object:
        return "sample"
    if tp is bool:
        return True
    if tp is int:
        return 1
    if tp is float:
        return 1.0
    if tp is bytes or origin is tuple:  # a file: (name, content, type)
        return ("upload.png", b"\x89PNG-bytes", "image/png")
    if origin is Literal:
        return get_args(tp)[0]
    if origin in (list, typing.Sequence):
        return [] if depth > 3 else [value_for(get_args(tp)[0], depth + 1, full=full)]
    if origin in (dict, typing.Mapping) or tp is dict:
        return {"key": "value"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    if attrs.has(tp):
        attrs.resolve_types(tp)
        chosen = {
            f.alias or f.name: value_for(f.type, depth + 1, full=full)
            for f in attrs.fields(tp)
            if (f.default is attrs.NOTHING or (full and depth <= 3)) and f.init
        }
        return tp(**chosen)
    return "sample"


def wire_json(value: Any) -> Any:
    """What ``value`` should look like in a JSON body, worked out without the SDK's encoder:
    models by their fields (under their JSON names), enums by their values, ``UNSET`` left out."""
    if attrs.has(type(value)):
        return {
            f.metadata.get("json", f.name): wire_json(getattr(value, f.name))
            for f in attrs.fields(type(value))
            if getattr(value, f.name) is not UNSET
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: wire_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire_json(v) for v in value]
    return value


def _wire(value: Any) -> list[str]:
    if isinstance(value, list):
        return [x for v in value for x in _wire(v)]
    if value is True or value is False:
        return ["true" if value else "false"]
    if isinstance(value, enum.Enum):
        return [str(value.value)]
    return [str(value)]


def _hints(clerk: Clerk, op: Operation) -> dict[str, Any]:
    return typing.get_type_hints(getattr(type(getattr(clerk, op.group)), op.name))


def build_call(op: Operation, method: Any, clerk: Clerk) -> Call:
    """Sample arguments for ``method`` (required ones plus every query parameter)."""
    hints = _hints(clerk, op)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    raw_path = op.path
    query: list[tuple[str, str]] = []
    body: Any = None
    fields: dict[str, Any] = {}
    for p in op.params:
        value = value_for(hints[p.name])
        if p.where == "path":
            args.append(PATH_VALUE)
            raw_path = raw_path.replace("{" + p.key + "}", "id%201%3Fx")
            continue
        if p.key == "limit":
            value = 7
        if p.key == "offset":
            value = 0
        kwargs[p.name] = value
        if p.where == "query":
            query += [(p.key, v) for v in _wire(value)]
        elif p.where == "whole":
            body = wire_json(value)
        else:  # a field of the JSON body or of the multipart form
            fields[p.key] = wire_json(value)
    form_fields: list[str] = []
    if op.body == "fields":
        body = fields
    elif op.body == "multipart":
        form_fields = list(fields)
    return Call(args, kwargs, raw_path, query, body, form_fields)


def response_sample(op: Operation, clerk: Clerk) -> tuple[int, Any]:
    """A 2xx answer for ``op``, every field of its model filled."""
    returns = _hints(clerk, op)["return"]
    if op.paginated:
        item = wire_json(value_for(get_args(returns)[0], full=True))
        return 200, {op.envelope: [item], "total_count": 1} if op.envelope else [item]
    if returns is type(None):
        return 204, None
    return 200, wire_json(value_for(returns, full=True))


def bound_method(clerk: Clerk, op: Operation) -> Any:
    return getattr(getattr(clerk, op.group), op.name)


ALL = OPERATIONS
