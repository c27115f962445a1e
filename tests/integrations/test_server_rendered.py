"""Server-rendered pages end to end: real servers on loopback, a cookie-keeping HTTP
client following the handshake's redirects through the emulator's Frontend API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse as StarletteHTML
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clerk_async.auth import Auth
from clerk_async.emulator import Emulator
from clerk_async.integrations.fastapi import ClerkAuth as FastAPIClerkAuth
from clerk_async.integrations.flask import ClerkAuth as FlaskClerkAuth
from clerk_async.integrations.starlette import ClerkAuthMiddleware

from .conftest import uvicorn_server
from .wsgi_servers import PYTHON, child_server

PAGE_HEADERS = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Dest": "document"}
API_HEADERS = {"Accept": "application/json", "Sec-Fetch-Dest": "empty"}


def starlette_app(emu: Emulator) -> Starlette:
    async def page(request: Request) -> Response:
        auth: Auth = request.state.auth
        who = auth.user_id or "signed out"
        return StarletteHTML(f"<html><body>{who}</body></html>")

    async def api(request: Request) -> Response:
        auth: Auth = request.state.auth
        if not auth.is_authenticated:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        return JSONResponse({"user_id": auth.user_id})

    app = Starlette(routes=[Route("/page", page), Route("/api/me", api)])
    app.add_middleware(
        ClerkAuthMiddleware,
        publishable_key=emu.publishable_key,
        secret_key=emu.secret_key,
        api_url=emu.url,
    )
    return app


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        yield running


@pytest.fixture
async def user_id(emu: Emulator) -> str:
    async with emu.client() as clerk:
        user = await clerk.users.create(email_address=["ssr@example.com"])
    assert user.id is not None
    return user.id


def browser(cookies: dict[str, str]) -> httpx.AsyncClient:
    client = httpx.AsyncClient(follow_redirects=True, timeout=10)
    for name, value in cookies.items():
        client.cookies.set(name, value, domain="127.0.0.1", path="/")
    return client


async def test_an_expired_cookie_page_load_ends_signed_in(emu: Emulator, user_id: str) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    async with uvicorn_server(starlette_app(emu)) as url, browser(cookies) as client:
        answer = await client.get(url + "/page?tab=2", headers=PAGE_HEADERS)
        assert answer.status_code == 200
        assert user_id in answer.text
        hops = [(r.status_code, r.url.port, r.url.path) for r in answer.history]
        app_port, emu_port = int(url.rsplit(":", 1)[1]), int(emu.url.rsplit(":", 1)[1])
        assert hops == [
            (307, app_port, "/page"),  # to the Frontend API
            (307, emu_port, "/v1/client/handshake"),  # back with the nonce
            (307, app_port, "/page"),  # cookies set, the nonce leaves the URL
        ]
        assert str(answer.url) == url + "/page?tab=2"
        fresh = client.cookies.get("__session", domain="127.0.0.1", path="/")
        assert fresh and fresh != cookies["__session"]
        assert emu.handshake_count == 1
        # The fresh cookie serves the next loads without another round.
        again = await client.get(url + "/page", headers=PAGE_HEADERS)
        assert user_id in again.text and not again.history and emu.handshake_count == 1


async def test_without_a_session_the_page_ends_signed_out_after_one_round(
    emu: Emulator, user_id: str
) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    async with emu.client() as clerk:
        for session in await clerk.sessions.list(user_id=user_id):
            assert session.id is not None
            await clerk.sessions.revoke(session.id)
    async with uvicorn_server(starlette_app(emu)) as url, browser(cookies) as client:
        answer = await client.get(url + "/page", headers=PAGE_HEADERS)
        assert answer.status_code == 200 and "signed out" in answer.text
        assert len(answer.history) == 3 and emu.handshake_count == 1
        assert client.cookies.get("__client_uat", domain="127.0.0.1", path="/") == "0"
        again = await client.get(url + "/page", headers=PAGE_HEADERS)
        assert "signed out" in again.text and not again.history


async def test_an_api_request_with_the_same_cookie_gets_401_and_no_redirect(
    emu: Emulator, user_id: str
) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    async with uvicorn_server(starlette_app(emu)) as url, browser(cookies) as client:
        answer = await client.get(url + "/api/me", headers=API_HEADERS)
        assert (answer.status_code, answer.history) == (401, [])
        assert emu.handshake_count == 0


async def test_a_redirect_loop_stops_after_three(emu: Emulator, user_id: str) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    async with uvicorn_server(starlette_app(emu)) as url, browser(cookies) as client:
        # A stale session cookie on a more specific path is sent first, so the
        # fresh one the handshake sets on "/" never wins: every load goes round.
        client.cookies.set("__session", cookies["__session"], domain="127.0.0.1", path="/page")
        answer = await client.get(url + "/page", headers=PAGE_HEADERS)
        assert answer.status_code == 200 and "signed out" in answer.text
        assert emu.handshake_count == 3
        assert len(answer.history) == 9  # three rounds of three redirects


def fastapi_app(emu: Emulator) -> FastAPI:
    clerk_auth = FastAPIClerkAuth(
        publishable_key=emu.publishable_key, secret_key=emu.secret_key, api_url=emu.url
    )
    app = FastAPI(lifespan=clerk_auth.lifespan)

    @app.get("/page", response_class=HTMLResponse)
    async def page(auth: Auth = Depends(clerk_auth.auth)) -> str:  # noqa: B008
        return f"<html><body>{auth.user_id or 'signed out'}</body></html>"

    @app.get("/api/me")
    async def me(
        auth: Auth = Depends(clerk_auth.require_auth()),  # noqa: B008
    ) -> dict[str, str | None]:
        return {"user_id": auth.user_id}

    return app


async def test_the_fastapi_dependency_answers_the_handshake(emu: Emulator, user_id: str) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    async with uvicorn_server(fastapi_app(emu)) as url, browser(cookies) as client:
        api = await client.get(url + "/api/me", headers=API_HEADERS)
        assert (api.status_code, api.history) == (401, [])
        answer = await client.get(url + "/page", headers=PAGE_HEADERS)
        assert answer.status_code == 200 and user_id in answer.text
        assert len(answer.history) == 3
        api = await client.get(url + "/api/me", headers=API_HEADERS)
        assert api.json() == {"user_id": user_id}


# -- Flask under gunicorn --------------------------------------------------------------


def create_flask_app() -> Flask:
    """The Flask app the gunicorn test serves, configured from the environment."""
    app = Flask(__name__)
    app.config["CLERK_API_URL"] = os.environ["TEST_CLERK_API_URL"]
    app.config["CLERK_SECRET_KEY"] = os.environ["TEST_CLERK_SECRET_KEY"]
    app.config["CLERK_PUBLISHABLE_KEY"] = os.environ["TEST_CLERK_PUBLISHABLE_KEY"]
    FlaskClerkAuth(app)

    @app.get("/page")
    def page() -> str:
        return f"<html><body>{g.auth.user_id or 'signed out'}</body></html>"

    return app


@pytest.fixture(scope="module")
def threaded_emulator() -> Iterator[Emulator]:
    with Emulator().running_in_thread() as running:
        yield running


def test_a_flask_page_under_gunicorn_ends_signed_in(threaded_emulator: Emulator) -> None:
    emu = threaded_emulator
    user = emu.store.make_user({"email_address": ["flask-ssr@example.com"]})
    cookies = emu.browser_cookies(user["id"], expired=True)
    env = {
        "TEST_CLERK_API_URL": emu.url,
        "TEST_CLERK_SECRET_KEY": emu.secret_key,
        "TEST_CLERK_PUBLISHABLE_KEY": emu.publishable_key,
    }
    argv = [
        PYTHON, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "1",
        "--threads", "2", "tests.integrations.test_server_rendered:create_flask_app()",
    ]  # fmt: skip
    with child_server(argv, env, "/page") as url, httpx.Client(follow_redirects=True) as client:
        for name, value in cookies.items():
            client.cookies.set(name, value, domain="127.0.0.1", path="/")
        answer = client.get(url + "/page", headers=PAGE_HEADERS)
        assert answer.status_code == 200 and user["id"] in answer.text
        assert [r.status_code for r in answer.history] == [307, 307, 307]
        api = client.get(url + "/page", headers=API_HEADERS)
        assert user["id"] in api.text  # the fresh cookie works for any request now


def test_a_django_page_under_runserver_ends_signed_in(threaded_emulator: Emulator) -> None:
    emu = threaded_emulator
    user = emu.store.make_user({"email_address": ["django-ssr@example.com"]})
    cookies = emu.browser_cookies(user["id"], expired=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.integrations.django_project",
        "TEST_CLERK_API_URL": emu.url,
        "TEST_CLERK_SECRET_KEY": emu.secret_key,
        "TEST_CLERK_PUBLISHABLE_KEY": emu.publishable_key,
    }
    argv = [PYTHON, "-m", "django", "runserver", "--noreload", "127.0.0.1:{port}"]
    with child_server(argv, env, "/public") as url, httpx.Client(follow_redirects=True) as client:
        for name, value in cookies.items():
            client.cookies.set(name, value, domain="127.0.0.1", path="/")
        api = client.get(url + "/public", headers=API_HEADERS)
        assert (api.status_code, api.history, api.json()["signed_in"]) == (200, [], False)
        answer = client.get(url + "/public", headers=PAGE_HEADERS)
        assert [r.status_code for r in answer.history] == [307, 307, 307]
        assert answer.json() == {"signed_in": True, "user_id": user["id"]}


async def test_an_aiohttp_page_ends_signed_in(emu: Emulator, user_id: str) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from clerk_async.integrations.aiohttp import AUTH, setup_clerk

    async def page(request: web.Request) -> web.Response:
        who = request[AUTH].user_id or "signed out"
        return web.Response(text=f"<html><body>{who}</body></html>", content_type="text/html")

    app = web.Application()
    setup_clerk(
        app, publishable_key=emu.publishable_key, secret_key=emu.secret_key, api_url=emu.url
    )
    app.router.add_get("/page", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    cookies = emu.browser_cookies(user_id, expired=True)
    try:
        async with browser(cookies) as client:
            url = str(server.make_url("/page"))
            api = await client.get(url, headers=API_HEADERS)
            assert "signed out" in api.text and not api.history
            answer = await client.get(url, headers=PAGE_HEADERS)
            assert user_id in answer.text and len(answer.history) == 3
    finally:
        await server.close()
