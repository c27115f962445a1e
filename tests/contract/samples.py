"""Arguments for every operation that a strict validator of the spec accepts.

The per-operation wire tests (``tests/api_samples.py``) send every parameter with
values that exercise encoding; here we send what a real caller would: the required
path, query and body parameters only, with values that satisfy the schema (enums,
formats, patterns, lengths and bounds) and look like real Clerk IDs.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import attrs

from clerk_async import Operation

from ..api_samples import generator, resolve, spec_operation

# Prefixes of real Clerk object IDs, by the path parameter's stem.
ID_PREFIXES = {
    "user": "user",
    "organization": "org",
    "session": "sess",
    "client": "client",
    "machine": "mch",
    "other_machine": "mch",
    "invitation": "inv",
    "email_address": "idn",
    "phone_number": "idn",
    "passkey_identification": "idn",
    "web3_wallet_identification": "idn",
    "identifier": "alid",
    "external_account": "eac",
    "domain": "dmn",
    "oauth_application": "oa",
    "organization_role": "role",
    "permission": "perm",
    "saml_connection": "samlc",
    "enterprise_connection": "entc",
    "sign_in_token": "sit",
    "actor_token": "act",
    "waitlist_entry": "wle",
    "template": "tmpl",
    "agent_task": "agt",
    "subscription_item": "csubi",
    "trusted_device": "tdev",
}
ID_BODY = "2ZhBr6kzTm0xWq9Ls4Vd8NcYe1P"  # 27 characters, like the random part of a Clerk ID
_EMPTY = inspect.Parameter.empty
PAGING_NAMES = frozenset({"max_items", "concurrency", "self"})


@attrs.define
class Arguments:
    """Positional and keyword arguments for one SDK call."""

    args: list[Any]
    kwargs: dict[str, Any]


def success_codes(op: Operation) -> list[int]:
    """The 2xx status codes the spec defines for ``op``, lowest first."""
    spec_op, _ = spec_operation(op)
    return sorted(int(code) for code in spec_op.get("responses", {}) if str(code).startswith("2"))


def id_for(name: str) -> str:
    """A plausible object ID for a path parameter called ``name``."""
    stem = generator().snake(name)
    for suffix in ("_key_or_id", "_id"):
        stem = stem.removesuffix(suffix)
    prefix = ID_PREFIXES.get(stem, stem.replace("_", ""))
    return f"{prefix}_{ID_BODY}"


# -- values from schemas ----------------------------------------------------------


def from_pattern(pattern: str) -> str:
    """A string matching the simple regular expressions the spec uses.

    Supports anchors, literals, escapes (``\\w \\d \\s \\S``), character classes,
    groups with alternation (the first branch is taken) and the quantifiers
    ``? * + {n} {n,} {n,m}`` (the smallest count, but at least one).
    """
    out, pos = _sequence(pattern, 0)
    if pos != len(pattern):
        raise ValueError(f"unsupported pattern {pattern!r} at {pos}")
    return out


_ESCAPES = {"w": "a", "d": "1", "s": " ", "S": "a", "W": "-", "D": "a"}


def _sequence(pattern: str, pos: int) -> tuple[str, int]:
    """Parse alternatives up to ``)`` or the end; return the first branch's text."""
    branches: list[str] = []
    current = ""
    while pos < len(pattern) and pattern[pos] != ")":
        if pattern[pos] == "|":
            branches.append(current)
            current = ""
            pos += 1
            continue
        atom, pos = _atom(pattern, pos)
        count, pos = _quantifier(pattern, pos)
        current += atom * count
    branches.append(current)
    return branches[0], pos


def _atom(pattern: str, pos: int) -> tuple[str, int]:
    char = pattern[pos]
    if char in "^$":
        return "", pos + 1
    if char == "(":
        pos += 1
        if pattern.startswith("?:", pos):
            pos += 2
        text, pos = _sequence(pattern, pos)
        if pos >= len(pattern):
            raise ValueError(f"unbalanced group in {pattern!r}")
        return text, pos + 1
    if char == "[":
        end = pos + 1
        if end < len(pattern) and pattern[end] == "^":
            raise ValueError(f"negated class in {pattern!r} is not supported")
        if end < len(pattern) and pattern[end] == "]":
            end += 1
        end = pattern.index("]", end)
        body = pattern[pos + 1 : end]
        if body.startswith("\\") and len(body) > 1:
            return _ESCAPES.get(body[1], body[1]), end + 1
        return body[0], end + 1
    if char == "\\":
        return _ESCAPES.get(pattern[pos + 1], pattern[pos + 1]), pos + 2
    if char == ".":
        return "a", pos + 1
    return char, pos + 1


def _quantifier(pattern: str, pos: int) -> tuple[int, int]:
    if pos >= len(pattern):
        return 1, pos
    char = pattern[pos]
    count: int | None = None
    if char in "?*+":
        count, pos = 1, pos + 1
    elif char == "{":
        end = pattern.index("}", pos)
        low = pattern[pos + 1 : end].split(",")[0]
        count, pos = max(int(low or 0), 1), end + 1
    if count is None:
        return 1, pos
    if pos < len(pattern) and pattern[pos] in "?+":  # lazy / possessive marker
        pos += 1
    return count, pos


def _matches(schema: dict[str, Any], value: object) -> bool:
    """Cheap checks of a candidate value (the spec's own examples are not always valid)."""
    kind = _kind(schema)
    if kind == "string":
        if not isinstance(value, str):
            return False
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value):
            return False
        minimum: int = schema.get("minLength", 0)
        maximum: int = schema.get("maxLength", len(value))
        return minimum <= len(value) <= maximum
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return value is not None


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        kind = "object"
    return kind if isinstance(kind, str) else None


def sample(schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A value valid for ``schema``, for a field or parameter called ``name``."""
    schema = resolve(schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, name, depth)
            if not isinstance(value, dict):
                return value
            merged.update(value)
        return {**merged, **_object(schema, depth)} if "properties" in schema else merged
    for key in ("oneOf", "anyOf"):
        branches = [resolve(b) for b in schema.get(key, [])]
        if branches and "properties" not in schema and "type" not in schema:
            usable = [b for b in branches if _kind(b) != "null" and not b.get("nullable")]
            return sample((usable or branches)[0], name, depth)
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "example" in schema and _matches(schema, schema["example"]):
        return schema["example"]
    kind = _kind(schema)
    if kind == "string":
        return _string(schema, name)
    if kind == "integer":
        return _number(schema, 1)
    if kind == "number":
        return float(_number(schema, 1))
    if kind == "boolean":
        return True
    if kind == "array":
        items = schema.get("items", {})
        count = max(schema.get("minItems", 1), 1)
        count = min(count, schema.get("maxItems", count))
        values = [sample(items, name, depth + 1) for _ in range(count)]
        if count > 1 and all(isinstance(v, str) for v in values):
            values = [f"{v}{i}" if i else v for i, v in enumerate(values)]
        return values
    if kind == "object":
        return _object(schema, depth)
    return "sample"


def _object(schema: dict[str, Any], depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = list(schema.get("required", []))
    # "at least one of these" constraints: satisfy the first alternative.
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, [])[:1]:
            required += [r for r in resolve(branch).get("required", []) if r not in required]
    if depth > 6:
        return {}
    return {k: sample(properties.get(k, {}), k, depth + 1) for k in required}


def _number(schema: dict[str, Any], default: int) -> int:
    value = default
    if "minimum" in schema:
        value = max(value, int(schema["minimum"]) + (1 if schema.get("exclusiveMinimum") else 0))
    if "maximum" in schema:
        value = min(value, int(schema["maximum"]) - (1 if schema.get("exclusiveMaximum") else 0))
    return value


def _string(schema: dict[str, Any], name: str) -> Any:
    fmt = schema.get("format")
    lowered = name.lower()
    if fmt == "binary":
        return ("avatar.png", b"\x89PNG\r\n\x1a\n", "image/png")
    if fmt == "email" or (not fmt and "email" in lowered and "id" not in lowered):
        value = "someone@example.com"
    elif fmt in ("uri", "url") or lowered.endswith(("url", "uri")):
        value = "https://example.com/callback"
    elif fmt == "date-time":
        value = "2026-01-02T03:04:05Z"
    elif fmt == "date":
        value = "2026-01-02"
    elif fmt == "uuid":
        value = "6f1c2b9e-3d4a-4f5b-8c7d-0e1f2a3b4c5d"
    elif "phone" in lowered and "id" not in lowered:
        value = "+15555550100"
    elif lowered.endswith("_id"):
        value = id_for(name)
    else:
        value = "sample"
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value):
        value = from_pattern(pattern)
    minimum, maximum = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < minimum:
        value += "x" * (minimum - len(value))
    if maximum is not None:
        value = value[:maximum]
    return value


# -- arguments for one operation ----------------------------------------------------


def build_arguments(op: Operation, method: Any, *, every: bool = False) -> Arguments:
    """Required arguments for ``method`` (the SDK method of ``op``) from the spec.

    With ``every``, also every optional query parameter and top-level body field.

    Python names follow the generator's rules: ``identifier()`` of the JSON name, then
    path parameters, query parameters and body fields claim names in that order; a
    taken name gets ``_`` appended (``body_`` prepended for body fields).
    """
    gen = generator()
    spec_op, params = spec_operation(op)
    signature = inspect.signature(method)
    python_names = set(signature.parameters)
    taken: set[str] = set(PAGING_NAMES)

    def claim(name: str, where: str) -> str:
        name = gen.identifier(name)
        while name in taken:
            name = f"body_{name}" if where == "body" else f"{name}_"
        taken.add(name)
        return name

    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        if param["in"] == "path":
            claim(param["name"], "path")
            schema = resolve(param.get("schema", {}))
            if schema.get("enum") or schema.get("pattern") or "example" in param:
                args.append(param.get("example") or sample(schema, param["name"]))
            else:
                args.append(id_for(param["name"]))
    for param in params:
        if param["in"] != "query":
            continue
        name = claim(param["name"], "query")
        if param.get("required") or every:
            assert name in python_names, f"{op.operation_id}: no argument {name!r}"
            kwargs[name] = sample(param.get("schema", {}), param["name"])

    if "requestBody" in spec_op:
        body = resolve(spec_op["requestBody"])
        media_type, media = next(iter(body["content"].items()))
        schema = resolve(media.get("schema", {}))
        parts = [schema, *(resolve(s) for s in schema.get("allOf", []))]
        properties: dict[str, Any] = {}
        for part in parts:
            properties.update(part.get("properties", {}))
        if not properties and "body" in python_names:
            # Array bodies (bulk operations) are required by the SDK even where the
            # spec leaves ``required`` out: an empty bulk request means nothing.
            if body.get("required") or signature.parameters["body"].default is _EMPTY:
                kwargs["body"] = sample(schema, "body")
        else:
            required = list(properties) if every else _required(parts)
            wanted = _object({"properties": properties, "required": required}, 0)
            if not wanted and body.get("required") and media_type.startswith("multipart/"):
                # An empty form is no body at all: send the file parts.
                wanted = {
                    k: sample(v, k)
                    for k, v in properties.items()
                    if resolve(v).get("format") == "binary"
                }
            for key in properties:
                name = claim(key, "body")
                if key in wanted:
                    assert name in python_names, f"{op.operation_id}: no argument {name!r}"
                    kwargs[name] = wanted[key]

    missing = [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind is inspect.Parameter.KEYWORD_ONLY
        and p.name not in kwargs
    ]
    assert not missing, f"{op.operation_id}: the SDK requires {missing}, the spec does not"
    return Arguments(args, kwargs)


def _required(parts: list[dict[str, Any]]) -> list[str]:
    required: list[str] = []
    for part in parts:
        required += [r for r in part.get("required", []) if r not in required]
        for key in ("anyOf", "oneOf"):
            for branch in part.get(key, [])[:1]:
                required += [r for r in resolve(branch).get("required", []) if r not in required]
    return required
