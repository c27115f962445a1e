"""Every emulated endpoint answers JSON that validates against the spec's schemas."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

import aiohttp
import jsonschema
import pytest

from clerk_async.emulator import Emulator

from ..api_samples import requires_spec, resolve, spec

# The schemas come from Clerk's spec beside the checkout.
pytestmark = requires_spec


def to_json_schema(node: Any, defs: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema (draft 7): refs to definitions, nullable -> null."""
    if isinstance(node, list):
        return [to_json_schema(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in defs:
            defs[name] = {}
            defs[name] = to_json_schema(resolve(node), defs)
        return {"$ref": f"#/definitions/{name}"}
    out = {
        k: to_json_schema(v, defs)
        for k, v in node.items()
        if k not in ("nullable", "discriminator", "example", "examples") and not k.startswith("x-")
    }
    if "properties" in out:
        out["properties"] = {k: to_json_schema(v, defs) for k, v in node["properties"].items()}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def response_schema(method: str, template: str, status: int) -> jsonschema.Draft7Validator:
    op = spec()["paths"][template][method.lower()]
    response = resolve(op["responses"][str(status)])
    media = next(iter(response["content"].values()))
    defs: dict[str, Any] = {}
    schema = to_json_schema(copy.deepcopy(media["schema"]), defs)
    return validator({**schema, "definitions": defs})


def validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@cache
def clerk_errors_schema() -> jsonschema.Draft7Validator:
    """The spec's ClerkErrors, for the statuses no operation declares (401, 410, 429, 501)."""
    defs: dict[str, Any] = {}
    schema = to_json_schema({"$ref": "#/components/schemas/ClerkErrors"}, defs)
    return validator({**schema, "definitions": defs})


def shape(path: str) -> str:
    """A path template with its parameter names blanked: ``/users/{}/ban``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def emulated_routes(emu: Emulator) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(method, spec path template) of every route with behaviour of its own the
    emulator's app serves, split into the emulated operations and the retired ones;
    read from its route table."""
    templates = {shape(path): path for path in spec()["paths"]}
    emulated: set[tuple[str, str]] = set()
    retired: set[tuple[str, str]] = set()
    for route in emu.api.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = str(info.get("formatter") or info.get("path") or "")
        if route.method == "*":  # the catch-all: a path outside the API
            continue
        if path in emu.api.frontend.paths:
            # The handshake's Frontend API route and the nonce's payload, whose path
            # the Backend API spec lists without operations: tests/auth cover them.
            continue
        template = templates.get(shape(path.removeprefix("/v1")))
        if (route.method, template) in emu.api.generic_routes:
            continue  # swept by test_operations_sweep
        assert template is not None, f"{route.method} {path} is not in the spec"
        assert route.method.lower() in spec()["paths"][template], (route.method, path)
        is_retired = getattr(route.handler, "__wrapped__", None) == emu.api.retired
        (retired if is_retired else emulated).add((route.method, template))
    return emulated, retired


class Caller:
    def __init__(self, session: aiohttp.ClientSession, emu: Emulator) -> None:
        self.session = session
        self.emu = emu
        self.url = emu.url
        self.checked: set[tuple[str, str]] = set()

    async def check(
        self,
        method: str,
        template: str,
        path: str,
        *,
        json: Any = None,
        status: int = 200,
        schema: jsonschema.Draft7Validator | None = None,
    ) -> Any:
        async with self.session.request(method, self.url + "/v1" + path, json=json) as resp:
            body = await resp.json()
            assert resp.status == status, (method, path, body)
        (schema or response_schema(method, template, status)).validate(body)
        self.checked.add((method, template))
        return body

    async def check_error(
        self, method: str, path: str, status: int, *, headers: dict[str, str] | None = None
    ) -> Any:
        async with self.session.request(
            method, self.url + "/v1" + path, json={}, headers=headers
        ) as resp:
            assert resp.status == status, (method, path)
            body = await resp.json()
        clerk_errors_schema().validate(body)
        return body


@pytest.fixture
async def caller() -> AsyncIterator[Caller]:
    async with Emulator(seed_users=12) as emu:
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            yield Caller(session, emu)


async def test_every_emulated_endpoint_matches_the_spec(caller: Caller) -> None:
    c = caller
    users = await c.check("GET", "/users", "/users?limit=5&order_by=-created_at")
    assert len(users) == 5
    await c.check("GET", "/users/count", "/users/count")
    user = await c.check(
        "POST",
        "/users",
        "/users",
        json={
            "email_address": ["schema@example.com"],
            "first_name": "S",
            "password": "a-long-secret-1",
        },
    )
    uid = user["id"]
    await c.check("GET", "/users/{user_id}", f"/users/{uid}")
    await c.check("PATCH", "/users/{user_id}", f"/users/{uid}", json={"last_name": "T"})
    await c.check(
        "PATCH",
        "/users/{user_id}/metadata",
        f"/users/{uid}/metadata",
        json={"public_metadata": {"a": 1}},
    )
    await c.check(
        "PUT",
        "/users/{user_id}/metadata",
        f"/users/{uid}/metadata",
        json={"private_metadata": {"b": 2}},
    )
    for action in ("ban", "unban", "lock", "unlock"):
        await c.check("POST", f"/users/{{user_id}}/{action}", f"/users/{uid}/{action}")
    password = "correct horse battery staple"
    with_password = await c.check(
        "POST", "/users", "/users", json={"email_address": ["pw@example.com"], "password": password}
    )
    await c.check(
        "POST",
        "/users/{user_id}/verify_password",
        f"/users/{with_password['id']}/verify_password",
        json={"password": password},
    )
    org = await c.check(
        "POST", "/organizations", "/organizations", json={"name": "Schema Org", "created_by": uid}
    )
    oid = org["id"]
    await c.check("GET", "/organizations", "/organizations")
    await c.check("GET", "/organizations/{organization_id}", f"/organizations/{oid}")
    await c.check("GET", "/organizations/{organization_id}", f"/organizations/{org['slug']}")
    await c.check(
        "PATCH",
        "/organizations/{organization_id}",
        f"/organizations/{oid}",
        json={"name": "Renamed"},
    )
    await c.check(
        "PATCH", "/organizations/{organization_id}/metadata", f"/organizations/{oid}/metadata",
        json={"public_metadata": {"tier": "gold"}},
    )  # fmt: skip
    await c.check(
        "PUT", "/organizations/{organization_id}/metadata", f"/organizations/{oid}/metadata",
        json={"private_metadata": {"seats": 3}},
    )  # fmt: skip
    other = users[0]["id"]
    await c.check(
        "POST", "/organizations/{organization_id}/memberships", f"/organizations/{oid}/memberships",
        json={"user_id": other, "role": "org:member"},
    )  # fmt: skip
    await c.check(
        "GET", "/organizations/{organization_id}/memberships", f"/organizations/{oid}/memberships"
    )
    await c.check(
        "PATCH", "/organizations/{organization_id}/memberships/{user_id}",
        f"/organizations/{oid}/memberships/{other}", json={"role": "org:admin"},
    )  # fmt: skip
    await c.check(
        "DELETE", "/organizations/{organization_id}/memberships/{user_id}",
        f"/organizations/{oid}/memberships/{other}",
    )  # fmt: skip
    inv = await c.check(
        "POST", "/organizations/{organization_id}/invitations", f"/organizations/{oid}/invitations",
        json={"email_address": "new@example.com", "role": "org:member", "inviter_user_id": uid},
    )  # fmt: skip
    await c.check(
        "GET", "/organizations/{organization_id}/invitations", f"/organizations/{oid}/invitations"
    )
    await c.check(
        "POST", "/organizations/{organization_id}/invitations/{invitation_id}/revoke",
        f"/organizations/{oid}/invitations/{inv['id']}/revoke", json={},
    )  # fmt: skip
    invitation = await c.check(
        "POST", "/invitations", "/invitations", json={"email_address": "i@example.com"}
    )
    await c.check("GET", "/invitations", "/invitations")
    await c.check(
        "POST", "/invitations/{invitation_id}/revoke", f"/invitations/{invitation['id']}/revoke"
    )
    allowed = await c.check(
        "POST", "/allowlist_identifiers", "/allowlist_identifiers", json={"identifier": "a@b.co"}
    )
    await c.check("GET", "/allowlist_identifiers", "/allowlist_identifiers")
    await c.check(
        "DELETE",
        "/allowlist_identifiers/{identifier_id}",
        f"/allowlist_identifiers/{allowed['id']}",
    )
    session = await c.check("POST", "/sessions", "/sessions", json={"user_id": uid})
    sid = session["id"]
    await c.check("GET", "/sessions", f"/sessions?user_id={uid}")
    await c.check("GET", "/sessions/{session_id}", f"/sessions/{sid}")
    token = await c.check(
        "POST", "/sessions/{session_id}/tokens", f"/sessions/{sid}/tokens", json={}
    )
    template = await c.check(
        "POST", "/jwt_templates", "/jwt_templates",
        json={"name": "schema_check", "claims": {"uid": "{{user.id}}"}},
    )  # fmt: skip
    await c.check("GET", "/jwt_templates", "/jwt_templates")
    await c.check("GET", "/jwt_templates/{template_id}", f"/jwt_templates/{template['id']}")
    await c.check(
        "PATCH", "/jwt_templates/{template_id}", f"/jwt_templates/{template['id']}",
        json={"name": "schema_check", "claims": {"uid": "{{user.id}}"}, "lifetime": 120},
    )  # fmt: skip
    await c.check(
        "POST", "/sessions/{session_id}/tokens/{template_name}",
        f"/sessions/{sid}/tokens/schema_check", json={},
    )  # fmt: skip
    await c.check("DELETE", "/jwt_templates/{template_id}", f"/jwt_templates/{template['id']}")
    await c.check("GET", "/clients", "/clients")
    await c.check("GET", "/clients/{client_id}", f"/clients/{session['client_id']}")
    await c.check("POST", "/clients/verify", "/clients/verify", json={"token": token["jwt"]})
    await c.check("POST", "/sessions/{session_id}/revoke", f"/sessions/{sid}/revoke")
    await c.check("GET", "/jwks", "/jwks")
    await check_api_keys_and_oauth(c, uid)
    await c.check("DELETE", "/organizations/{organization_id}", f"/organizations/{oid}")
    await c.check("DELETE", "/users/{user_id}", f"/users/{uid}")
    # Error answers follow the ClerkErrors schema too.
    await c.check("GET", "/users/{user_id}", "/users/user_missing", status=404)
    await c.check(
        "POST",
        "/users",
        "/users",
        json={"email_address": [users[1]["email_addresses"][0]["email_address"]]},
        status=422,
    )
    await c.check(
        "POST", "/organizations", "/organizations", json={"name": 5}, status=422
    )  # a field of the wrong type
    emulated, retired = emulated_routes(c.emu)
    assert c.checked == emulated  # every route of the app's table, checked above
    assert len(retired) == 3


# -- API keys and OAuth applications --------------------------------------------------


@cache
def without_secret(method: str, template: str) -> jsonschema.Draft7Validator:
    """The spec's API key answer with ``secret`` optional: the spec lists it as
    required everywhere, but Clerk (and its SDKs' models) answer it at create only."""

    def relax(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: [r for r in v if r != "secret"] if k == "required" else relax(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [relax(n) for n in node]
        return node

    return validator(relax(response_schema(method, template, 200).schema))


async def check_api_keys_and_oauth(c: Caller, uid: str) -> None:
    key = await c.check(
        "POST", "/api_keys", "/api_keys",
        json={"name": "schema-key", "subject": uid, "scopes": ["read"],
              "claims": {"a": 1}, "seconds_until_expiration": 60},
    )  # fmt: skip
    assert key["secret"].startswith("ak_")
    kid = key["id"]
    for method, template, path, body in (
        ("GET", "/api_keys", f"/api_keys?subject={uid}&include_invalid=true", None),
        ("GET", "/api_keys/{apiKeyID}", f"/api_keys/{kid}", None),
        ("PATCH", "/api_keys/{apiKeyID}", f"/api_keys/{kid}", {"description": "d"}),
        ("POST", "/api_keys/verify", "/api_keys/verify", {"secret": key["secret"]}),
        ("POST", "/api_keys/{apiKeyID}/revoke", f"/api_keys/{kid}/revoke",
         {"revocation_reason": "done"}),
    ):  # fmt: skip
        answer = await c.check(
            method, template, path, json=body, schema=without_secret(method, template)
        )
        assert "secret" not in (answer["data"][0] if "data" in answer else answer)
    await c.check("GET", "/api_keys/{apiKeyID}/secret", f"/api_keys/{kid}/secret")
    await c.check(
        "POST", "/api_keys/verify", "/api_keys/verify", json={"secret": key["secret"]},
        status=404,
    )  # fmt: skip
    await c.check(
        "POST", "/api_keys", "/api_keys",
        json={"name": "schema-key", "subject": "user_" + "0" * 27}, status=400,
    )  # fmt: skip
    await c.check("DELETE", "/api_keys/{apiKeyID}", f"/api_keys/{kid}")
    await c.check("GET", "/api_keys/{apiKeyID}", f"/api_keys/{kid}", status=404)

    app = await c.check(
        "POST", "/oauth_applications", "/oauth_applications",
        json={"name": "Schema App", "redirect_uris": ["https://a.example/cb"]},
    )  # fmt: skip
    aid = f"/oauth_applications/{app['id']}"
    await c.check("GET", "/oauth_applications", "/oauth_applications?order_by=name")
    await c.check("GET", "/oauth_applications/{oauth_application_id}", aid)
    await c.check(
        "PATCH", "/oauth_applications/{oauth_application_id}", aid, json={"name": "Renamed"}
    )
    await c.check(
        "POST", "/oauth_applications/{oauth_application_id}/rotate_secret", aid + "/rotate_secret"
    )
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG\r\n", filename="logo.png", content_type="image/png")
    async with c.session.put(c.url + "/v1" + aid + "/logo", data=form) as resp:
        assert resp.status == 200
        response_schema("PUT", "/oauth_applications/{oauth_application_id}/logo", 200).validate(
            await resp.json()
        )
    c.checked.add(("PUT", "/oauth_applications/{oauth_application_id}/logo"))
    token = c.emu.issue_oauth_token(app["id"], uid)
    verify = "/oauth_applications/access_tokens/verify"
    await c.check("POST", verify, verify, json={"access_token": token})
    async with c.session.post(
        c.url + "/v1" + aid + "/revoke_token", json={"token": token}
    ) as resp:  # 204: no body to check
        assert resp.status == 204 and await resp.read() == b""
    c.checked.add(("POST", "/oauth_applications/{oauth_application_id}/revoke_token"))
    await c.check("POST", verify, verify, json={"access_token": token}, status=404)
    await c.check("DELETE", "/oauth_applications/{oauth_application_id}", aid)


async def test_errors_match_the_clerk_errors_schema(caller: Caller) -> None:
    c = caller
    _, retired = emulated_routes(c.emu)
    for method, template in sorted(retired):
        body = await c.check_error(method, template.replace("{session_id}", "sess_1"), 410)
        assert body["errors"][0]["code"] == "operation_retired"
    body = await c.check_error("GET", "/users", 401, headers={"Authorization": "Bearer nope"})
    assert body["errors"][0]["code"] == "authentication_invalid"
    body = await c.check_error("GET", "/not_an_operation", 404)
    assert body["errors"][0]["code"] == "resource_not_found"
    c.emu.faults.fail_next(429)
    body = await c.check_error("GET", "/users", 429)
    assert body["errors"][0]["code"] == "too_many_requests"
    c.emu.faults.fail_next(503)
    await c.check_error("GET", "/users", 503)
