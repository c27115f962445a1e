"""The Flask extension with Flask's test client and under gunicorn, against the emulator."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from flask import Flask, g

from clerk_async.emulator import Emulator
from clerk_async.integrations.flask import ClerkAuth, current_auth, require_auth

from .conftest import Tokens
from .wsgi_servers import PYTHON, child_server, get


def create_app() -> Flask:
    """The app under test; configured from ``app.config``, filled from the environment."""
    app = Flask(__name__)
    app.config["CLERK_API_URL"] = os.environ["TEST_CLERK_API_URL"]
    app.config["CLERK_SECRET_KEY"] = os.environ["TEST_CLERK_SECRET_KEY"]
    ClerkAuth(app)

    @app.get("/public")
    def public() -> dict[str, object]:
        return {"signed_in": g.auth.is_authenticated, "user_id": current_auth().user_id}

    @app.get("/me")
    @require_auth()
    def me() -> dict[str, object]:
        return {"user_id": g.auth.user_id}

    @app.get("/admin")
    @require_auth(role="org:admin")
    def admin() -> dict[str, object]:
        return {"org_id": g.auth.org_id}

    @app.get("/org")
    @require_auth(organization=True)
    def org() -> dict[str, object]:
        return {"org_id": g.auth.org_id}

    return app


@pytest.fixture(scope="module")
def environment(emulator: Emulator) -> Iterator[dict[str, str]]:
    env = {"TEST_CLERK_API_URL": emulator.url, "TEST_CLERK_SECRET_KEY": emulator.secret_key}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_with_the_test_client(environment: dict[str, str], tokens: Tokens) -> None:
    app = create_app()
    client = app.test_client()
    try:
        anonymous = client.get("/public")
        assert anonymous.json == {"signed_in": False, "user_id": None}
        signed_out = client.get("/me")
        assert signed_out.status_code == 401
        assert signed_out.headers["WWW-Authenticate"] == "Bearer"
        assert signed_out.json == {
            "error": "unauthenticated",
            "reason": "session_token_and_uat_missing",
        }
        member = {"Authorization": f"Bearer {tokens.member}"}
        assert client.get("/me", headers=member).json == {"user_id": tokens.member_id}
        forbidden = client.get("/admin", headers=member)
        assert forbidden.status_code == 403
        assert forbidden.json == {"error": "forbidden", "requires": "org:admin"}
        assert client.get("/org", headers=member).status_code == 403
        admin = {"Authorization": f"Bearer {tokens.admin}"}
        assert client.get("/admin", headers=admin).json == {"org_id": tokens.org_id}
        assert client.get("/me", headers={"Authorization": "Bearer not.a.token"}).status_code == 401
        extension = app.extensions["clerk"]
        assert extension.app_auth.clients_opened == 1  # one client, many requests
    finally:
        app.extensions["clerk"].close()


def test_config_overrides_and_missing_init() -> None:
    app = Flask(__name__)
    app.config["CLERK_AUTHORIZED_PARTIES"] = ["https://app.example.com"]
    extension = ClerkAuth(jwt_key="-----BEGIN PUBLIC KEY-----")
    with pytest.raises(RuntimeError, match="init_app"):
        _ = extension.app_auth
    extension.init_app(app)
    assert extension.app_auth.options.authorized_parties == ("https://app.example.com",)
    assert extension.app_auth.options.jwt_key == "-----BEGIN PUBLIC KEY-----"
    assert not extension.app_auth.needs_client()


def test_under_gunicorn(environment: dict[str, str], tokens: Tokens) -> None:
    argv = [
        PYTHON, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "1",
        "--threads", "2", "tests.integrations.test_flask:create_app()",
    ]  # fmt: skip
    with child_server(argv, environment, "/public") as url:
        status, body = get(url + "/public")
        assert (status, json.loads(body)) == (200, {"signed_in": False, "user_id": None})
        status, body = get(url + "/me")
        assert status == 401
        assert json.loads(body)["error"] == "unauthenticated"
        status, body = get(url + "/me", tokens.member)
        assert (status, json.loads(body)) == (200, {"user_id": tokens.member_id})
        status, body = get(url + "/admin", tokens.member)
        assert (status, json.loads(body)) == (403, {"error": "forbidden", "requires": "org:admin"})
        status, body = get(url + "/admin", tokens.admin)
        assert (status, json.loads(body)) == (200, {"org_id": tokens.org_id})
