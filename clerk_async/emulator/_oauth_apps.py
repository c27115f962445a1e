"""OAuth applications (``/v1/oauth_applications``) and their opaque access tokens.

An application has a public ``client_id`` and, unless it is ``public``, a client
secret that is answered only by the create and by ``rotate_secret`` (a public
client's is ``""``); rotating makes the previous secret stop working.

Access tokens (``oat_…``) are what the instance's authorization server would hand an
application for a user; the emulator has no browser flow, so tests issue them with
``Emulator.issue_oauth_token(...)`` (:meth:`OAuthApps.issue`). A token verifies
(``POST /v1/oauth_applications/access_tokens/verify``) until it expires by the
emulator's clock, is revoked (``POST …/{id}/revoke_token`` revokes every token of
the same grant: the same application and user), or its application or user is
deleted;
after that it answers 404 like a token never issued.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from ._api_keys import hex_id, new_secret
from ._behaviour import RouteEntry
from ._store import JSON, ApiError, not_found

if TYPE_CHECKING:
    from ._app import Api

INSTANCE_ID = "ins_emulator"
DEFAULT_SCOPES = "profile email"
LOGO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
#: The lifetime (seconds) of an access token issued without one.
DEFAULT_TOKEN_LIFETIME = 3600


class OAuthApps:
    """The instance's OAuth applications and the access tokens issued to them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.items: dict[str, JSON] = {}
        # application id -> its client secret ("" for a public client)
        self._secrets: dict[str, str] = {}
        # the access token -> its description (the token itself is never in it)
        self.tokens: dict[str, JSON] = {}
        # token description id -> the application id it was issued to
        self._token_apps: dict[str, str] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("GET", "/v1/oauth_applications", self.list),
            ("POST", "/v1/oauth_applications", self.create),
            ("POST", "/v1/oauth_applications/access_tokens/verify", self.verify),
            ("GET", "/v1/oauth_applications/{app_id}", self.get),
            ("PATCH", "/v1/oauth_applications/{app_id}", self.update),
            ("DELETE", "/v1/oauth_applications/{app_id}", self.delete),
            ("POST", "/v1/oauth_applications/{app_id}/rotate_secret", self.rotate_secret),
            ("POST", "/v1/oauth_applications/{app_id}/revoke_token", self.revoke_token),
            ("PUT", "/v1/oauth_applications/{app_id}/logo", self.upload_logo),
        ]

    # -- applications ----------------------------------------------------------------

    def application(self, app_id: str) -> JSON:
        item = self.items.get(app_id)
        if item is None:
            raise not_found("OAuth application")
        return item

    def by_client_id(self, client_id: str) -> JSON | None:
        return next((a for a in self.items.values() if a["client_id"] == client_id), None)

    def check_secret(self, client_id: str, client_secret: str) -> bool:
        """Whether ``client_secret`` is the current secret of the confidential client
        ``client_id`` (a public client has none to match)."""
        app = self.by_client_id(client_id)
        if app is None or app["public"]:
            return False
        return hmac.compare_digest(self._secrets[app["id"]], client_secret)

    async def list(self, request: web.Request) -> JSON:
        limit, offset = self.api.paging(request)
        order = request.query.get("order_by", "-created_at")
        field = order.lstrip("+-")
        if field not in ("created_at", "name"):
            raise ApiError(
                422,
                "form_param_value_invalid",
                "order_by is invalid",
                long_message="Order OAuth applications by created_at or name, with an "
                "optional + or - before it.",
                param_name="order_by",
            )
        text = request.query.get("name_query", "")
        items = [
            a
            for a in self.items.values()
            if not text or text.casefold() in a["name"].casefold() or a["client_id"] == text
        ]
        items.sort(
            key=lambda a: a[field].casefold() if field == "name" else a[field],
            reverse=order.startswith("-"),
        )
        # an envelope always (not a bare array that ?paginated=true wraps)
        return {"data": items[offset : offset + limit], "total_count": len(items)}

    async def get(self, request: web.Request) -> JSON:
        return self.application(request.match_info["app_id"])

    async def create(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        now = self.store.now()
        base = self.api.issuer
        item: JSON = {
            "object": "oauth_application",
            "id": self.store.ids.new("oa"),
            "instance_id": INSTANCE_ID,
            "client_id": new_secret("client")[len("client_") :][:16],
            "client_uri": None,
            "client_image_url": None,
            "dynamically_registered": False,
            "consent_screen_enabled": True,
            "pkce_required": False,
            "public": False,
            "scopes": DEFAULT_SCOPES,
            "redirect_uris": [],
            "callback_url": "",
            "authorize_url": f"{base}/oauth/authorize",
            "token_fetch_url": f"{base}/oauth/token",
            "user_info_url": f"{base}/oauth/userinfo",
            "discovery_url": f"{base}/.well-known/oauth-authorization-server",
            "token_introspection_url": f"{base}/oauth/token_info",
            "created_at": now,
            "updated_at": now,
        }
        self._apply(item, body)
        self.items[item["id"]] = item
        return self._with_new_secret(item)

    async def update(self, request: web.Request) -> JSON:
        item = self.application(request.match_info["app_id"])
        body = await self.api.body(request)
        was_public = item["public"]
        self._apply(item, body)
        if item["public"] != was_public:
            # a client that turns public loses its secret; one that turns
            # confidential gets one by rotate_secret
            self._secrets[item["id"]] = "" if item["public"] else new_secret("sec")
        item["updated_at"] = self.store.now()
        return item

    async def delete(self, request: web.Request) -> JSON:
        item = self.application(request.match_info["app_id"])
        del self.items[item["id"]]
        del self._secrets[item["id"]]
        for token, info in list(self.tokens.items()):
            if self._token_apps[info["id"]] == item["id"]:
                del self.tokens[token]
                del self._token_apps[info["id"]]
        return {"object": "oauth_application", "id": item["id"], "deleted": True}

    async def rotate_secret(self, request: web.Request) -> JSON:
        item = self.application(request.match_info["app_id"])
        item["updated_at"] = self.store.now()
        return self._with_new_secret(item)

    async def upload_logo(self, request: web.Request) -> JSON:
        item = self.application(request.match_info["app_id"])
        form = await request.post() if request.content_type == "multipart/form-data" else {}
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise ApiError(
                400,
                "form_param_missing",
                "file is missing",
                long_message="Upload the logo as the multipart field file.",
                param_name="file",
            )
        if upload.content_type not in LOGO_TYPES:
            raise ApiError(
                400,
                "form_param_value_invalid",
                "file is not a supported image",
                long_message="Upload a JPEG, PNG, GIF or WebP image.",
                param_name="file",
            )
        item["client_image_url"] = f"https://img.clerk.emulator.invalid/oauth/{item['id']}"
        item["updated_at"] = self.store.now()
        return item

    def _with_new_secret(self, item: JSON) -> JSON:
        secret = "" if item["public"] else new_secret("sec")
        self._secrets[item["id"]] = secret
        return {**item, "client_secret": secret}

    def _apply(self, item: JSON, body: JSON) -> None:
        """Set the fields ``body`` gives (create or partial update) on ``item``."""
        if "name" in body and body["name"] is not None:
            name = body["name"]
            if not name.strip() or len(name) > 256:
                raise ApiError(
                    422,
                    "form_param_value_invalid",
                    "name is invalid",
                    long_message="An OAuth application's name is 1 to 256 characters.",
                    param_name="name",
                )
            item["name"] = name
        uris = body.get("redirect_uris")
        callback = body.get("callback_url")
        if uris is not None:
            item["redirect_uris"] = list(uris)
        elif callback is not None:
            # the deprecated single URL stands for a one-item list
            item["redirect_uris"] = [callback] if callback else []
        for uri in item["redirect_uris"]:
            scheme, sep, rest = uri.partition("://")
            if not (sep and scheme and rest):
                raise ApiError(
                    422,
                    "form_param_format_invalid",
                    "redirect_uris holds an invalid URL",
                    long_message=f"{uri!r} is not a URL (any scheme, such as myapp://, is "
                    "allowed).",
                    param_name="redirect_uris",
                )
        item["callback_url"] = item["redirect_uris"][0] if item["redirect_uris"] else ""
        if body.get("scopes") is not None:
            item["scopes"] = " ".join(body["scopes"].split())
        for field in ("consent_screen_enabled", "pkce_required", "public"):
            if body.get(field) is not None:
                item[field] = bool(body[field])

    # -- access tokens ---------------------------------------------------------------

    def issue(
        self,
        application: str,
        user_id: str,
        *,
        scopes: Sequence[str] | None = None,
        expires_in: int = DEFAULT_TOKEN_LIFETIME,
        client_secret: str | None = None,
    ) -> str:
        """An opaque access token of ``application`` (its id or client id) for
        ``user_id``; see :meth:`clerk_async.emulator.Emulator.issue_oauth_token`."""
        app = self.items.get(application) or self.by_client_id(application)
        if app is None:
            raise LookupError(f"no OAuth application {application!r}")
        if user_id not in self.store.users:
            raise LookupError(f"no user {user_id!r}")
        if client_secret is not None and not self.check_secret(app["client_id"], client_secret):
            raise PermissionError("the client secret is not the application's current one")
        allowed = app["scopes"].split()
        granted = list(allowed if scopes is None else scopes)
        extra = [s for s in granted if s not in allowed]
        if extra:
            raise ValueError(f"scopes {extra} are not allowed for this application")
        if expires_in <= 0:
            raise ValueError("expires_in must be a positive number of seconds")
        now = self.store.now()
        info: JSON = {
            "object": "clerk_idp_oauth_access_token",
            "id": hex_id(self.api, "oat"),
            "client_id": app["client_id"],
            "subject": user_id,
            "scopes": granted,
            "revoked": False,
            "revocation_reason": None,
            "expired": False,
            "expiration": self.store.clock.now_ms() + expires_in * 1000,
            "created_at": now,
            "updated_at": now,
        }
        token = new_secret("oat")
        self.tokens[token] = info
        self._token_apps[info["id"]] = app["id"]
        return token

    def _expired(self, info: JSON) -> bool:
        info["expired"] = info["expiration"] <= self.store.clock.now_ms()
        return bool(info["expired"])

    async def verify(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        token = body.get("access_token") or body.get("secret")
        if not isinstance(token, str) or not token:
            raise ApiError(
                400,
                "form_param_missing",
                "access_token is missing",
                long_message="Send the token to verify as access_token.",
                param_name="access_token",
            )
        info = self.tokens.get(token)
        if info is not None and info["subject"] not in self.store.users:
            info = None  # the user is gone, and the grant with them
        if info is None or info["revoked"] or self._expired(info):
            why = (
                "was not issued by this instance"
                if info is None
                else "was revoked"
                if info["revoked"]
                else "has expired"
            )
            raise ApiError(
                404,
                "resource_not_found",
                "OAuth access token not found",
                long_message=f"The access token {why}.",
                param_name="access_token",
            )
        return info

    async def revoke_token(self, request: web.Request) -> None:
        app = self.application(request.match_info["app_id"])
        body = await self.api.body(request)
        info = self.tokens.get(body["token"])
        if info is None or self._token_apps[info["id"]] != app["id"]:
            raise ApiError(
                404,
                "resource_not_found",
                "token not found",
                long_message="The token was not issued to this OAuth application.",
                param_name="token",
            )
        now = self.store.now()
        for other in self.tokens.values():
            same_grant = (
                self._token_apps[other["id"]] == app["id"] and other["subject"] == info["subject"]
            )
            if same_grant and not other["revoked"]:
                other.update(revoked=True, revocation_reason="revoked", updated_at=now)
        return None
