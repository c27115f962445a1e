"""The emulator's stand-in for the Frontend API, enough for the handshake.

A browser signed in to the emulator carries a ``__client`` cookie naming its
client (:meth:`Frontend.browser_cookies` hands one out, with the app's
``__session`` and ``__client_uat``). ``GET /v1/client/handshake`` finds that
client, mints a fresh session token for its session (activating the organization
named by ``organization_id`` when the user is a member) and redirects back to
``redirect_url`` with the answer in the query string, as Clerk's development
instances do: ``__clerk_handshake_nonce`` (``format=nonce``, resolved once through
the Backend API's ``GET /v1/clients/handshake_payload``) or ``__clerk_handshake``
(a JWT signed by the instance key whose ``handshake`` claim lists the
``Set-Cookie`` directives). Without a signed-in client the directives sign the
browser out.

``GET /v1/tickets/accept?ticket=…`` redeems a sign-in or actor token's ticket
(:mod:`clerk_async.emulator._tickets`): the browser gets the cookies of a new
session, then goes to ``redirect_url`` when one is given.

Loopback cookies are shared by every port of a host, so one cookie jar serves
the app under test and the emulator, as one browser would.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt
from aiohttp import web
from yarl import URL

from ..auth._request import cookie_suffix
from ..auth._verify import CATEGORY_JWT_TEMPLATE, CATEGORY_M2M_TOKEN, CATEGORY_SESSION_TOKEN
from ._store import JSON, ApiError, param_missing

if TYPE_CHECKING:
    from ._app import Api
    from ._behaviour import Handler

__all__ = ["CLIENT_COOKIE", "Frontend", "publishable_key_for"]

#: the cookie (on the Frontend API's host) naming the browser's client
CLIENT_COOKIE = "__client"
#: where the emulator answers the handshake (no secret key needed, as for Clerk)
HANDSHAKE_PATH = "/v1/client/handshake"
#: where a sign-in or actor token's ticket is redeemed (the tokens' ``url``)
TICKET_PATH = "/v1/tickets/accept"


def publishable_key_for(origin: str) -> str:
    """A development publishable key whose Frontend API is ``origin``'s host."""
    host = urlsplit(origin).netloc
    return "pk_test_" + base64.b64encode(f"{host}$".encode()).decode().rstrip("=")


class Frontend:
    """The Frontend API routes of one emulator, sharing its store and signing key."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        #: ``__client`` cookie value → client id
        self.client_tokens: dict[str, str] = {}
        #: nonce → directives, each nonce answered once
        self.nonces: dict[str, list[str]] = {}
        #: handshakes answered so far
        self.handshakes = 0
        #: publishable key whose host is the emulator; set once it listens
        self.publishable_key: str | None = None
        #: per session: claims added to every token minted for it (``fva``...)
        self.session_claims: dict[str, JSON] = {}

    #: answered without a secret key, as the Frontend API is
    public_paths = frozenset({HANDSHAKE_PATH, TICKET_PATH})
    #: every route of this module
    paths = frozenset({HANDSHAKE_PATH, TICKET_PATH, "/v1/clients/handshake_payload"})

    def routes(self, wrap: Callable[[Handler], Handler]) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", HANDSHAKE_PATH, self.handshake),
            ("GET", TICKET_PATH, self.accept_ticket),
            ("GET", "/v1/clients/handshake_payload", wrap(self.handshake_payload)),
        ]

    # -- browsers ------------------------------------------------------------------------

    def sign_in_browser(
        self, user_id: str, *, organization_id: str | None = None, status: str = "active"
    ) -> tuple[JSON, str]:
        """A new session and client for ``user_id``; ``(session, __client cookie value)``."""
        self.store.user(user_id)
        session = self.store.start_session(
            user_id, organization_id=organization_id, expire_in_ms=86_400_000
        )
        session["status"] = status
        return session, self.remember_client(session["client_id"])

    def remember_client(self, client_id: str) -> str:
        """A new ``__client`` cookie value naming ``client_id``."""
        token = secrets.token_urlsafe(24)
        self.client_tokens[token] = client_id
        return token

    def browser_cookies(
        self,
        user_id: str,
        *,
        expired: bool = False,
        organization_id: str | None = None,
        status: str = "active",
        fva: tuple[int, int] | None = None,
        azp: str | None = None,
    ) -> dict[str, str]:
        """The cookies of a browser signed in as ``user_id`` (see :class:`Frontend`)."""
        session, client = self.sign_in_browser(
            user_id, organization_id=organization_id, status=status
        )
        if fva is not None:
            self.session_claims[session["id"]] = {"fva": list(fva)}
        now = int(self.store.clock.now())
        issued = now - 120 if expired else now
        token = self.api.mint(session, expires_in=60, azp=azp, now=issued)
        return {"__session": token, "__client_uat": str(issued), CLIENT_COOKIE: client}

    # -- the handshake -------------------------------------------------------------------

    def _client_of(self, request: web.Request) -> JSON | None:
        client_id = self.client_tokens.get(request.cookies.get(CLIENT_COOKIE, ""))
        if client_id is None:
            # A browser without the cookie: the session its (expired) token names.
            token = request.query.get("__session")
            if token:
                try:
                    claims = jwt.decode(
                        token,
                        self.api.key.public_key(),
                        algorithms=["RS256"],
                        options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
                    )
                except jwt.PyJWTError:
                    claims = {}
                session = self.store.sessions.get(str(claims.get("sid")))
                client_id = session["client_id"] if session else None
        return self.store.clients.get(client_id) if client_id else None

    def _activate(self, session: JSON, wanted: str) -> None:
        if wanted == "":
            session["last_active_organization_id"] = None
            return
        org_id = self.store.slugs.get(wanted, wanted)
        if session["user_id"] in self.store.memberships.get(org_id, {}):
            session["last_active_organization_id"] = org_id

    def directives(self, request: web.Request) -> list[str]:
        """The cookies this browser gets: fresh ones for its session, or signed out."""
        suffixed = request.query.get("suffixed_cookies") == "true"
        names = ["__session", "__client_uat"]
        if suffixed and self.publishable_key:
            suffix = cookie_suffix(self.publishable_key)
            names += [f"__session_{suffix}", f"__client_uat_{suffix}"]
        client = self._client_of(request)
        session = None
        if client is not None:
            sid = client.get("last_active_session_id")
            found = self.store.sessions.get(sid) if sid else None
            if found is not None and found["status"] in ("active", "pending"):
                session = found
        attributes = "Path=/; SameSite=Lax"
        if session is None:
            return [
                f"{name}={'0' if 'uat' in name else ''}; {attributes}; Max-Age="
                + ("31536000" if "uat" in name else "0")
                for name in names
            ]
        if "organization_id" in request.query:
            self._activate(session, request.query["organization_id"])
        now = int(self.store.clock.now())
        session["last_active_at"] = now * 1000
        # The browser's party is the app it returns to: the origin of redirect_url.
        back = URL(request.query.get("redirect_url", ""))
        azp = str(back.origin()) if back.absolute else None
        token = self.api.mint(session, expires_in=60, azp=azp)
        return [
            f"{name}={now if 'uat' in name else token}; {attributes}"
            + ("; Max-Age=31536000" if "uat" in name else "")
            for name in names
        ]

    async def handshake(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/client/handshake``: back to ``redirect_url`` with the answer."""
        redirect_url = request.query.get("redirect_url")
        if not redirect_url:
            return self.api.error(param_missing("redirect_url"))
        back = URL(redirect_url)
        if not _returnable(back):
            return self.api.error(_bad_redirect())
        directives = self.directives(request)
        self.handshakes += 1
        if request.query.get("format", "token") == "nonce":
            nonce = secrets.token_urlsafe(24)
            self.nonces[nonce] = directives
            answer = {"__clerk_handshake_nonce": nonce}
        else:
            answer = {"__clerk_handshake": self.handshake_token(directives)}
        return web.Response(
            status=307,
            headers={"Location": str(back.update_query(answer)), "Cache-Control": "no-store"},
        )

    async def accept_ticket(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/tickets/accept?ticket=…``: sign the browser in with a sign-in or
        actor token's ticket (``__clerk_ticket`` is taken too), then back to
        ``redirect_url`` when one is given, with the browser's cookies set."""
        ticket = request.query.get("ticket") or request.query.get("__clerk_ticket")
        if not ticket:
            return self.api.error(param_missing("ticket"))
        redirect_url = request.query.get("redirect_url")
        back = URL(redirect_url) if redirect_url else None
        if back is not None and not _returnable(back):
            return self.api.error(_bad_redirect())
        try:
            session, client = self.api.tickets.redeem(ticket)
        except ApiError as exc:
            return self.api.error(exc)
        now = int(self.store.clock.now())
        azp = str(back.origin()) if back is not None else None
        token = self.api.mint(session, expires_in=60, azp=azp)
        answer: web.Response
        if back is None:
            answer = web.Response(text="Signed in.", headers={"Cache-Control": "no-store"})
        else:
            answer = web.Response(
                status=303, headers={"Location": str(back), "Cache-Control": "no-store"}
            )
        answer.set_cookie(CLIENT_COOKIE, client, path="/", samesite="Lax", httponly=True)
        answer.set_cookie("__session", token, path="/", samesite="Lax")
        answer.set_cookie("__client_uat", str(now), path="/", samesite="Lax")
        return answer

    def handshake_token(self, directives: Sequence[str]) -> str:
        """A handshake token: the directives, signed by the instance key."""
        now = int(self.store.clock.now())
        return jwt.encode(
            {"handshake": list(directives), "iat": now, "exp": now + 60},
            self.api.key,
            algorithm="RS256",
            headers={"kid": self.api.kid, "cat": CATEGORY_SESSION_TOKEN},
        )

    async def handshake_payload(self, request: web.Request) -> JSON:
        """``GET /v1/clients/handshake_payload?nonce=…``: a nonce's directives, once."""
        nonce = request.query.get("nonce")
        if not nonce:
            raise param_missing("nonce")
        directives = self.nonces.pop(nonce, None)
        if directives is None:
            raise ApiError(404, "resource_not_found", "No handshake payload for that nonce.")
        return {"directives": directives}

    # -- machine and template JWTs -------------------------------------------------------

    def sign(self, claims: Mapping[str, Any], **headers: Any) -> str:
        return jwt.encode(
            dict(claims), self.api.key, algorithm="RS256", headers={"kid": self.api.kid, **headers}
        )

    def m2m_jwt(
        self,
        machine_id: str,
        *,
        scopes: Sequence[str] = (),
        expires_in: int = 3600,
        claims: Mapping[str, Any] | None = None,
        jti: str | None = None,
    ) -> str:
        """An M2M token in JWT form (``mch_`` subject, M2M category); ``jti`` names it."""
        now = int(self.store.clock.now())
        payload = {
            **(claims or {}),
            "iss": self.api.issuer,
            "sub": machine_id,
            "jti": jti or self.store.ids.new("mt"),
            "aud": list(scopes),
            "scopes": " ".join(scopes),
            "iat": now,
            "nbf": now - 5,
            "exp": now + expires_in,
        }
        return self.sign(payload, cat=CATEGORY_M2M_TOKEN)

    def oauth_jwt(
        self,
        user_id: str,
        *,
        client_id: str = "oauth_client_emulator",
        scopes: Sequence[str] = (),
        expires_in: int = 3600,
    ) -> str:
        """An OAuth access token in JWT form (``typ: at+jwt``)."""
        now = int(self.store.clock.now())
        payload = {
            "iss": self.api.issuer,
            "sub": user_id,
            "client_id": client_id,
            "jti": self.store.ids.new("oat"),
            "scp": list(scopes),
            "iat": now,
            "nbf": now - 5,
            "exp": now + expires_in,
        }
        return self.sign(payload, typ="at+jwt")

    def template_jwt(self, user_id: str, *, claims: Mapping[str, Any] | None = None) -> str:
        """A token as a JWT template makes it (template category, no session)."""
        now = int(self.store.clock.now())
        payload = {
            **(claims or {}),
            "iss": self.api.issuer,
            "sub": user_id,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 60,
        }
        return self.sign(payload, cat=CATEGORY_JWT_TEMPLATE)


def _returnable(url: URL) -> bool:
    """Whether a browser may be sent back to ``url``: an absolute http(s) URL."""
    return url.absolute and url.scheme in ("http", "https")


def _bad_redirect() -> ApiError:
    return ApiError(
        400,
        "form_param_format_invalid",
        "redirect_url must be an absolute http(s) URL.",
        param_name="redirect_url",
    )
