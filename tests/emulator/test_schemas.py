"""Every emulated endpoint answers JSON that validates against the spec's schemas."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jsonschema
import pytest

from clerk_async.emulator import Emulator

from ..api_samples import resolve, spec


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


def response_schema(method: str, template: str, status: int) -> dict[str, Any]:
    op = spec()["paths"][template][method.lower()]
    response = resolve(op["responses"][str(status)])
    media = next(iter(response["content"].values()))
    defs: dict[str, Any] = {}
    schema = to_json_schema(copy.deepcopy(media["schema"]), defs)
    return {**schema, "definitions": defs}


class Caller:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.checked: set[tuple[str, str]] = set()

    async def check(
        self, method: str, template: str, path: str, *, json: Any = None, status: int = 200
    ) -> Any:
        async with self.session.request(method, self.url + "/v1" + path, json=json) as resp:
            body = await resp.json()
            assert resp.status == status, (method, path, body)
        jsonschema.validate(body, response_schema(method, template, status))
        self.checked.add((method, template))
        return body


@pytest.fixture
async def caller() -> AsyncIterator[Caller]:
    async with Emulator(seed_users=12) as emu:
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            yield Caller(session, emu.url)


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
    for action in ("ban", "unban", "lock", "unlock"):
        await c.check("POST", f"/users/{{user_id}}/{action}", f"/users/{uid}/{action}")
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
    await c.check("GET", "/clients", "/clients")
    await c.check("GET", "/clients/{client_id}", f"/clients/{session['client_id']}")
    await c.check("POST", "/clients/verify", "/clients/verify", json={"token": token["jwt"]})
    await c.check("POST", "/sessions/{session_id}/revoke", f"/sessions/{sid}/revoke")
    await c.check("GET", "/jwks", "/jwks")
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
    assert len(c.checked) == 39  # every emulated route but the three retired ones
