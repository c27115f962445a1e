"""API keys (``/v1/api_keys``): keys a user or organization hands to its own clients.

A key belongs to a ``subject`` (``user_…`` or ``org_…``, which must exist;
``mch_…`` and ``scim_…`` subjects are taken as given). Its secret (``ak_…``) is
answered once, by the create, and afterwards only by ``GET …/secret``: every other
answer leaves it out, as Clerk's do.

A key stops verifying when it is revoked, when the emulator's clock passes its
expiration, when it is deleted, or when its user or organization is; ``POST /v1/api_keys/verify`` then answers 404,
as for a secret it never issued (Clerk's SDKs treat any 200 as a valid key, so a
refused key never gets one). Each successful verification stamps ``last_used_at``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import string
from typing import TYPE_CHECKING

from aiohttp import web

from ._behaviour import RouteEntry
from ._store import JSON, ApiError, not_found, param_invalid

if TYPE_CHECKING:
    from ._app import Api

_SECRET_ALPHABET = string.ascii_letters + string.digits


def hex_id(api: Api, prefix: str) -> str:
    """``prefix_`` and 32 hex digits, deterministic for the emulator's seed."""
    return prefix + "_" + hashlib.sha256(api.store.ids.new(prefix).encode()).hexdigest()[:32]


def new_secret(prefix: str) -> str:
    """A fresh secret: ``prefix_`` and 32 random letters and digits."""
    return prefix + "_" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


def _number_paging(limit: str, offset: str) -> tuple[int, int]:
    """``limit`` and ``offset`` of this group, which the spec types as numbers: Clerk's
    Python SDK sends ``limit=10.0`` (the spec has bounded them by now)."""
    try:
        numbers = float(limit), float(offset)
    except ValueError:
        numbers = (math.nan, math.nan)
    if not all(n.is_integer() for n in numbers):
        raise param_invalid("limit", "limit and offset must be whole numbers.")
    return int(numbers[0]), int(numbers[1])


class ApiKeys:
    """The instance's API keys."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.items: dict[str, JSON] = {}
        # secret -> key id, and key id -> secret; the secret never sits in the key's JSON
        self._by_secret: dict[str, str] = {}
        self._secrets: dict[str, str] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("GET", "/v1/api_keys", self.list),
            ("POST", "/v1/api_keys", self.create),
            ("POST", "/v1/api_keys/verify", self.verify),
            ("GET", "/v1/api_keys/{key_id}", self.get),
            ("PATCH", "/v1/api_keys/{key_id}", self.update),
            ("DELETE", "/v1/api_keys/{key_id}", self.delete),
            ("GET", "/v1/api_keys/{key_id}/secret", self.secret),
            ("POST", "/v1/api_keys/{key_id}/revoke", self.revoke),
        ]

    # -- state -----------------------------------------------------------------------

    def key(self, key_id: str) -> JSON:
        item = self.items.get(key_id)
        if item is None:
            raise not_found("API key")
        return self.view(item)

    def view(self, item: JSON) -> JSON:
        """``item`` with ``expired`` judged by the emulator's clock now."""
        expiration = item["expiration"]
        item["expired"] = expiration is not None and expiration <= self.store.clock.now_ms()
        return item

    def valid(self, item: JSON) -> bool:
        return (
            not self.view(item)["revoked"]
            and not item["expired"]
            and self.subject_exists(item["subject"])
        )

    def subject_exists(self, subject: str) -> bool:
        """False for a user or organization that is gone (deleted since)."""
        kind, _, _ = subject.partition("_")
        known = {"user": self.store.users, "org": self.store.organizations}.get(kind)
        return known is None or subject in known

    def check_subject(self, subject: str) -> None:
        """Refuse a user or organization subject the instance does not have."""
        if not self.subject_exists(subject):
            kind = subject.partition("_")[0]
            raise ApiError(
                400,
                "resource_not_found",
                "subject not found",
                long_message=f"No {'user' if kind == 'user' else 'organization'} "
                f"{subject} exists to own the API key.",
                param_name="subject",
            )

    def expiration(self, seconds: float | None) -> int | None:
        """The expiry (epoch milliseconds) ``seconds`` from now; None for never."""
        if seconds is None:
            return None
        return self.store.clock.now_ms() + round(seconds * 1000)

    # -- the operations --------------------------------------------------------------

    async def list(self, request: web.Request) -> JSON:
        query = request.query
        limit, offset = _number_paging(query.get("limit", "10"), query.get("offset", "0"))
        subject = query["subject"]  # required, checked against the spec already
        kind = query.get("type", "api_key")
        include_invalid = query.get("include_invalid") == "true"
        text = query.get("query", "").casefold()
        items = [
            self.view(item)
            for item in self.items.values()
            if item["subject"] == subject
            and item["type"] == kind
            and (include_invalid or self.valid(item))
            and text in item["name"].casefold()
        ]
        items.sort(key=lambda k: k["created_at"], reverse=True)  # newest first
        # an envelope always (not a bare array that ?paginated=true wraps)
        return {"data": items[offset : offset + limit], "total_count": len(items)}

    async def create(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        subject, name = body["subject"], body["name"]
        self.check_subject(subject)
        created_by = body.get("created_by")
        if created_by is not None and created_by not in self.store.users:
            raise ApiError(
                400,
                "resource_not_found",
                "created_by not found",
                long_message=f"No user {created_by} exists.",
                param_name="created_by",
            )
        kind = body.get("type") or "api_key"
        if any(
            k["subject"] == subject and k["name"] == name and k["type"] == kind and self.valid(k)
            for k in self.items.values()
        ):
            raise ApiError(
                409,
                "duplicate_record",
                "An API key with this name already exists",
                long_message=f"{subject} already has a valid API key named {name!r}.",
                param_name="name",
            )
        now = self.store.now()
        item: JSON = {
            "object": "api_key",
            "id": hex_id(self.api, "ak"),
            "type": kind,
            "subject": subject,
            "name": name,
            "description": body.get("description"),
            "claims": body.get("claims"),
            "scopes": list(body.get("scopes") or []),
            "revoked": False,
            "revocation_reason": None,
            "expired": False,
            "expiration": self.expiration(body.get("seconds_until_expiration")),
            "created_by": created_by,
            "last_used_at": None,
            "created_at": now,
            "updated_at": now,
        }
        secret = new_secret("ak")
        self.items[item["id"]] = item
        self._secrets[item["id"]] = secret
        self._by_secret[secret] = item["id"]
        return {**item, "secret": secret}

    async def get(self, request: web.Request) -> JSON:
        return self.key(request.match_info["key_id"])

    async def update(self, request: web.Request) -> JSON:
        item = self.key(request.match_info["key_id"])
        body = await self.api.body(request)
        if "subject" in body:
            self.check_subject(body["subject"])
            item["subject"] = body["subject"]
        for field in ("description", "claims"):
            if field in body:
                item[field] = body[field]
        if "scopes" in body:
            item["scopes"] = list(body["scopes"])
        if "seconds_until_expiration" in body:
            item["expiration"] = self.expiration(body["seconds_until_expiration"])
        item["updated_at"] = self.store.now()
        return self.view(item)

    async def delete(self, request: web.Request) -> JSON:
        item = self.key(request.match_info["key_id"])
        del self.items[item["id"]]
        self._by_secret.pop(self._secrets.pop(item["id"]), None)
        return {"object": "api_key", "id": item["id"], "deleted": True}

    async def secret(self, request: web.Request) -> JSON:
        item = self.key(request.match_info["key_id"])
        return {"secret": self._secrets[item["id"]]}

    async def revoke(self, request: web.Request) -> JSON:
        item = self.key(request.match_info["key_id"])
        body = await self.api.body(request)
        item["revoked"] = True
        item["revocation_reason"] = body.get("revocation_reason")
        item["updated_at"] = self.store.now()
        return item

    async def verify(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        key_id = self._by_secret.get(body["secret"])
        item = self.items.get(key_id) if key_id is not None else None
        if item is None or not self.valid(item):
            why = (
                "is not an API key secret of this instance"
                if item is None
                else "belongs to a revoked API key"
                if item["revoked"]
                else "belongs to an expired API key"
                if item["expired"]
                else "belongs to an API key whose subject was deleted"
            )
            raise ApiError(
                404,
                "resource_not_found",
                "API key not found",
                long_message=f"The secret {why}.",
                param_name="secret",
            )
        item["last_used_at"] = self.store.now()
        return item
