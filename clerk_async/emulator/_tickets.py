"""Sign-in tokens, actor tokens and testing tokens, and redeeming a ticket.

A sign-in token (``POST /v1/sign_in_tokens``) or an actor token
(``POST /v1/actor_tokens``) carries a ticket: a JWT signed by the instance key that
names the token. The ticket is redeemed once, by a browser following the token's
``url`` (the Frontend API stand-in's ``GET /v1/tickets/accept``) or in process with
:meth:`Tickets.redeem` (``Emulator.accept_ticket``). Redeeming signs the user in on
a new session and client and marks the token ``accepted``; a revoked, accepted or
expired token is refused. An actor token's session lasts at most
``session_max_duration_in_seconds`` and every session token minted for it carries
the actor payload as its ``act`` claim, which ``verify_token`` hands back as
``SessionClaims.act`` (``Auth.actor`` in the integrations).

Only a pending token can be revoked; the lifetime of a token lapses on the
emulator's clock (``expires_in_seconds``) without changing its status, as
Clerk's statuses know no ``expired``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import jwt
from aiohttp import web
from yarl import URL

from ._behaviour import RouteEntry
from ._frontend import TICKET_PATH
from ._store import INTEGER, JSON, OBJECT, STRING, ApiError, check_types, not_found, param_invalid

if TYPE_CHECKING:
    from ._app import Api

#: Lifetimes (seconds) of what is created without one.
SIGN_IN_TOKEN_LIFETIME = 30 * 86_400
ACTOR_TOKEN_LIFETIME = 3600
ACTOR_SESSION_LIFETIME = 1800
TESTING_TOKEN_LIFETIME = 3600
#: the ``st`` (source type) claim of a ticket, by the kind of token it redeems
KIND_SIGN_IN = "sign_in_token"
KIND_ACTOR = "actor_token"


def ticket_error(code: str, message: str, long_message: str = "") -> ApiError:
    return ApiError(400, code, message, long_message=long_message, param_name="ticket")


class Tickets:
    """The instance's sign-in and actor tokens, and the testing tokens it hands out."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        #: token id -> its JSON (sign-in and actor tokens both)
        self.items: dict[str, JSON] = {}
        # token id -> (milliseconds it lapses at, the session lifetime it grants in ms,
        # organization to activate); kept out of the JSON, whose schema has no room
        self._terms: dict[str, tuple[int, int | None, str | None]] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("POST", "/v1/sign_in_tokens", self.create_sign_in_token),
            ("POST", "/v1/sign_in_tokens/{sign_in_token_id}/revoke", self.revoke_sign_in_token),
            ("POST", "/v1/actor_tokens", self.create_actor_token),
            ("POST", "/v1/actor_tokens/{actor_token_id}/revoke", self.revoke_actor_token),
            ("POST", "/v1/testing_tokens", self.create_testing_token),
        ]

    # -- creating and revoking ---------------------------------------------------------

    def _existing_user(self, user_id: object, status: int) -> str:
        if not isinstance(user_id, str) or user_id not in self.store.users:
            raise ApiError(
                status,
                "resource_not_found",
                "user not found",
                long_message=f"No user was found with the ID {user_id!r}.",
                param_name="user_id",
            )
        return user_id

    @staticmethod
    def _lifetime(body: JSON, field: str, default: int) -> int:
        value = body.get(field)
        if value is None:
            return default
        if value < 1:
            raise param_invalid(field, f"{field} must be 1 or more.")
        return int(value)

    def _new(self, kind: str, prefix: str, user_id: str, lifetime: int) -> JSON:
        now = self.store.now()
        item: JSON = {
            "object": kind,
            "id": self.store.ids.new(prefix),
            "status": "pending",
            "user_id": user_id,
        }
        ticket = self._ticket(item, kind, now // 1000, lifetime)
        item.update(token=ticket, created_at=now, updated_at=now)
        return item

    def _ticket(self, item: JSON, kind: str, issued: int, lifetime: int) -> str:
        return jwt.encode(
            {
                "iss": self.api.issuer,
                "sid": item["id"],
                "st": kind,
                "iat": issued,
                "exp": issued + lifetime,
            },
            self.api.key,
            algorithm="RS256",
            headers={"kid": self.api.kid},
        )

    def _accept_url(self, parameter: str, ticket: str) -> str:
        return str(URL(self.api.issuer + TICKET_PATH).with_query({parameter: ticket}))

    async def create_sign_in_token(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        check_types(body, {"user_id": STRING, "org_id": STRING, "expires_in_seconds": INTEGER})
        user_id = self._existing_user(body.get("user_id"), 404)
        org_id = body.get("org_id")
        if org_id and user_id not in self.store.memberships.get(org_id, {}):
            raise ApiError(
                422,
                "form_param_value_invalid",
                "The user is not a member of that organization.",
                long_message=f"{user_id} is no member of {org_id!r}; only an organization of "
                "the user's can be activated at sign-in.",
                param_name="org_id",
            )
        lifetime = self._lifetime(body, "expires_in_seconds", SIGN_IN_TOKEN_LIFETIME)
        item = self._new(KIND_SIGN_IN, "sit", user_id, lifetime)
        # A sign-in page reads the ticket from ``__clerk_ticket``; the stand-in's
        # accept route takes that name as well as the Frontend API's ``ticket``.
        item["url"] = self._accept_url("__clerk_ticket", item["token"])
        self._store(item, lifetime, None, org_id)
        return item

    async def create_actor_token(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        check_types(
            body,
            {
                "user_id": STRING,
                "actor": OBJECT,
                "expires_in_seconds": INTEGER,
                "session_max_duration_in_seconds": INTEGER,
            },
        )
        user_id = self._existing_user(body.get("user_id"), 422)
        actor = body.get("actor")
        if not isinstance(actor, dict) or not isinstance(actor.get("sub"), str) or not actor["sub"]:
            raise ApiError(
                422,
                "form_param_missing",
                "actor.sub is missing",
                long_message="The actor needs a sub: the ID of the user who impersonates.",
                param_name="actor.sub",
            )
        lifetime = self._lifetime(body, "expires_in_seconds", ACTOR_TOKEN_LIFETIME)
        session_lifetime = self._lifetime(
            body, "session_max_duration_in_seconds", ACTOR_SESSION_LIFETIME
        )
        item = self._new(KIND_ACTOR, "act", user_id, lifetime)
        item["actor"] = dict(actor)
        item["url"] = self._accept_url("ticket", item["token"])
        self._store(item, lifetime, session_lifetime, None)
        return item

    def _store(
        self, item: JSON, lifetime: int, session_lifetime: int | None, org_id: str | None
    ) -> None:
        self.items[item["id"]] = item
        lapses = item["created_at"] + lifetime * 1000
        self._terms[item["id"]] = (
            lapses,
            None if session_lifetime is None else session_lifetime * 1000,
            org_id,
        )

    def _revoke(self, token_id: str, kind: str) -> JSON:
        item = self.items.get(token_id)
        if item is None or item["object"] != kind:
            raise not_found(kind.replace("_", " "))
        if item["status"] != "pending":
            raise ApiError(
                400,
                f"{kind}_cannot_be_revoked",
                f"This {kind.replace('_', ' ')} cannot be revoked.",
                long_message=f"Only a pending {kind.replace('_', ' ')} can be revoked; "
                f"this one is {item['status']}.",
            )
        item["status"] = "revoked"
        item["updated_at"] = self.store.now()
        return item

    async def revoke_sign_in_token(self, request: web.Request) -> JSON:
        return self._revoke(request.match_info["sign_in_token_id"], KIND_SIGN_IN)

    async def revoke_actor_token(self, request: web.Request) -> JSON:
        return self._revoke(request.match_info["actor_token_id"], KIND_ACTOR)

    async def create_testing_token(self, request: web.Request) -> JSON:
        now = self.store.now() // 1000
        return {
            "object": "testing_token",
            "token": f"{now}-{secrets.token_urlsafe(30)}",
            "expires_at": now + TESTING_TOKEN_LIFETIME,
        }

    # -- redeeming -------------------------------------------------------------------

    def redeem(self, ticket: str) -> tuple[JSON, str]:
        """Sign in with ``ticket`` (once): ``(the new session, its __client cookie)``."""
        try:
            claims = jwt.decode(
                ticket,
                self.api.key.public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise ticket_error("ticket_invalid", "The ticket is not valid.") from None
        item = self.items.get(str(claims.get("sid")))
        if item is None or item["object"] != claims.get("st"):
            raise ticket_error("ticket_invalid", "The ticket is not valid.")
        kind = item["object"].replace("_", " ")
        if item["status"] != "pending":
            raise ticket_error(
                "ticket_invalid",
                "The ticket is no longer valid.",
                f"Its {kind} is {item['status']}; a ticket signs in once.",
            )
        lapses, session_ms, org_id = self._terms[item["id"]]
        now = self.store.now()
        if now >= lapses:
            raise ticket_error("ticket_expired", "The ticket has expired.", f"Its {kind} lapsed.")
        user = self.store.user(item["user_id"])
        if user["banned"]:
            raise ApiError(403, "user_banned", "The user is banned.")
        if user["locked"]:
            raise ApiError(423, "user_locked", "The user is locked.")
        if org_id and user["id"] not in self.store.memberships.get(org_id, {}):
            org_id = None  # the membership ended since the token was made
        session = self.store.start_session(
            user["id"],
            organization_id=org_id,
            expire_in_ms=session_ms if session_ms is not None else 7 * 86_400_000,
        )
        if item["object"] == KIND_ACTOR:
            session["actor"] = dict(item["actor"])
            self.api.frontend.session_claims[session["id"]] = {"act": dict(item["actor"])}
        cookie = self.api.frontend.remember_client(session["client_id"])
        user["last_sign_in_at"] = user["last_active_at"] = session["created_at"]
        item["status"] = "accepted"
        item["updated_at"] = self.store.now()
        return session, cookie
