"""What changes a user's way of signing in, over the users and sessions the store keeps:
second factors, the password, bans of many users at once, the access tokens of their
linked OAuth accounts, and a session's refresh.

* ``DELETE /users/{id}/mfa`` takes away every second factor (TOTP, backup codes and
  the phone numbers reserved for it); ``/totp`` and ``/backup_code`` one of them.
  Each answers ``{"user_id": ...}``, also when there was nothing to remove.
* ``POST /users/{id}/verify_totp`` checks a code of the TOTP secret given to
  ``users.create``/``users.update`` (``totp_secret``) or one of its plain backup codes
  (``backup_codes``; a code is used up once accepted).
* ``POST /users/{id}/remove_password`` and ``password/set_compromised`` may revoke the
  user's active sessions (``sign_out_of_other_sessions``, ``revoke_all_sessions``).
* ``GET /users/{id}/oauth_access_tokens/{provider}`` answers one token per account
  linked with ``Emulator.link_external_account`` at that provider (``oauth_google``
  or ``google``), the same token on every call until it expires an hour later.
* ``POST /sessions/{id}/refresh`` takes a token the emulator signed for that session
  (expired or not) and answers a new session token, refusing a session that is not
  active; a token of another session or not of this instance is a 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from typing import TYPE_CHECKING

import jwt
from aiohttp import web

from ._behaviour import Handler, RouteEntry
from ._generic import Listing
from ._store import JSON, ApiError, param_missing, refresh_two_factor
from ._webhooks import SUBJECT

if TYPE_CHECKING:
    from ._app import Api

#: The TOTP step (seconds); codes have 6 digits and use SHA-1, as Clerk's do.
TOTP_PERIOD = 30


def totp(secret: str, step: int) -> str:
    """The RFC 6238 code of the base32 ``secret`` for time step ``step``."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


#: How long an emulated OAuth access token lasts (milliseconds).
ACCESS_TOKEN_LIFETIME_MS = 3_600_000


class Accounts:
    """Second factors, passwords, bulk bans, OAuth access tokens and session refresh."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        # external account id -> its current access token JSON
        self._access_tokens: dict[str, JSON] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("DELETE", "/v1/users/{user_id}/mfa", self.disable_mfa),
            ("DELETE", "/v1/users/{user_id}/totp", self.delete_totp),
            ("DELETE", "/v1/users/{user_id}/backup_code", self.delete_backup_codes),
            ("POST", "/v1/users/{user_id}/verify_totp", self.verify_totp),
            ("POST", "/v1/users/{user_id}/remove_password", self.remove_password),
            ("POST", "/v1/users/{user_id}/password/set_compromised", self.set_compromised),
            ("POST", "/v1/users/{user_id}/password/unset_compromised", self.unset_compromised),
            ("POST", "/v1/users/ban", self.ban_many(True)),
            ("POST", "/v1/users/unban", self.ban_many(False)),
            ("GET", "/v1/users/{user_id}/oauth_access_tokens/{provider}", self.access_tokens),
            ("POST", "/v1/sessions/{session_id}/refresh", self.refresh),
        ]

    # -- second factors --------------------------------------------------------------

    def _second_factors(
        self, request: web.Request, *, totp: bool, codes: bool, phones: bool
    ) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        if totp:
            user["totp_enabled"] = False
            self.store.totp_secrets.pop(user["id"], None)
        if codes:
            user["backup_code_enabled"] = False
            self.store.backup_codes.pop(user["id"], None)
        if phones:
            for phone in user["phone_numbers"]:
                phone["reserved_for_second_factor"] = False
                phone["default_second_factor"] = False
        now = self.store.now()
        refresh_two_factor(user, now)
        user["updated_at"] = now
        request[SUBJECT] = user  # the webhook event is user.updated
        return {"user_id": user["id"]}

    async def disable_mfa(self, request: web.Request) -> JSON:
        return self._second_factors(request, totp=True, codes=True, phones=True)

    async def delete_totp(self, request: web.Request) -> JSON:
        return self._second_factors(request, totp=True, codes=False, phones=False)

    async def delete_backup_codes(self, request: web.Request) -> JSON:
        return self._second_factors(request, totp=False, codes=True, phones=False)

    async def verify_totp(self, request: web.Request) -> JSON:
        """A code of the user's TOTP (the current 30-second step or either neighbour, by
        the emulator's clock), else one of their backup codes (used up by the check)."""
        user = self.store.user(request.match_info["user_id"])
        body = await self.api.body(request)
        code = body.get("code")
        if not isinstance(code, str) or not code:
            raise param_missing("code")
        secret = self.store.totp_secrets.get(user["id"])
        if secret is not None:
            step = int(self.store.clock.now()) // TOTP_PERIOD
            if any(hmac.compare_digest(totp(secret, step + d), code) for d in (-1, 0, 1)):
                return {"verified": True, "code_type": "totp"}
        codes = self.store.backup_codes.get(user["id"], set())
        if code in codes:
            codes.discard(code)
            return {"verified": True, "code_type": "backup_code"}
        if secret is None and not codes:
            raise ApiError(
                422,
                "totp_not_enabled",
                "The user has neither TOTP nor backup codes.",
                param_name="code",
            )
        raise ApiError(422, "form_code_incorrect", "Incorrect code.", param_name="code")

    # -- passwords -------------------------------------------------------------------

    async def remove_password(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        body = await self.api.body(request)
        self.store.clear_password(user["id"])
        user["password_enabled"] = False
        if body.get("sign_out_of_other_sessions"):
            self.store.end_sessions(user["id"])
        user["updated_at"] = self.store.now()
        return user

    async def set_compromised(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        body = await self.api.body(request)
        if not user["password_enabled"]:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "The user has no password.",
                long_message="Only a user with a password can have it marked compromised.",
                param_name="user_id",
            )
        self.store.compromised.add(user["id"])
        if body.get("revoke_all_sessions"):
            self.store.end_sessions(user["id"])
        user["updated_at"] = self.store.now()
        return user

    async def unset_compromised(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        self.store.compromised.discard(user["id"])
        user["updated_at"] = self.store.now()
        return user

    # -- bans of many users ----------------------------------------------------------

    def ban_many(self, banned: bool) -> Handler:
        async def handler(request: web.Request) -> list[JSON]:
            body = await self.api.body(request)
            ids = body.get("user_ids") or []
            # Every user first: one unknown ID changes nobody.
            users = [self.store.user(user_id) for user_id in dict.fromkeys(ids)]
            now = self.store.now()
            for user in users:
                user["banned"] = banned
                user["updated_at"] = now
                if banned:
                    self.store.end_sessions(user["id"])
            return users

        return handler

    # -- OAuth access tokens ---------------------------------------------------------

    async def access_tokens(self, request: web.Request) -> Listing:
        user = self.store.user(request.match_info["user_id"])
        provider = request.match_info["provider"]
        wanted = {provider, "oauth_" + provider.removeprefix("oauth_")}
        now = self.store.now()
        tokens: list[JSON] = []
        for account in user["external_accounts"]:
            if account["provider"] not in wanted:
                continue
            token = self._access_tokens.get(account["id"])
            if token is None or token["expires_at"] <= now:
                token = {
                    "object": "oauth_access_token",
                    "external_account_id": account["id"],
                    "provider_user_id": account["provider_user_id"],
                    "token": self.store.ids.new("oauth_access"),
                    "expires_at": now + ACCESS_TOKEN_LIFETIME_MS,
                    "provider": account["provider"],
                    "public_metadata": dict(account.get("public_metadata") or {}),
                    "label": account.get("label"),
                    "scopes": str(account.get("approved_scopes") or "").split(),
                }
                self._access_tokens[account["id"]] = token
            tokens.append(token)
        limit, offset = self.api.paging(request)
        return Listing(tokens[offset : offset + limit], len(tokens))

    # -- session refresh -------------------------------------------------------------

    async def refresh(self, request: web.Request) -> JSON:
        session = self.api.session(request.match_info["session_id"])
        body = await self.api.body(request)
        expired = body.get("expired_token")
        try:
            claims = jwt.decode(
                str(expired),
                self.api.key.public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise _refusal("The expired token is not a token of this instance.") from None
        if claims.get("sid") != session["id"]:
            raise _refusal("The expired token belongs to another session.")
        self.api.check_active(session)
        origin = body.get("request_origin") or None
        token = self.api.mint(session, azp=origin)
        session["last_active_at"] = session["updated_at"] = self.store.now()
        if body.get("format") == "cookie":
            return {
                "object": "cookies",
                "cookies": [f"__session={token}; Path=/; Secure; SameSite=Lax"],
            }
        return {"object": "token", "jwt": token}


def _refusal(why: str) -> ApiError:
    # A 401 tells Clerk's SDKs to fall back to the handshake.
    return ApiError(
        401,
        "session_refresh_invalid",
        "The session cannot be refreshed.",
        long_message=why,
        param_name="expired_token",
    )
