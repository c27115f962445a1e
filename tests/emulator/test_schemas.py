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
        data: Any = None,
        status: int = 200,
        schema: jsonschema.Draft7Validator | None = None,
    ) -> Any:
        async with self.session.request(
            method, self.url + "/v1" + path, json=json, data=data
        ) as resp:
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
    await check_user_and_organization_items(c, uid, oid, sid, token["jwt"])
    await c.check("POST", "/sessions/{session_id}/revoke", f"/sessions/{sid}/revoke")
    await c.check("GET", "/jwks", "/jwks")
    await check_tokens_and_domains(c, uid, oid)
    await check_restrictions_and_bulk(c, uid)
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
    await check_machines(c)
    emulated, retired = emulated_routes(c.emu)
    assert c.checked == emulated  # every route of the app's table, checked above
    assert len(retired) == 3


async def check_tokens_and_domains(c: Caller, uid: str, oid: str) -> None:
    """Sign-in, actor and testing tokens, redirect URLs, domains, organization domains."""
    sign_in = await c.check("POST", "/sign_in_tokens", "/sign_in_tokens", json={"user_id": uid})
    await c.check(
        "POST", "/sign_in_tokens/{sign_in_token_id}/revoke",
        f"/sign_in_tokens/{sign_in['id']}/revoke",
    )  # fmt: skip
    await c.check(
        "POST", "/sign_in_tokens", "/sign_in_tokens", json={"user_id": "user_missing"}, status=404
    )
    actor = await c.check(
        "POST", "/actor_tokens", "/actor_tokens", json={"user_id": uid, "actor": {"sub": uid}}
    )
    await c.check(
        "POST", "/actor_tokens/{actor_token_id}/revoke", f"/actor_tokens/{actor['id']}/revoke"
    )
    await c.check(
        "POST", "/actor_tokens/{actor_token_id}/revoke", f"/actor_tokens/{actor['id']}/revoke",
        status=400,
    )  # fmt: skip
    await c.check("POST", "/testing_tokens", "/testing_tokens")
    url = await c.check(
        "POST", "/redirect_urls", "/redirect_urls", json={"url": "https://example.com/cb"}
    )
    await c.check(
        "POST", "/redirect_urls", "/redirect_urls", json={"url": "https://example.com/cb"},
        status=422,
    )  # fmt: skip
    await c.check("GET", "/redirect_urls", "/redirect_urls")
    await c.check("GET", "/redirect_urls/{id}", f"/redirect_urls/{url['id']}")
    await c.check("DELETE", "/redirect_urls/{id}", f"/redirect_urls/{url['id']}")
    domains = await c.check("GET", "/domains", "/domains")
    await c.check(
        "DELETE", "/domains/{domain_id}", f"/domains/{domains['data'][0]['id']}", status=403
    )
    sat = await c.check(
        "POST", "/domains", "/domains", json={"name": "sat.example.com", "is_satellite": True}
    )
    await c.check(
        "PATCH", "/domains/{domain_id}", f"/domains/{sat['id']}",
        json={"proxy_url": "https://sat.example.com/__clerk"},
    )  # fmt: skip
    await c.check("DELETE", "/domains/{domain_id}", f"/domains/{sat['id']}")
    org_domains = "/organizations/{organization_id}/domains"
    domain = await c.check(
        "POST", org_domains, f"/organizations/{oid}/domains",
        json={"name": "schema.example.com", "verified": False},
    )  # fmt: skip
    one = f"/organizations/{oid}/domains/{domain['id']}"
    await c.check("POST", org_domains + "/{domain_id}/verify_ownership", one + "/verify_ownership")
    await c.check(
        "PATCH", org_domains + "/{domain_id}", one, json={"enrollment_mode": "automatic_invitation"}
    )
    await c.check("GET", org_domains, f"/organizations/{oid}/domains")
    await c.check("GET", "/organization_domains", "/organization_domains?order_by=name")
    await c.check("DELETE", org_domains + "/{domain_id}", one)


async def check_restrictions_and_bulk(c: Caller, uid: str) -> None:
    """The restrictions, blocklist, instance settings, bulk and waitlist routes."""
    await c.check(
        "PATCH", "/instance/restrictions", "/instance/restrictions",
        json={"blocklist": True, "block_email_subaddresses": True},
    )  # fmt: skip
    blocked = await c.check(
        "POST", "/blocklist_identifiers", "/blocklist_identifiers",
        json={"identifier": "*@blocked.example"},
    )  # fmt: skip
    await c.check("GET", "/blocklist_identifiers", "/blocklist_identifiers")
    await c.check(
        "POST", "/users", "/users", json={"email_address": ["x@blocked.example"]}, status=422
    )
    await c.check(
        "POST", "/email_addresses", "/email_addresses",
        json={"user_id": uid, "email_address": "extra@example.com"},
    )  # fmt: skip
    await c.check(
        "POST", "/phone_numbers", "/phone_numbers",
        json={"user_id": uid, "phone_number": "+15555550100"},
    )  # fmt: skip
    await c.check(
        "DELETE",
        "/blocklist_identifiers/{identifier_id}",
        f"/blocklist_identifiers/{blocked['id']}",
    )
    for path, change in (
        ("/instance/protect", {"rules_enabled": True}),
        ("/instance/communication", {"blocked_country_codes": ["RU"]}),
        ("/instance/oauth_application_settings", {"default_scopes": ["openid"]}),
        ("/instance/organization_settings", {"max_allowed_memberships": 9}),
    ):
        await c.check("PATCH", path, path, json=change)
        await c.check("GET", path, path)
    # PATCH /instance answers 204 without a body.
    patch = {"allowed_origins": ["https://schema.example"]}
    async with c.session.patch(c.url + "/v1/instance", json=patch) as resp:
        assert resp.status == 204 and not await resp.read()
    c.checked.add(("PATCH", "/instance"))
    instance = await c.check("GET", "/instance", "/instance")
    assert instance["allowed_origins"] == ["https://schema.example"]
    await c.check(
        "PATCH", "/beta_features/instance_settings", "/beta_features/instance_settings",
        json={"restricted_to_allowlist": False},
    )  # fmt: skip
    await c.check(
        "POST", "/invitations/bulk", "/invitations/bulk",
        json=[{"email_address": "bulk1@example.com"}, {"email_address": "bulk2@example.com"}],
    )  # fmt: skip
    org = await c.check("POST", "/organizations", "/organizations", json={"name": "Bulk"})
    await c.check(
        "POST", "/organizations/{organization_id}/invitations/bulk",
        f"/organizations/{org['id']}/invitations/bulk",
        json=[{"email_address": "bulk1@example.com", "role": "org:member"}],
    )  # fmt: skip
    entries = await c.check(
        "POST", "/waitlist_entries/bulk", "/waitlist_entries/bulk",
        json=[{"email_address": "w1@example.com"}, {"email_address": "w2@example.com"}],
    )  # fmt: skip
    extra = await c.check(
        "POST", "/waitlist_entries", "/waitlist_entries", json={"email_address": "w3@example.com"}
    )
    await c.check("GET", "/waitlist_entries", "/waitlist_entries")
    await c.check(
        "POST", "/waitlist_entries/{waitlist_entry_id}/invite",
        f"/waitlist_entries/{entries[0]['id']}/invite", json={},
    )  # fmt: skip
    await c.check(
        "POST", "/waitlist_entries/{waitlist_entry_id}/reject",
        f"/waitlist_entries/{entries[1]['id']}/reject",
    )  # fmt: skip
    await c.check(
        "DELETE", "/waitlist_entries/{waitlist_entry_id}", f"/waitlist_entries/{extra['id']}"
    )
    await c.check(
        "DELETE", "/waitlist_entries/{waitlist_entry_id}",
        f"/waitlist_entries/{entries[1]['id']}", status=409,
    )  # fmt: skip
    await c.check("GET", "/waitlist_entries", "/waitlist_entries")


def upload(**fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG", filename="logo.png", content_type="image/png")
    for name, value in fields.items():
        form.add_field(name, value)
    return form


async def check_user_and_organization_items(
    c: Caller, uid: str, oid: str, sid: str, jwt: str
) -> None:
    """The routes of _memberships.py, _identifiers.py and _accounts.py."""
    member = c.emu.api.store.make_user({"email_address": ["member@example.com"]})["id"]
    await c.check(
        "POST", "/organizations/{organization_id}/memberships", f"/organizations/{oid}/memberships",
        json={"user_id": member, "role": "org:member"},
    )  # fmt: skip
    await c.check(
        "PATCH", "/organizations/{organization_id}/memberships/{user_id}/metadata",
        f"/organizations/{oid}/memberships/{member}/metadata",
        json={"public_metadata": {"seat": 1}},
    )  # fmt: skip
    await c.check(
        "GET", "/users/{user_id}/organization_memberships", f"/users/{member}/organization_memberships"
    )  # fmt: skip
    await c.check(
        "GET", "/organization_memberships", "/organization_memberships?order_by=-email_address"
    )
    inv = await c.check(
        "POST", "/organizations/{organization_id}/invitations", f"/organizations/{oid}/invitations",
        json={"email_address": "member@example.com", "role": "org:member", "inviter_user_id": uid},
    )  # fmt: skip
    await c.check(
        "GET", "/users/{user_id}/organization_invitations", f"/users/{member}/organization_invitations"
    )  # fmt: skip
    await c.check("GET", "/organization_invitations", "/organization_invitations?status=pending")
    await c.check(
        "GET", "/organizations/{organization_id}/invitations/pending",
        f"/organizations/{oid}/invitations/pending",
    )  # fmt: skip
    await c.check(
        "GET", "/organizations/{organization_id}/invitations/{invitation_id}",
        f"/organizations/{oid}/invitations/{inv['id']}",
    )  # fmt: skip
    logo = "/organizations/{organization_id}/logo"
    await c.check("PUT", logo, f"/organizations/{oid}/logo", data=upload(uploader_user_id=uid))
    await c.check("DELETE", logo, f"/organizations/{oid}/logo")
    email = await c.check(
        "POST", "/email_addresses", "/email_addresses",
        json={"user_id": uid, "email_address": "second@example.com", "verified": True},
    )  # fmt: skip
    one_email = "/email_addresses/{email_address_id}"
    await c.check("GET", one_email, f"/email_addresses/{email['id']}")
    await c.check("PATCH", one_email, f"/email_addresses/{email['id']}", json={"primary": True})
    await c.check(
        "PUT", "/users/{user_id}/email_address", f"/users/{uid}/email_address",
        json={"email_address": "third@example.com"},
    )  # fmt: skip
    kept = await c.check(
        "POST", "/email_addresses", "/email_addresses",
        json={"user_id": uid, "email_address": "fourth@example.com"},
    )  # fmt: skip
    started = await c.check(
        "POST", "/email_addresses/{email_address_id}/prepare_verification",
        f"/email_addresses/{kept['id']}/prepare_verification",
    )  # fmt: skip
    await c.check(
        "POST", "/email_addresses/{email_address_id}/attempt_verification",
        f"/email_addresses/{kept['id']}/attempt_verification",
        json={"verification_id": started["id"], "code": "424242"},
    )  # fmt: skip
    await c.check("DELETE", one_email, f"/email_addresses/{kept['id']}")
    phone = await c.check(
        "POST", "/phone_numbers", "/phone_numbers",
        json={"user_id": uid, "phone_number": "+14155550100", "verified": True,
              "reserved_for_second_factor": True},
    )  # fmt: skip
    one_phone = "/phone_numbers/{phone_number_id}"
    await c.check("GET", one_phone, f"/phone_numbers/{phone['id']}")
    await c.check("PATCH", one_phone, f"/phone_numbers/{phone['id']}", json={"primary": True})
    await c.check(
        "PUT", "/users/{user_id}/phone_number", f"/users/{uid}/phone_number",
        json={"phone_number": "+14155550101"},
    )  # fmt: skip
    other_phone = await c.check(
        "POST", "/phone_numbers", "/phone_numbers",
        json={"user_id": uid, "phone_number": "+14155550102"},
    )  # fmt: skip
    started = await c.check(
        "POST", "/phone_numbers/{phone_number_id}/prepare_verification",
        f"/phone_numbers/{other_phone['id']}/prepare_verification",
    )  # fmt: skip
    await c.check(
        "POST", "/phone_numbers/{phone_number_id}/attempt_verification",
        f"/phone_numbers/{other_phone['id']}/attempt_verification",
        json={"verification_id": started["id"], "code": "000000"},
    )  # fmt: skip
    await c.check("DELETE", one_phone, f"/phone_numbers/{other_phone['id']}")
    await c.check("GET", "/users/{user_id}/trusted_devices", f"/users/{uid}/trusted_devices")
    await c.check(
        "DELETE", "/users/{user_id}/trusted_devices/{trusted_device_id}",
        f"/users/{uid}/trusted_devices/tdev_none", status=404,
    )  # fmt: skip
    await c.check(
        "PATCH", "/users/{user_id}", f"/users/{uid}",
        json={"totp_secret": "JBSWY3DPEHPK3PXP", "backup_codes": ["c1"]},
    )  # fmt: skip
    await c.check(
        "POST", "/users/{user_id}/verify_totp", f"/users/{uid}/verify_totp", json={"code": "c1"}
    )
    for item in ("mfa", "totp", "backup_code"):
        await c.check("DELETE", f"/users/{{user_id}}/{item}", f"/users/{uid}/{item}")
    image = "/users/{user_id}/profile_image"
    await c.check("POST", image, f"/users/{uid}/profile_image", data=upload())
    await c.check("DELETE", image, f"/users/{uid}/profile_image")
    account = c.emu.link_external_account(uid, "oauth_google", "g-1")
    await c.check(
        "GET", "/users/{user_id}/oauth_access_tokens/{provider}",
        f"/users/{uid}/oauth_access_tokens/oauth_google",
    )  # fmt: skip
    await c.check(
        "DELETE", "/users/{user_id}/external_accounts/{external_account_id}",
        f"/users/{uid}/external_accounts/{account['id']}",
    )  # fmt: skip
    wallet_owner = c.emu.api.store.make_user({"web3_wallet": ["0xabc"]})
    await c.check(
        "DELETE", "/users/{user_id}/web3_wallets/{web3_wallet_identification_id}",
        f"/users/{wallet_owner['id']}/web3_wallets/{wallet_owner['web3_wallets'][0]['id']}",
    )  # fmt: skip
    await c.check(
        "DELETE", "/users/{user_id}/passkeys/{passkey_identification_id}",
        f"/users/{uid}/passkeys/idn_none", status=404,
    )  # fmt: skip
    await c.check(
        "POST", "/users/{user_id}/password/set_compromised",
        f"/users/{uid}/password/set_compromised", json={},
    )  # fmt: skip
    await c.check(
        "POST", "/users/{user_id}/password/unset_compromised",
        f"/users/{uid}/password/unset_compromised",
    )  # fmt: skip
    await c.check("POST", "/users/ban", "/users/ban", json={"user_ids": [member]})
    await c.check("POST", "/users/unban", "/users/unban", json={"user_ids": [member]})
    for owner, owner_path in (("users", uid), ("organizations", oid)):
        template = f"/{owner}/{{{'user_id' if owner == 'users' else 'organization_id'}}}"
        credits = f"/{owner}/{owner_path}/billing/credits"
        await c.check("GET", template + "/billing/credits", credits)
        await c.check(
            "POST", template + "/billing/credits", credits,
            json={"amount": 100, "action": "increase", "idempotency_key": "schema"},
        )  # fmt: skip
        await c.check("GET", template + "/billing/credits", credits)
    refresh = "/sessions/{session_id}/refresh"
    body = {"expired_token": jwt, "refresh_token": "r", "request_origin": "http://localhost"}
    await c.check("POST", refresh, f"/sessions/{sid}/refresh", json=body)
    await c.check("POST", refresh, f"/sessions/{sid}/refresh", json={**body, "format": "cookie"})
    await c.check(
        "POST", "/users/{user_id}/remove_password", f"/users/{uid}/remove_password", json={}
    )


# -- machines and M2M tokens ---------------------------------------------------------


async def check_as_machine(
    c: Caller, key: str, method: str, template: str, path: str, json: Any, status: int
) -> Any:
    """``Caller.check`` with a machine's secret key as the credential."""
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(method, c.url + "/v1" + path, json=json) as resp,
    ):
        body = await resp.json()
        assert resp.status == status, (method, path, body)
    response_schema(method, template, status).validate(body)
    c.checked.add((method, template))
    return body


async def check_machines(c: Caller) -> None:
    target = await c.check("POST", "/machines", "/machines", json={"name": "target"})
    machine = await c.check(
        "POST", "/machines", "/machines",
        json={"name": "caller", "scoped_machines": [target["id"]], "default_token_ttl": 60},
    )  # fmt: skip
    mid, tid = machine["id"], target["id"]
    await c.check("GET", "/machines", "/machines?order_by=name&query=a")
    await c.check("GET", "/machines/{machine_id}", f"/machines/{mid}")
    await c.check("PATCH", "/machines/{machine_id}", f"/machines/{mid}", json={"name": "c2"})
    key = await c.check("GET", "/machines/{machine_id}/secret_key", f"/machines/{mid}/secret_key")
    other = await c.check("POST", "/machines", "/machines", json={"name": "other"})
    await c.check(
        "POST", "/machines/{machine_id}/scopes", f"/machines/{mid}/scopes",
        json={"to_machine_id": other["id"]},
    )  # fmt: skip
    await c.check(
        "DELETE", "/machines/{machine_id}/scopes/{other_machine_id}",
        f"/machines/{mid}/scopes/{other['id']}",
    )  # fmt: skip
    await c.check(
        "POST", "/machines/{machine_id}/scopes", f"/machines/{mid}/scopes",
        json={"to_machine_id": "mch_missing"}, status=404,
    )  # fmt: skip
    made = await check_as_machine(
        c, key["secret"], "POST", "/m2m_tokens", "/m2m_tokens", {"claims": {"a": 1}}, 201
    )
    jwt_made = await check_as_machine(
        c, key["secret"], "POST", "/m2m_tokens", "/m2m_tokens", {"token_format": "jwt"}, 201
    )
    await c.check("GET", "/m2m_tokens", f"/m2m_tokens?subject={mid}&revoked=true")
    for token in (made["token"], jwt_made["token"]):
        await c.check("POST", "/m2m_tokens/verify", "/m2m_tokens/verify", json={"token": token})
    await c.check(
        "POST", "/m2m_tokens/{m2m_token_id}/revoke", f"/m2m_tokens/{made['id']}/revoke",
        json={"revocation_reason": "schema check"},
    )  # fmt: skip
    await c.check(
        "POST", "/m2m_tokens/verify", "/m2m_tokens/verify",
        json={"token": made["token"]}, status=404,
    )  # fmt: skip
    await c.check(
        "POST", "/machines/{machine_id}/secret_key/rotate",
        f"/machines/{mid}/secret_key/rotate", json={"previous_token_ttl": 0},
    )  # fmt: skip
    await c.check("DELETE", "/machines/{machine_id}", f"/machines/{tid}")
    await c.check("DELETE", "/machines/{machine_id}", f"/machines/{mid}")


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
