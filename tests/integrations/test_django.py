"""The Django middleware, decorators, mixins and DRF classes, in process and under runserver."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integrations.django_project")

import django
from django.test import AsyncClient, Client, override_settings

from clerk_async.emulator import Emulator

from .conftest import Tokens
from .wsgi_servers import PYTHON, child_server, get

django.setup()

from clerk_async.integrations import django as integration  # noqa: E402


@pytest.fixture
def configured(emulator: Emulator) -> Iterator[None]:
    with override_settings(CLERK_API_URL=emulator.url, CLERK_SECRET_KEY=emulator.secret_key):
        yield
    integration.sync_app_auth().close()


def body(response: Any) -> Any:
    return json.loads(response.content)


def test_views_with_the_test_client(configured: None, tokens: Tokens) -> None:
    client = Client()
    member = {"Authorization": f"Bearer {tokens.member}"}
    admin = {"Authorization": f"Bearer {tokens.admin}"}
    assert body(client.get("/public")) == {"signed_in": False, "user_id": None}
    assert body(client.get("/public", headers=member)) == {
        "signed_in": True,
        "user_id": tokens.member_id,
    }
    signed_out = client.get("/me")
    assert signed_out.status_code == 401
    assert signed_out["WWW-Authenticate"] == "Bearer"
    assert body(signed_out) == {
        "error": "unauthenticated",
        "reason": "session_token_and_uat_missing",
    }
    assert body(client.get("/me", headers=member)) == {"user_id": tokens.member_id}
    forbidden = client.get("/admin", headers=member)
    assert (forbidden.status_code, body(forbidden)) == (
        403,
        {"error": "forbidden", "requires": "org:admin"},
    )
    assert body(client.get("/admin", headers=admin)) == {"org_id": tokens.org_id}
    assert (
        client.get("/invoices", headers=admin).status_code == 403
    )  # emulator tokens carry no permissions
    assert client.get("/cbv/org", headers=member).status_code == 403
    assert body(client.get("/cbv/org", headers=admin)) == {"org_id": tokens.org_id}
    assert client.get("/cbv/admin").status_code == 401
    assert body(client.get("/cbv/admin", headers=admin)) == {"org_id": tokens.org_id}
    bad = client.get("/me", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
    assert integration.sync_app_auth().clients_opened == 1  # one client per process


def test_rest_framework(configured: None, tokens: Tokens) -> None:
    client = Client()
    anonymous = client.get("/api/me")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Bearer"
    rejected = client.get("/api/me", headers={"Authorization": "Bearer not.a.token"})
    assert rejected.status_code == 401
    member = client.get("/api/me", headers={"Authorization": f"Bearer {tokens.member}"})
    assert body(member) == {"user_id": tokens.member_id, "org_id": None}
    assert (
        client.get("/api/admin", headers={"Authorization": f"Bearer {tokens.member}"}).status_code
        == 403
    )
    admin = client.get("/api/admin", headers={"Authorization": f"Bearer {tokens.admin}"})
    assert body(admin) == {"org_id": tokens.org_id}


async def test_async_views_through_the_async_twin(configured: None, tokens: Tokens) -> None:
    client = AsyncClient()
    try:
        assert (await client.get("/async/me")).status_code == 401
        member = await client.get("/async/me", headers={"Authorization": f"Bearer {tokens.member}"})
        assert body(member) == {"user_id": tokens.member_id, "async": True}
        forbidden = await client.get(
            "/async/admin", headers={"Authorization": f"Bearer {tokens.member}"}
        )
        assert forbidden.status_code == 403
        admin = await client.get(
            "/async/admin", headers={"Authorization": f"Bearer {tokens.admin}"}
        )
        assert body(admin) == {"org_id": tokens.org_id}
    finally:
        await integration.async_app_auth().aclose()


def test_settings_are_read_from_django_settings(emulator: Emulator) -> None:
    with override_settings(
        CLERK_AUTHORIZED_PARTIES=["https://app.example.com"], CLERK_JWT_KEY="pem"
    ):
        options = integration.sync_app_auth().options
        assert options.authorized_parties == ("https://app.example.com",)
        assert options.jwt_key == "pem"
    assert integration.sync_app_auth().options.authorized_parties is None


def test_under_runserver(emulator: Emulator, tokens: Tokens) -> None:
    env = {
        "TEST_CLERK_API_URL": emulator.url,
        "TEST_CLERK_SECRET_KEY": emulator.secret_key,
        "DJANGO_SETTINGS_MODULE": "tests.integrations.django_project",
    }
    argv = [PYTHON, "-m", "django", "runserver", "--noreload", "127.0.0.1:{port}"]
    with child_server(argv, env, "/public") as url:
        status, text = get(url + "/me")
        assert (status, json.loads(text)["error"]) == (401, "unauthenticated")
        status, text = get(url + "/me", tokens.member)
        assert (status, json.loads(text)) == (200, {"user_id": tokens.member_id})
        status, text = get(url + "/admin", tokens.member)
        assert (status, json.loads(text)) == (403, {"error": "forbidden", "requires": "org:admin"})
        status, text = get(url + "/api/admin", tokens.admin)
        assert (status, json.loads(text)) == (200, {"org_id": tokens.org_id})
