"""What the emulator does for operations without behaviour of their own.

Everything here is driven by the generated route table (``_routes.py``) and the spec's
schemas (``_schemas.json``):

* :class:`Schemas` validates request bodies and query strings the way Clerk does
  (required fields, types, enums, bounds, unknown fields) and builds answers that
  satisfy a response schema;
* :class:`GenericStore` keeps the objects of the resource-shaped groups: a ``POST`` to
  a collection creates an object (an ID with the group's prefix, its ``object`` value,
  timestamps), ``GET``/``PATCH``/``PUT``/``DELETE`` on ``…/{id}`` read, change and delete
  it, a ``GET`` of the collection lists it (filters on the object's own fields, ``order_by``,
  ``limit``/``offset``, either envelope); every other operation keeps one object per
  path that its changes update and its reads return.

A hand-written validator instead of ``jsonschema``: the emulator ships in the core
package, which should not pull a schema library (and its compiled dependencies) into
every install for a development tool; the subset of OpenAPI 3.0 the spec uses is small.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from ._routes import ROUTES, Route, schemas
from ._store import JSON, ApiError

# ID prefixes of Clerk's objects, by their ``object`` value (others use the value itself).
ID_PREFIXES = {
    "user": "user",
    "organization": "org",
    "session": "sess",
    "client": "client",
    "invitation": "inv",
    "allowlist_identifier": "alid",
    "blocklist_identifier": "blid",
    "domain": "dmn",
    "jwt_template": "jtmp",
    "redirect_url": "ru",
    "sign_in_token": "sit",
    "actor_token": "act",
    "organization_invitation": "orginv",
    "organization_membership": "orgmem",
    "organization_domain": "orgdmn",
    "oauth_application": "oa",
    "saml_connection": "samlc",
    "enterprise_connection": "entc",
    "machine": "mch",
    "role": "role",
    "permission": "perm",
    "waitlist_entry": "wle",
    "template": "tmpl",
    "agent_task": "agt",
    "email_address": "idn",
    "phone_number": "idn",
    "web3_wallet": "idn",
    "passkey": "idn",
    "external_account": "eac",
    "trusted_device": "tdev",
    "api_key": "ak",
    "machine_to_machine_token": "mt",
    "role_set": "rs",
    "commerce_price": "cprice",
    "commerce_plan": "cplan",
    "commerce_subscription_item": "csubi",
    "scim_directory": "scimdir",
    "directory": "dir",
    "sign_up_attempt": "sua",
}
DATE_TIME = "2026-01-01T00:00:00Z"


def id_prefix(object_name: str) -> str:
    """The ID prefix of objects called ``object_name``."""
    return ID_PREFIXES.get(object_name) or object_name.replace("_", "")[:8] or "obj"


# ``^ak_[0-9A-Fa-f]{32}$``, ``^user_\w{27}$``: a prefix and a run of one character class.
_PREFIXED = re.compile(r"\^([A-Za-z0-9_]*)(\[0-9A-Fa-f\]|\[a-f0-9\]|\\w|\[A-Za-z0-9\])\{(\d+)\}\$")


def from_pattern(pattern: str, key: str, new_id: Any) -> str:
    """A string matching the patterns the spec gives identifiers and strategies."""
    # A group of alternatives (``(user|org|mch)_``) takes its first.
    match = _PREFIXED.fullmatch(re.sub(r"\((\w+)(?:\|\w+)+\)", r"\1", pattern))
    if match:
        prefix, _, count = match.groups()
        body = str(new_id("x"))[2:].encode().hex()
        return str(prefix) + (body * 8)[: int(count)]
    for candidate in (key, "oauth_google", "from_oauth_google", "value"):
        if re.search(pattern, candidate):
            return candidate
    return key


def shape(path: str) -> str:
    """A path template with its parameter names blanked: ``/users/{}/ban``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def invalid(name: str, why: str, code: str = "form_param_format_invalid") -> ApiError:
    return ApiError(422, code, f"{name} is invalid", long_message=why, param_name=name)


class Schemas:
    """The spec's schemas: validation of what arrives, synthesis of what is answered."""

    def __init__(self, table: Mapping[str, Any] | None = None) -> None:
        self.table = schemas() if table is None else table

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self.table[node["$ref"]]
        return node

    def get(self, name: str) -> Any:
        return self.resolve(self.table[name]) if name else None

    # -- the object an answer is made of ---------------------------------------------

    def item_schema(self, node: Any) -> Any:
        """For a list answer (an array or ``{data: [...]}``), the schema of its items."""
        node = self.flat(node)
        if node.get("type") == "array":
            return self.flat(node.get("items", {}))
        data = node.get("properties", {}).get("data")
        if data is not None and self.flat(data).get("type") == "array":
            return self.flat(self.flat(data).get("items", {}))
        return None

    def is_enveloped(self, node: Any) -> bool:
        return "data" in self.flat(node).get("properties", {})

    def flat(self, node: Any) -> Any:
        """``node`` resolved, its ``allOf`` merged and its first ``oneOf``/``anyOf`` branch taken."""
        node = self.resolve(node)
        if not isinstance(node, dict):
            return {}
        if "allOf" in node:
            merged: JSON = {k: v for k, v in node.items() if k != "allOf"}
            for part in node["allOf"]:
                part = self.flat(part)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                for key in ("type", "additionalProperties", "nullable"):
                    if key in part:
                        merged.setdefault(key, part[key])
            return merged
        for key in ("oneOf", "anyOf"):
            if key in node:
                branches = [self.flat(b) for b in node[key]]
                chosen = next((b for b in branches if b.get("type") != "null"), branches[0])
                out = {k: v for k, v in node.items() if k != key}
                for name, value in chosen.items():
                    if name == "required":
                        out["required"] = [*out.get("required", []), *value]
                    elif name == "properties":
                        out["properties"] = {**out.get("properties", {}), **value}
                    else:
                        out[name] = value
                return out
        return node

    def object_name(self, node: Any) -> str:
        """The ``object`` value a schema's objects carry (``""`` when it has none)."""
        prop = self.flat(node).get("properties", {}).get("object")
        enum = self.flat(prop).get("enum") if prop is not None else None
        return str(enum[0]) if enum else ""

    def synth(self, node: Any, key: str = "", *, now: int, new_id: Any, depth: int = 0) -> Any:
        """A value that satisfies ``node``: its required fields filled, the rest left out."""
        node = self.flat(node)
        if "default" in node and node["default"] is not None:
            return node["default"]
        if node.get("enum"):
            return node["enum"][0]
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind == "object" or "properties" in node:
            props = node.get("properties", {})
            out: JSON = {}
            for name in node.get("required", []):
                prop = self.flat(props.get(name, {}))
                if (prop.get("nullable") and name not in ("id", "object")) or depth > 12:
                    out[name] = None
                else:
                    out[name] = self.synth(prop, name, now=now, new_id=new_id, depth=depth + 1)
            if "id" in out and isinstance(out["id"], str) and "pattern" not in props.get("id", {}):
                out["id"] = new_id(id_prefix(str(out.get("object", ""))))
            return out
        if kind == "array":
            count = int(node.get("minItems", 0))
            item = node.get("items", {})
            return [
                self.synth(item, key, now=now, new_id=new_id, depth=depth + 1) for _ in range(count)
            ]
        if kind == "integer" or kind == "number":
            if "minimum" in node:
                return node["minimum"] + (1 if node.get("exclusiveMinimum") else 0)
            return now if key.endswith("_at") else 0
        if kind == "boolean":
            return False
        if kind == "string":
            if node.get("format") == "date-time":
                return DATE_TIME
            if "pattern" in node:
                return from_pattern(node["pattern"], key, new_id)
            if node.get("format") == "email":
                return "someone@example.com"
            text = key or "value"
            return text.ljust(int(node.get("minLength", 0)), "x")
        return {}

    # -- validation ----------------------------------------------------------------------

    def validate(self, node: Any, value: Any, name: str) -> None:
        """Raise a Clerk-shaped 422 naming the parameter when ``value`` breaks ``node``."""
        node = self.resolve(node)
        if not isinstance(node, dict):
            return
        if value is None:
            return  # null stands for "not given" in Clerk's form parsing
        if "allOf" in node:
            for part in node["allOf"]:
                self.validate(part, value, name)
            return
        for key in ("oneOf", "anyOf"):
            if key in node:
                errors: list[ApiError] = []
                for branch in node[key]:
                    try:
                        self.validate(branch, value, name)
                    except ApiError as exc:
                        errors.append(exc)
                    else:
                        return
                raise errors[0]
        kind = node.get("type")
        if kind is not None and not _has_type(value, kind):
            raise invalid(name, f"{name} must be {_WORDS.get(kind, kind)}.")
        if node.get("enum") and value not in node["enum"]:
            allowed = ", ".join(str(v) for v in node["enum"])
            raise invalid(name, f"{name} must be one of: {allowed}.", "form_param_value_invalid")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = node.get("minimum"), node.get("maximum")
            if low is not None and (value <= low if node.get("exclusiveMinimum") else value < low):
                raise invalid(name, f"{name} must be at least {low}.")
            if high is not None and value > high:
                raise invalid(name, f"{name} must be at most {high}.")
        if isinstance(value, str):
            if "pattern" in node and not re.search(node["pattern"], value):
                raise invalid(name, f"{name} must match {node['pattern']}.")
            if len(value) < node.get("minLength", 0):
                raise invalid(name, f"{name} needs at least {node['minLength']} characters.")
            if "maxLength" in node and len(value) > node["maxLength"]:
                raise invalid(name, f"{name} takes at most {node['maxLength']} characters.")
        if isinstance(value, list):
            if len(value) < node.get("minItems", 0):
                raise invalid(name, f"{name} needs at least {node['minItems']} items.")
            if "maxItems" in node and len(value) > node["maxItems"]:
                raise invalid(name, f"{name} takes at most {node['maxItems']} items.")
            for item in value:  # Clerk names the field, not the item
                self.validate(node.get("items", {}), item, name)
        if isinstance(value, dict):
            props = node.get("properties", {})
            for field in node.get("required", []):
                if value.get(field) is None:
                    where = f"{name}.{field}" if name else field
                    raise ApiError(
                        422,
                        "form_param_missing",
                        f"{where} is missing",
                        long_message=f"The parameter {where} is required.",
                        param_name=where,
                    )
            for field, item in value.items():
                where = f"{name}.{field}" if name else field
                if field in props:
                    self.validate(props[field], item, where)
                elif node.get("additionalProperties") is False:
                    raise ApiError(
                        422,
                        "form_param_unknown",
                        f"{where} is not a known parameter",
                        long_message=f"{where} is not a parameter of this operation; "
                        "remove it or check its spelling.",
                        param_name=where,
                    )

    def query(self, name: str, query: Any) -> JSON:
        """The query string as typed values (arrays repeat keys), validated."""
        node = self.get(name)
        if not node:
            return {}
        out: JSON = {}
        for key, prop in node.get("properties", {}).items():
            values = query.getall(key, [])
            if not values:
                continue
            prop = self.flat(prop)
            if prop.get("type") == "array":
                item = self.flat(prop.get("items", {}))
                out[key] = [_coerce(item, key, v) for v in values]
            else:
                out[key] = _coerce(prop, key, values[-1])
        for key in node.get("required", []):
            if key not in out:
                raise ApiError(
                    422,
                    "form_param_missing",
                    f"{key} is missing",
                    long_message=f"The query parameter {key} is required.",
                    param_name=key,
                )
        for key, value in out.items():
            self.validate(node["properties"][key], value, key)
        return out


_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
}


def _has_type(value: Any, kind: Any) -> bool:
    if isinstance(kind, list):
        return any(_has_type(value, k) for k in kind)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def _coerce(node: Any, key: str, text: str) -> Any:
    kind = node.get("type")
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise invalid(key, f"{key} must be an integer, not {text!r}.") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise invalid(key, f"{key} must be a number, not {text!r}.") from None
    if kind == "boolean":
        if text not in ("true", "false"):
            raise invalid(key, f"{key} must be true or false, not {text!r}.")
        return text == "true"
    return text


@cache
def routes_by_shape() -> dict[tuple[str, str], Route]:
    return {(r.method, shape(r.path)): r for r in ROUTES}


def literal_first(routes: Iterable[Route]) -> list[Route]:
    """Routes in the order to register them: ``/users/count`` before ``/users/{user_id}``."""
    return sorted(
        routes, key=lambda r: [(s.startswith("{"), s) for s in r.path.strip("/").split("/")]
    )


def _kind(route: Route, table: Schemas) -> str:
    """What a generic route does: ``create``, ``list``, ``get``, ``update``, ``delete``
    (of one object of a collection) or ``action`` (one object kept per path)."""
    last = route.path.rstrip("/").rsplit("/", 1)[-1]
    answer = table.get(route.answer_schema)
    if route.method == "GET" and answer is not None and table.item_schema(answer) is not None:
        return "list"
    if last.startswith("{") and route.method != "POST":
        return {"GET": "get", "DELETE": "delete"}.get(route.method, "update")
    if route.method == "POST" and not last.startswith("{"):
        listing = routes_by_shape().get(("GET", shape(route.path)))
        has_items = any(
            shape(r.path).startswith(shape(route.path) + "/{}")
            and shape(r.path).count("/") == shape(route.path).count("/") + 1
            for r in ROUTES
        )
        lists = listing is not None and table.item_schema(table.get(listing.answer_schema))
        if lists or has_items:
            return "create"
    return "action"


class GenericStore:
    """Objects of the groups without hand-written behaviour, by collection path."""

    def __init__(self, table: Schemas, *, now: Any, new_id: Any) -> None:
        self.table = table
        self.now = now
        self.new_id = new_id
        self.collections: dict[str, dict[str, JSON]] = {}
        self.singletons: dict[str, JSON] = {}

    def find(self, object_id: str) -> JSON | None:
        for items in self.collections.values():
            if object_id in items:
                return items[object_id]
        return None

    def overlay(self, target: JSON, body: JSON, node: Any) -> None:
        """Copy the fields of ``body`` that ``node`` (the answer's schema) has and accepts."""
        props = self.table.flat(node).get("properties", {})
        for key, value in body.items():
            if key not in props or key in ("id", "object"):
                continue
            try:
                self.table.validate(props[key], value, key)
            except ApiError:
                continue
            if value is None and not self.table.flat(props[key]).get("nullable"):
                continue
            target[key] = value

    def answer(self, route: Route, path: str, body: JSON, query: JSON) -> Any:
        table = self.table
        answer = table.get(route.answer_schema)
        kind = _kind(route, table)
        now = self.now()
        if kind == "list":
            item_schema = table.item_schema(answer)
            items: list[JSON] = list(self.collections.get(path, {}).values())
            props = item_schema.get("properties", {}) if item_schema else {}
            for key, wanted in query.items():
                if key in props and key not in ("limit", "offset", "order_by"):
                    values = wanted if isinstance(wanted, list) else [wanted]
                    items = [i for i in items if i.get(key) in values]
            order = str(query.get("order_by", "-created_at"))
            field = order.lstrip("+-")
            items.sort(
                key=lambda i: (i.get(field) is None, i.get(field) or 0),
                reverse=order.startswith("-"),
            )
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
            chosen = items[offset : offset + limit]
            if table.is_enveloped(answer):
                return {"data": chosen, "total_count": len(items)}
            return Listing(chosen, len(items))
        if kind == "create":
            item = table.synth(answer, now=now, new_id=self.new_id)
            self.overlay(item, body, answer)
            for stamp in ("created_at", "updated_at"):
                if stamp in table.flat(answer).get("properties", {}):
                    item[stamp] = now
            props = table.flat(answer).get("properties", {})
            if "id" in props and "id" not in item:
                item["id"] = self.new_id(id_prefix(table.object_name(answer)))
            key = item.get("id") or self.new_id(id_prefix(table.object_name(answer)))
            self.collections.setdefault(path, {})[key] = item
            return item
        if kind in ("get", "update", "delete"):
            parent, object_id = path.rsplit("/", 1)
            stored = self.collections.get(parent, {})
            item = stored.get(object_id)
            if item is None:
                name = route.path.rsplit("{", 1)[-1].rstrip("}")
                raise ApiError(
                    404,
                    "resource_not_found",
                    "not found",
                    long_message=f"No object was found with {name} {object_id!r}.",
                    param_name=name,
                )
            if kind == "get":
                return item
            if kind == "update":
                self.overlay(item, body, answer or {})
                if "updated_at" in item:
                    item["updated_at"] = now
                return item if answer is not None else None
            del stored[object_id]
            if answer is None:
                return None
            props = table.flat(answer).get("properties", {})
            if "deleted" not in props:
                return item
            deleted = table.synth(answer, now=now, new_id=self.new_id)
            deleted.update({k: v for k, v in item.items() if k in props})
            deleted["deleted"] = True
            return deleted
        # An action: one object per path, changed by writes, returned by reads.
        if answer is None:
            if body:
                self.singletons.setdefault(path, {}).update(body)
            return None
        kept = self.singletons.get(path)
        if kept is None or table.object_name(answer) != str(kept.get("object", "")):
            kept = table.synth(answer, now=now, new_id=self.new_id)
            if isinstance(kept, dict):
                self.singletons[path] = kept
        if isinstance(kept, dict) and route.method != "GET":
            self.overlay(kept, body, answer)
            if "updated_at" in kept:
                kept["updated_at"] = now
        item_schema = table.item_schema(answer)
        if item_schema is not None and isinstance(kept, list):
            return Listing(kept, len(kept))
        return kept


class Listing:
    """A page of a bare-array list and the size of the whole set; answered as the array,
    or as ``{data, total_count}`` when the request says ``paginated=true``."""

    def __init__(self, items: list[JSON], total: int) -> None:
        self.items = items
        self.total = total
