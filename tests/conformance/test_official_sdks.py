"""Clerk's own SDKs against the emulator: they must not be able to tell it from Clerk.

The official Python SDK (``clerk-backend-api``) and the JS backend SDK (``@clerk/backend``)
each run a scenario of everyday calls against an emulator on loopback, and every answer
is checked: types, values, list envelopes, typed errors. Both SDKs are installed only by
``nox -s conformance``; elsewhere these tests skip, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from clerk_async.emulator import Emulator

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: Where ``nox -s conformance`` installs @clerk/backend (``npm install --prefix``).
NODE_PREFIX = Path(os.environ.get("CLERK_CONFORMANCE_NODE_PREFIX", REPO / ".conformance"))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator().running_in_thread() as emu:
        yield emu


# -- @clerk/backend --------------------------------------------------------------------


def run_js_scenario(emu: Emulator) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("needs Node.js (nox -s conformance)")
    if not (NODE_PREFIX / "node_modules" / "@clerk" / "backend").is_dir():
        pytest.skip(f"needs @clerk/backend in {NODE_PREFIX} (nox -s conformance installs it)")
    # ES modules resolve packages from the script's own folder, so it runs from the prefix.
    script = NODE_PREFIX / "backend_scenario.mjs"
    shutil.copyfile(HERE / "backend_scenario.mjs", script)
    env = {
        **os.environ,
        "CLERK_API_URL": emu.url,
        "CLERK_SECRET_KEY": emu.secret_key,
        "CLERK_PUBLISHABLE_KEY": emu.publishable_key,
    }
    with subprocess.Popen(
        ["node", str(script)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as node:
        assert node.stdin is not None and node.stdout is not None
        # The scenario asks (``ask {...}`` lines) for what only the emulator can do.
        last = ""
        for line in node.stdout:
            if line.startswith("ask "):
                node.stdin.write(json.dumps(answer_js(emu, json.loads(line[4:]))) + "\n")
                node.stdin.flush()
            else:
                last = line
        stderr = node.stderr.read() if node.stderr else ""
        assert node.wait(timeout=120) == 0, stderr
    result: dict[str, Any] = json.loads(last)
    return result


def answer_js(emu: Emulator, question: dict[str, Any]) -> Any:
    """What the JS scenario asked of the emulator."""
    if "issueOAuthToken" in question:
        asked = question["issueOAuthToken"]
        return emu.issue_oauth_token(asked["application"], asked["userId"], scopes=["profile"])
    raise AssertionError(f"the scenario asked something unknown: {question}")


def ok(results: dict[str, Any], step: str) -> Any:
    outcome = results[step]
    assert "ok" in outcome, f"{step}: {outcome}"
    return outcome["ok"]


def test_javascript_backend_sdk(emulator: Emulator) -> None:
    r = run_js_scenario(emulator)
    created = ok(r, "createUser")
    assert created["kind"] == "object"  # decoded, not the JSON text
    assert created["id"].startswith("user_")
    assert created["firstName"] == "Ada"
    assert created["email"] == "ada@example.com"
    assert created["externalId"] == "ext-ada"
    assert created["plan"] == "free"
    assert ok(r, "getUser") == {"id": created["id"], "firstName": "Ada", "createdAt": "number"}
    assert ok(r, "getUserList") == {"type": "array", "len": 1, "totalCount": 1}
    assert ok(r, "getUserListByEmail") == [created["id"]]
    assert ok(r, "getCount") == 1
    assert ok(r, "updateUser") == "Lovelace"
    assert ok(r, "updateUserMetadata") == {"plan": "free", "beta": True}
    assert ok(r, "verifyPassword") == {"verified": True}
    assert ok(r, "banUser") is True
    assert ok(r, "unbanUser") is False
    missing = r["missingUser"]
    assert missing["error"] == "ClerkAPIResponseError"
    assert missing["status"] == 404
    assert missing["codes"] == ["resource_not_found"]
    org = ok(r, "createOrganization")
    assert org["id"].startswith("org_") and org["name"] == "Acme" and org["slug"]
    assert ok(r, "getOrganizationList") == {"len": 1, "totalCount": 1, "names": ["Acme"]}
    members = ok(r, "getOrganizationMembershipList")
    assert members == {"totalCount": 1, "roles": ["org:admin"], "userIds": [created["id"]]}
    assert ok(r, "createOrganizationInvitation") == {
        "status": "pending",
        "email": "grace@example.com",
        "role": "org:member",
    }
    assert ok(r, "createInvitation") == {"status": "pending", "email": "linus@example.com"}
    # Sent with paginated=true, answered {data, total_count}.
    assert ok(r, "getInvitationList") == {"totalCount": 1, "emails": ["linus@example.com"]}
    assert ok(r, "allowlist") == {"identifier": "@example.com", "totalCount": 1}
    session = ok(r, "session")
    assert session["status"] == "active"
    assert session["sub"] == created["id"]
    assert session["sid"].startswith("sess_")
    assert session["listed"] == 1
    clients = ok(r, "clients")  # sent with paginated=true, answered {data, total_count}
    assert clients["totalCount"] == 1 and clients["ids"] == [clients["id"]]
    assert clients["id"].startswith("client_") and clients["verifiedId"] == clients["id"]
    assert clients["sessionIds"] == [session["sid"]]
    assert clients["lastActiveSessionId"] == session["sid"]
    assert ok(r, "revokeSession") == "revoked"
    template = ok(r, "createJwtTemplate")
    assert template["id"].startswith("jtmp_")
    assert {k: template[k] for k in ("name", "claims", "lifetime")} == {
        "name": "api",
        "claims": {"aud": "api"},
        "lifetime": 120,
    }
    assert ok(r, "jwtTemplates") == {
        "totalCount": 1,
        "ids": [template["id"]],
        "got": "api",
        "updated": "api-v2",
        "deleted": {"id": template["id"], "deleted": True},
    }
    check_js_api_keys_and_oauth(r, created["id"])
    assert ok(r, "webhooks") == {"app": "string", "auth": "string", "gone": None}
    domains = ok(r, "domains")  # answered (not 501), decoded as a list
    assert domains["totalCount"] == domains["len"]
    assert ok(r, "deleteUser") == {"id": created["id"], "deleted": True}
    check_js_machines(r)


def check_js_machines(r: dict[str, Any]) -> None:
    """The machines and M2M token steps of the @clerk/backend scenario."""
    made = ok(r, "createMachines")
    target, caller = made["targetId"], made["callerId"]
    assert target.startswith("mch_") and caller.startswith("mch_") and target != caller
    assert made == {
        "targetId": target,
        "callerId": caller,
        "scoped": [target],
        "ttl": 600,
        "keyPrefix": "ak_",
    }
    machines = ok(r, "machines")
    assert machines == {
        "totalCount": 2,
        "names": ["caller", "target"],
        "gotScoped": [target],
        "updated": "target-v2",
        "targetKeyPrefix": "ak_",
        "scope": {"from": caller, "to": machines["scope"]["to"]},
        "unscoped": {"deleted": True},
        "gone": {"id": True, "deleted": True},
    }
    token = ok(r, "m2mCreateToken")
    assert token["id"].startswith("mt_") and token["tokenPrefix"] == "mt_"
    assert {k: v for k, v in token.items() if k not in ("id", "tokenPrefix")} == {
        "subject": caller,
        "scopes": [target],
        "claims": {"job": "sync"},
        "lifetime": 600_000,
        "revoked": False,
        "expired": False,
    }
    assert ok(r, "m2mVerify") == {"instance": token["id"], "target": token["id"], "subject": caller}
    # The caller's own key may not verify a token that is not scoped to it.
    unscoped = r["m2mVerifyByUnscopedMachine"]
    assert unscoped["error"] == "ClerkAPIResponseError" and unscoped["status"] == 404
    assert ok(r, "m2mList") == {"totalCount": 1, "ids": [token["id"]]}
    instance_key = r["m2mCreateWithInstanceKey"]
    assert instance_key["status"] == 401 and instance_key["codes"] == ["authentication_invalid"]
    assert ok(r, "m2mRevokeToken") == {"id": token["id"], "revoked": True, "reason": "done"}
    revoked = r["m2mVerifyRevoked"]
    assert revoked["status"] == 404 and revoked["codes"] == ["resource_not_found"]
    # A JWT-format token, verified by @clerk/backend itself against the emulator's JWKS.
    assert ok(r, "m2mJwt") == {"dots": 2, "id": True, "subject": caller, "lifetime": 120_000}
    assert ok(r, "deleteMachines") == [True, True]


def check_js_api_keys_and_oauth(r: dict[str, Any], user_id: str) -> None:
    """API keys and OAuth applications (the scenario's apiKeys*/oauth* steps)."""
    key = ok(r, "apiKeysCreate")
    assert key["id"].startswith("ak_") and key["secret"].startswith("ak_")
    assert key["id"] != key["secret"]
    assert {k: v for k, v in key.items() if k not in ("id", "secret")} == {
        "subject": user_id,
        "name": "ci-key",
        "scopes": ["read"],
        "claims": {"team": "infra"},
        "createdBy": user_id,
        "revoked": False,
        "expired": False,
        "lifetime": 3_600_000,  # expiration and created_at are milliseconds
    }
    assert ok(r, "apiKeysRead") == {
        "gotId": key["id"],
        "gotSecret": None,  # the secret is answered by the create and getSecret only
        "totalCount": 1,
        "ids": [key["id"]],
        "listedSecret": None,
        "scopes": ["read", "write"],
        "description": "rotated",
        "secretMatches": True,
    }
    assert ok(r, "apiKeysVerify") == {
        "id": key["id"],
        "subject": user_id,
        "scopes": ["read", "write"],
        "lastUsed": "number",
    }
    signed_in = {"isAuthenticated": True, "tokenType": "api_key", "subject": user_id}
    assert ok(r, "apiKeysAuthenticate") == signed_in
    assert ok(r, "apiKeysRevoke") == {"revoked": True, "reason": "leaked", "hidden": 0, "shown": 1}
    revoked = r["apiKeysVerifyRevoked"]  # a 404: the SDK takes any 200 as a valid key
    assert revoked["status"] == 404 and revoked["codes"] == ["resource_not_found"]
    assert ok(r, "apiKeysAuthenticateRevoked") == {
        **signed_in,
        "isAuthenticated": False,
        "subject": None,
    }
    assert ok(r, "apiKeysDelete") == {"id": key["id"], "deleted": True}

    app = ok(r, "oauthApplicationsCreate")
    assert app["id"].startswith("oa_") and app["clientId"] and app["secret"] == "string"
    assert {k: app[k] for k in ("scopes", "redirectUris", "isPublic")} == {
        "scopes": "profile email",
        "redirectUris": ["myapp://callback"],
        "isPublic": False,
    }
    assert ok(r, "oauthApplicationsRead") == {
        "gotSecret": None,
        "totalCount": 1,
        "ids": [app["id"]],
        "name": "CLI v2",
        "rotated": True,
    }
    assert ok(r, "oauthTokenVerify") == {
        "clientId": app["clientId"],
        "subject": user_id,
        "scopes": ["profile"],
    }
    assert ok(r, "oauthTokenAuthenticate") == {
        "isAuthenticated": True,
        "tokenType": "oauth_token",
        "subject": user_id,
    }
    assert ok(r, "oauthApplicationsRevokeToken") is None
    gone = r["oauthTokenVerifyRevoked"]
    assert gone["status"] == 404 and gone["codes"] == ["resource_not_found"]
    assert ok(r, "oauthApplicationsDelete") == {"id": app["id"], "deleted": True}


# -- clerk-backend-api -----------------------------------------------------------------


# The SDK warns about its own deprecated query fields while it builds a request.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_python_sdk(emulator: Emulator) -> None:
    sdk = pytest.importorskip(
        "clerk_backend_api", reason="needs clerk-backend-api (nox -s conformance installs it)"
    )
    from clerk_backend_api import models as sdk_models

    # Default settings: an answer the SDK does not expect would retry for an hour, so
    # the session runs pytest with a timeout.
    clerk = sdk.Clerk(bearer_auth=emulator.secret_key, server_url=emulator.url + "/v1")
    user = clerk.users.create(
        email_address=["ada@example.com"],
        password="correct horse battery staple",
        first_name="Ada",
        external_id="ext-ada",
        public_metadata={"plan": "free"},
    )
    assert user.id.startswith("user_") and user.first_name == "Ada"
    assert user.email_addresses[0].email_address == "ada@example.com"
    assert clerk.users.get(user_id=user.id).external_id == "ext-ada"
    listed = clerk.users.list(request={"email_address": ["ada@example.com"]})
    assert [u.id for u in listed] == [user.id]
    assert clerk.users.count().total_count == 1
    assert clerk.users.update(user_id=user.id, last_name="Lovelace").last_name == "Lovelace"
    updated = clerk.users.update_metadata(user_id=user.id, public_metadata={"beta": True})
    assert updated.public_metadata == {"plan": "free", "beta": True}
    assert clerk.users.verify_password(
        user_id=user.id, password="correct horse battery staple"
    ).verified
    assert clerk.users.ban(user_id=user.id).banned is True
    assert clerk.users.unban(user_id=user.id).banned is False
    assert clerk.users.lock(user_id=user.id).locked is True
    assert clerk.users.unlock(user_id=user.id).locked is False
    with pytest.raises(sdk_models.ClerkErrors) as info:
        clerk.users.get(user_id="user_doesnotexist")
    assert info.value.data.errors[0].code == "resource_not_found"
    assert info.value.raw_response.status_code == 404

    org = clerk.organizations.create(request={"name": "Acme", "created_by": user.id})
    assert org.id.startswith("org_") and org.name == "Acme"
    orgs = clerk.organizations.list()
    assert orgs.total_count == 1 and [o.id for o in orgs.data] == [org.id]
    members = clerk.organization_memberships.list(organization_id=org.id)
    assert [m.role for m in members.data] == ["org:admin"]
    invitation = clerk.invitations.create(request={"email_address": "linus@example.com"})
    assert invitation.status == "pending"
    assert [i.email_address for i in clerk.invitations.list()] == ["linus@example.com"]
    assert clerk.invitations.revoke(invitation_id=invitation.id).status == "revoked"

    session = clerk.sessions.create(request={"user_id": user.id})
    assert session.status == "active" and session.user_id == user.id
    token = clerk.sessions.create_token(session_id=session.id)
    assert token.jwt and token.jwt.count(".") == 2
    assert [s.id for s in clerk.sessions.list(user_id=user.id)] == [session.id]
    clients = clerk.clients.list()
    assert [c.id for c in clients] == [session.client_id]
    client = clerk.clients.get(client_id=session.client_id)
    assert client.session_ids == [session.id] and client.last_active_session_id == session.id
    assert [s.id for s in client.sessions] == [session.id]
    assert clerk.clients.verify(request={"token": token.jwt}).id == client.id
    assert clerk.sessions.revoke(session_id=session.id).status == "revoked"

    template = clerk.jwt_templates.create(
        request={"name": "api", "claims": {"aud": "api"}, "lifetime": 120}
    )
    assert template.id.startswith("jtmp_") and template.name == "api"
    assert template.lifetime == 120
    templates = clerk.jwt_templates.list()
    assert [t.id for t in templates] == [template.id]  # a bare array without paginated
    assert clerk.jwt_templates.get(template_id=template.id).name == "api"
    renamed = clerk.jwt_templates.update(
        template_id=template.id, name="api-v2", claims={"aud": "api"}
    )
    assert renamed.id == template.id and renamed.name == "api-v2"
    gone = clerk.jwt_templates.delete(template_id=template.id)
    assert gone.id == template.id and gone.deleted is True
    assert isinstance(clerk.webhooks.create_svix_app().svix_url, str)
    assert isinstance(clerk.webhooks.generate_svix_auth_url().svix_url, str)
    clerk.webhooks.delete_svix_app()  # 204, nothing to decode

    check_python_api_keys_and_oauth(clerk, sdk_models, emulator, user.id)

    domains = clerk.domains.list()
    assert domains.total_count == len(domains.data)
    deleted = clerk.users.delete(user_id=user.id)
    assert deleted.id == user.id and deleted.deleted is True


# -- clerk-backend-api: machines and M2M tokens ----------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_python_sdk_machines(emulator: Emulator) -> None:
    sdk = pytest.importorskip(
        "clerk_backend_api", reason="needs clerk-backend-api (nox -s conformance installs it)"
    )
    from clerk_backend_api import models as sdk_models

    url = emulator.url + "/v1"
    clerk = sdk.Clerk(bearer_auth=emulator.secret_key, server_url=url)
    target = clerk.machines.create(request={"name": "target"})
    caller = clerk.machines.create(
        request={"name": "caller", "scoped_machines": [target.id], "default_token_ttl": 600}
    )
    assert caller.id.startswith("mch_") and caller.secret_key.startswith("ak_")
    assert [m.id for m in caller.scoped_machines] == [target.id]
    assert caller.default_token_ttl == 600
    listed = clerk.machines.list(order_by="name")
    assert listed.total_count == 2 and [m.name for m in listed.data] == ["caller", "target"]
    assert clerk.machines.get(machine_id=caller.id).scoped_machines[0].id == target.id
    assert clerk.machines.update(machine_id=target.id, name="target-v2").name == "target-v2"
    other = clerk.machines.create(request={"name": "other"})
    scope = clerk.machines.create_scope(machine_id=caller.id, to_machine_id=other.id)
    assert (scope.from_machine_id, scope.to_machine_id) == (caller.id, other.id)
    unscoped = clerk.machines.delete_scope(machine_id=caller.id, other_machine_id=other.id)
    # The SDK names the constant ``deleted: true`` field DELETED.
    assert unscoped.to_machine_id == other.id and unscoped.DELETED is True
    assert clerk.machines.delete(machine_id=other.id).DELETED is True
    target_key = clerk.machines.get_secret_key(machine_id=target.id).secret
    assert target_key.startswith("ak_")

    as_caller = sdk.Clerk(bearer_auth=caller.secret_key, server_url=url)
    token = as_caller.m2m.create_token(claims={"job": "sync"})
    assert token.id.startswith("mt_") and token.token.startswith("mt_")
    assert token.subject == caller.id and token.scopes == [target.id]
    assert token.claims == {"job": "sync"} and token.expiration - token.created_at == 600_000
    verified = clerk.m2m.verify_token(token=token.token)
    assert verified.id == token.id and verified.revoked is False and verified.expired is False
    as_target = sdk.Clerk(bearer_auth=target_key, server_url=url)
    assert as_target.m2m.verify_token(token=token.token).subject == caller.id
    page = as_caller.m2m.list_tokens(subject=caller.id)
    assert page.total_count == 1 and [t.id for t in page.m2m_tokens] == [token.id]
    revoked = clerk.m2m.revoke_token(m2m_token_id=token.id, revocation_reason="done")
    assert revoked.revoked is True and revoked.revocation_reason == "done"
    with pytest.raises(sdk_models.ClerkBaseError) as refused:
        clerk.m2m.verify_token(token=token.token)
    assert refused.value.status_code == 404
    assert clerk.m2m.list_tokens(subject=caller.id).total_count == 0
    assert clerk.m2m.list_tokens(subject=caller.id, revoked=True).total_count == 1
    jwt_token = as_caller.m2m.create_token(token_format="jwt", seconds_until_expiration=120)
    assert jwt_token.token.count(".") == 2
    assert clerk.m2m.verify_token(token=jwt_token.token).id == jwt_token.id

    rotated = clerk.machines.rotate_secret_key(machine_id=caller.id, previous_token_ttl=0)
    assert rotated.secret.startswith("ak_") and rotated.secret != caller.secret_key
    with pytest.raises(sdk_models.ClerkBaseError) as stale:
        as_caller.m2m.create_token()
    assert stale.value.status_code == 401
    fresh = sdk.Clerk(bearer_auth=rotated.secret, server_url=url).m2m.create_token()
    assert fresh.subject == caller.id
    assert clerk.machines.delete(machine_id=caller.id).DELETED is True
    assert clerk.machines.delete(machine_id=target.id).id == target.id


def check_python_api_keys_and_oauth(clerk: Any, sdk_models: Any, emu: Emulator, uid: str) -> None:
    """API keys, OAuth applications and access tokens through clerk-backend-api."""
    keys = clerk.api_keys

    def create_key(**fields: Any) -> dict[str, Any]:
        # clerk-backend-api 7 expects 201 from this create; the 2026-05-12 spec (which
        # the emulator follows) answers 200, which the SDK refuses as unexpected.
        with pytest.raises(sdk_models.SDKError) as unexpected:
            keys.create_api_key(subject=uid, **fields)
        assert unexpected.value.raw_response.status_code == 200
        answer: dict[str, Any] = unexpected.value.raw_response.json()
        return answer

    key = SimpleNamespace(
        **create_key(
            name="ci-key", scopes=["read"], claims={"team": "infra"}, seconds_until_expiration=60
        )
    )
    assert key.id.startswith("ak_") and key.secret.startswith("ak_") and key.subject == uid
    assert key.scopes == ["read"] and key.claims == {"team": "infra"}
    assert key.expiration - key.created_at == 60_000 and key.revoked is False
    assert keys.get_api_key(api_key_id=key.id).name == "ci-key"
    page = keys.get_api_keys(subject=uid)
    assert page.total_count == 1 and [k.id for k in page.data] == [key.id]
    updated = keys.update_api_key(api_key_id=key.id, scopes=["read", "write"], description="d")
    assert updated.scopes == ["read", "write"] and updated.description == "d"
    assert keys.get_api_key_secret(api_key_id=key.id).secret == key.secret
    verified = keys.verify_api_key(secret=key.secret)
    assert verified.id == key.id and verified.subject == uid and verified.last_used_at
    revoked = keys.revoke_api_key(api_key_id=key.id, revocation_reason="leaked")
    assert revoked.revoked is True and revoked.revocation_reason == "leaked"
    assert keys.get_api_keys(subject=uid).total_count == 0
    assert keys.get_api_keys(subject=uid, include_invalid="true").total_count == 1
    with pytest.raises(sdk_models.ClerkBaseError) as refused:
        keys.verify_api_key(secret=key.secret)
    assert refused.value.raw_response.status_code == 404
    assert refused.value.raw_response.json()["errors"][0]["code"] == "resource_not_found"
    expiring = create_key(name="short", seconds_until_expiration=30)
    emu.clock.advance(31)
    assert keys.get_api_key(api_key_id=expiring["id"]).expired is True
    with pytest.raises(sdk_models.ClerkBaseError) as expired:
        keys.verify_api_key(secret=expiring["secret"])
    assert expired.value.raw_response.status_code == 404
    gone = keys.delete_api_key(api_key_id=key.id)
    assert gone.id == key.id and gone.DELETED is True  # the SDK's name for "deleted"

    apps = clerk.oauth_applications
    app = apps.create(request={"name": "CLI", "redirect_uris": ["myapp://callback"]})
    assert app.id.startswith("oa_") and app.client_id and app.client_secret
    assert app.scopes == "profile email" and app.redirect_uris == ["myapp://callback"]
    assert apps.get(oauth_application_id=app.id).client_id == app.client_id
    listed = apps.list(name_query=app.client_id)
    assert listed.total_count == 1 and [a.id for a in listed.data] == [app.id]
    renamed = apps.update(oauth_application_id=app.id, name="CLI v2")
    assert renamed.name == "CLI v2"
    rotated = apps.rotate_secret(oauth_application_id=app.id)
    assert rotated.client_secret and rotated.client_secret != app.client_secret
    logo = apps.upload_logo(
        oauth_application_id=app.id,
        file={"file_name": "logo.png", "content": b"\x89PNG\r\n", "content_type": "image/png"},
    )
    assert logo.client_image_url
    token = emu.issue_oauth_token(app.id, uid, scopes=["profile"])
    access = clerk.oauth_access_tokens.verify(access_token=token)
    assert access.client_id == app.client_id and access.subject == uid
    assert access.scopes == ["profile"] and access.revoked is False
    apps.revoke_token(oauth_application_id=app.id, token=token)  # 204
    with pytest.raises(sdk_models.ClerkBaseError) as revoked_token:
        clerk.oauth_access_tokens.verify(access_token=token)
    assert revoked_token.value.raw_response.status_code == 404
    assert apps.delete(oauth_application_id=app.id).deleted is True
