"""Sample arguments and answers for every operation, built from the spec.

Shared by the per-operation tests and the Prism contract suite.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from clerk_async import OPERATIONS, Clerk, Operation

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO.parent / "shared" / "clerk-bapi" / "bapi-2026-05-12.yml"

# A path value that exercises percent-encoding: it must arrive as one segment.
PATH_VALUE = "id 1/x"


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


def sample(schema: dict[str, Any], depth: int = 0, *, full: bool = False) -> Any:
    """A value valid for ``schema`` (examples and enums first)."""
    schema = resolve(schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, depth, full=full)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema and "properties" not in schema:
            return sample(schema[key][0], depth, full=full)
    if "example" in schema and not full:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "email":
            return "someone@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/x"
        if fmt == "date-time":
            return "2026-01-02T03:04:05Z"
        if fmt == "binary":
            return ("upload.png", b"\x89PNG-bytes", "image/png")
        return "sample"
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(max(schema.get("minimum", 1), 1))
    if kind == "boolean":
        return True
    if kind == "array":
        if depth > 3:
            return []
        return [sample(schema.get("items", {}), depth + 1, full=full)]
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        props = schema.get("properties", {})
        keys = props if full else [k for k in props if k in schema.get("required", [])]
        return {k: sample(props[k], depth + 1, full=full) for k in keys}
    return "sample"


@attrs.define
class Call:
    """How to call one operation and what should arrive at the server."""

    args: list[Any]
    kwargs: dict[str, Any]
    raw_path: str
    query: list[tuple[str, str]]
    json: Any
    form_fields: list[str]


def _wire(value: Any) -> list[str]:
    if isinstance(value, list):
        return [x for v in value for x in _wire(v)]
    if value is True or value is False:
        return ["true" if value else "false"]
    return [str(value)]


def build_call(op: Operation, method: Any) -> Call:
    """Sample arguments for ``method`` (required ones plus every query parameter)."""
    spec_op, params = spec_operation(op)
    signature = inspect.signature(method)
    py_names = {p.name for p in signature.parameters.values()}
    gen = generator()
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    raw_path = op.path
    query: list[tuple[str, str]] = []
    used: set[str] = {"max_items", "concurrency", "self"}

    def unique(name: str, where: str) -> str:
        # The generator's rule for a name taken by an earlier parameter.
        while name in used:
            name = f"body_{name}" if where == "body" else f"{name}_"
        used.add(name)
        return name

    for p in params:
        if p["in"] == "path":
            unique(gen.identifier(p["name"]), "path")
    for p in params:
        name = unique(gen.identifier(p["name"]), p["in"]) if p["in"] == "query" else ""
        if p["in"] == "path":
            args.append(PATH_VALUE)
            raw_path = raw_path.replace("{" + p["name"] + "}", "id%201%2Fx")
        elif p["in"] == "query":
            assert name in py_names, (op.operation_id, name)
            value = sample(p.get("schema", {}))
            if p["name"] == "limit":
                value = 7
            if p["name"] == "offset":
                value = 0
            kwargs[name] = value
            query += [(p["name"], v) for v in _wire(value)]
    body: Any = None
    form_fields: list[str] = []
    if "requestBody" in spec_op:
        request_body = resolve(spec_op["requestBody"])
        media_type, media = next(iter(request_body["content"].items()))
        schema = resolve(media.get("schema", {}))
        if "body" in py_names and "properties" not in schema and "allOf" not in schema:
            body = sample(schema, full=True)
            kwargs["body"] = body
        else:
            props: dict[str, Any] = {}
            for part in [schema, *[resolve(s) for s in schema.get("allOf", [])]]:
                props.update(part.get("properties", {}))
            body = {}
            for key, prop in props.items():
                name = unique(gen.identifier(key), "body")
                assert name in py_names, (op.operation_id, key)
                value = sample(prop)
                kwargs[name] = value
                body[key] = value
            if media_type.startswith("multipart/"):
                form_fields = list(body)
                body = None
    return Call(args, kwargs, raw_path, query, body, form_fields)


def response_sample(op: Operation) -> tuple[int, Any]:
    spec_op, _ = spec_operation(op)
    for code in sorted(spec_op.get("responses", {})):
        if code.startswith("2"):
            response = resolve(spec_op["responses"][code])
            for media in (response.get("content") or {}).values():
                return int(code), sample(media.get("schema", {}), full=True)
            return int(code), None
    return 200, None


def bound_method(clerk: Clerk, op: Operation) -> Any:
    return getattr(getattr(clerk, op.group), op.name)


ALL = OPERATIONS
