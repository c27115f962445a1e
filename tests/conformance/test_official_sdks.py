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
    env = {**os.environ, "CLERK_API_URL": emu.url, "CLERK_SECRET_KEY": emu.secret_key}
    done = subprocess.run(
        ["node", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


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
