"""A user's email addresses, phone numbers, web3 wallets, passkeys, external accounts
and profile image, changed through their own routes and kept on the user itself.

Rules, where Clerk's documentation leaves room:

* An email address belongs to one user at most (compared without case), a phone
  number likewise (compared as given): taking one that is held is a 422
  ``form_identifier_exists`` naming it.
* A new address or number becomes the primary one when asked (``primary``) or when
  the user has none; otherwise the primary stays as it was.
* Deleting the primary one makes the oldest one left the primary (or none).
* A phone number reserved for the second factor must be verified; the first one
  reserved becomes the default second factor, and the user's ``two_factor_enabled``
  follows (``_store.refresh_two_factor``).
* ``verified: false`` leaves an item with an unverified one-time-code verification.
* ``prepare_verification`` starts a verification whose code is always ``424242``
  (Clerk's test code), valid for ten minutes; ``attempt_verification`` counts each
  try, fails the verification after three wrong codes and marks the item verified
  on the right one.
* Users have no trusted devices (only Clerk's mobile sign-ins make them).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aiohttp import web

from ._behaviour import Handler, RouteEntry
from ._store import (
    BOOLEAN,
    JSON,
    STRING,
    ApiError,
    admin_verification,
    check_types,
    not_found,
    param_invalid,
    param_missing,
    refresh_two_factor,
)
from ._webhooks import SUBJECT

if TYPE_CHECKING:
    from ._app import Api

#: What a user's ``image_url`` is before an image is uploaded and after it is deleted.
DEFAULT_IMAGE_URL = "https://img.clerk.com/emulated"
#: The one-time code every emulated verification accepts (Clerk's test code).
TEST_CODE = "424242"
#: Wrong codes after which a verification fails, and how long a code lasts.
MAX_ATTEMPTS = 3
VERIFICATION_LIFETIME_MS = 10 * 60_000
_E164 = re.compile(r"\+[1-9]\d{1,14}")

EMAIL_FIELDS = {"user_id": STRING, "email_address": STRING, "verified": BOOLEAN, "primary": BOOLEAN}
PHONE_FIELDS = {
    "user_id": STRING,
    "phone_number": STRING,
    "verified": BOOLEAN,
    "primary": BOOLEAN,
    "reserved_for_second_factor": BOOLEAN,
}


def verification(verified: bool, strategy: str) -> JSON:
    if verified:
        return admin_verification()
    return {
        "object": "verification_otp",
        "status": "unverified",
        "strategy": strategy,
        "attempts": None,
        "expire_at": None,
    }


def is_verified(item: JSON) -> bool:
    return bool((item.get("verification") or {}).get("status") == "verified")


def _deleted(kind: str, item_id: str) -> JSON:
    return {"object": kind, "id": item_id, "deleted": True}


class Identifiers:
    """Email addresses, phone numbers and the other items a user holds."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        # verification id -> the verification JSON and the id of the item it verifies
        self._verifications: dict[str, tuple[JSON, str]] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("POST", "/v1/email_addresses", self.create_email),
            ("GET", "/v1/email_addresses/{email_address_id}", self.get_email),
            ("PATCH", "/v1/email_addresses/{email_address_id}", self.update_email),
            ("DELETE", "/v1/email_addresses/{email_address_id}", self.delete_email),
            ("PUT", "/v1/users/{user_id}/email_address", self.replace_email),
            (
                "POST",
                "/v1/email_addresses/{item_id}/prepare_verification",
                self.prepare("email_addresses", "email address", "email_code"),
            ),
            (
                "POST",
                "/v1/email_addresses/{item_id}/attempt_verification",
                self.attempt("email_addresses", "email address"),
            ),
            (
                "POST",
                "/v1/phone_numbers/{item_id}/prepare_verification",
                self.prepare("phone_numbers", "phone number", "phone_code"),
            ),
            (
                "POST",
                "/v1/phone_numbers/{item_id}/attempt_verification",
                self.attempt("phone_numbers", "phone number"),
            ),
            ("POST", "/v1/phone_numbers", self.create_phone),
            ("GET", "/v1/phone_numbers/{phone_number_id}", self.get_phone),
            ("PATCH", "/v1/phone_numbers/{phone_number_id}", self.update_phone),
            ("DELETE", "/v1/phone_numbers/{phone_number_id}", self.delete_phone),
            ("PUT", "/v1/users/{user_id}/phone_number", self.replace_phone),
            ("DELETE", "/v1/users/{user_id}/web3_wallets/{item_id}", self.delete_wallet),
            ("DELETE", "/v1/users/{user_id}/passkeys/{item_id}", self.delete_passkey),
            (
                "DELETE",
                "/v1/users/{user_id}/external_accounts/{item_id}",
                self.delete_external_account,
            ),
            ("POST", "/v1/users/{user_id}/profile_image", self.set_profile_image),
            ("DELETE", "/v1/users/{user_id}/profile_image", self.delete_profile_image),
            ("GET", "/v1/users/{user_id}/trusted_devices", self.trusted_devices),
            (
                "DELETE",
                "/v1/users/{user_id}/trusted_devices/{trusted_device_id}",
                self.revoke_trusted_device,
            ),
        ]

    # -- shared ----------------------------------------------------------------------

    @staticmethod
    def _about(request: web.Request, user: JSON) -> None:
        """Name ``user`` as what the change's webhook event (``user.updated``) is about."""
        request[SUBJECT] = user

    def _owner(self, kind: str, item_id: str, what: str) -> tuple[JSON, JSON]:
        """The user holding the item ``item_id`` of ``kind`` and the item itself."""
        for user in self.store.users.values():
            for item in user[kind]:
                if item["id"] == item_id:
                    return user, item
        raise not_found(what)

    def _make_primary(self, user: JSON, field: str, item: JSON) -> None:
        user[field] = item["id"]

    def _remove(self, user: JSON, kind: str, field: str, item: JSON) -> None:
        user[kind] = [i for i in user[kind] if i["id"] != item["id"]]
        if user[field] == item["id"]:
            oldest = min(user[kind], key=lambda i: i["created_at"], default=None)
            user[field] = oldest["id"] if oldest else None
        user["updated_at"] = self.store.now()

    @staticmethod
    def _taken(what: str, param: str) -> ApiError:
        return ApiError(
            422,
            "form_identifier_exists",
            f"That {what} is taken. Please try another.",
            param_name=param,
        )

    # -- email addresses -------------------------------------------------------------

    def _check_email(self, address: object) -> str:
        if not isinstance(address, str) or not address:
            raise param_missing("email_address")
        local, _, domain = address.partition("@")
        if not local or not domain or " " in address:
            raise param_invalid("email_address", f"{address!r} is not a valid email address.")
        return address

    def _new_email(self, user: JSON, address: str, *, verified: bool, reserved: bool) -> JSON:
        now = self.store.now()
        item: JSON = {
            "id": self.store.ids.new("idn"),
            "object": "email_address",
            "email_address": address,
            "reserved": reserved,
            "verification": None if reserved else verification(verified, "email_code"),
            "linked_to": [],
            "created_at": now,
            "updated_at": now,
        }
        user["email_addresses"].append(item)
        self.store.emails[address.lower()] = user["id"]
        user["updated_at"] = now
        return item

    async def create_email(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        check_types(body, EMAIL_FIELDS)
        if not body.get("user_id"):
            raise param_missing("user_id")
        user = self.store.user(body["user_id"])
        address = self._check_email(body.get("email_address"))
        if address.lower() in self.store.emails:
            raise self._taken("email address", "email_address")
        self.api.restrictions.check("email_address", address)
        item = self._new_email(user, address, verified=bool(body.get("verified")), reserved=False)
        if body.get("primary") or not user["primary_email_address_id"]:
            self._make_primary(user, "primary_email_address_id", item)
        self._about(request, user)
        return item

    async def get_email(self, request: web.Request) -> JSON:
        return self._owner(
            "email_addresses", request.match_info["email_address_id"], "email address"
        )[1]

    async def update_email(self, request: web.Request) -> JSON:
        user, item = self._owner(
            "email_addresses", request.match_info["email_address_id"], "email address"
        )
        body = await self.api.body(request)
        check_types(body, EMAIL_FIELDS)
        if body.get("verified") is not None:
            item["verification"] = verification(bool(body["verified"]), "email_code")
        if body.get("primary"):
            self._make_primary(user, "primary_email_address_id", item)
        item["updated_at"] = user["updated_at"] = self.store.now()
        self._about(request, user)
        return item

    async def delete_email(self, request: web.Request) -> JSON:
        user, item = self._owner(
            "email_addresses", request.match_info["email_address_id"], "email address"
        )
        self._remove(user, "email_addresses", "primary_email_address_id", item)
        self.store.emails.pop(item["email_address"].lower(), None)
        self._about(request, user)
        return _deleted("email_address", item["id"])

    async def replace_email(self, request: web.Request) -> JSON:
        """The user's primary email address becomes the one given; the old one goes."""
        user = self.store.user(request.match_info["user_id"])
        body = await self.api.body(request)
        check_types(body, {"email_address": STRING, "identification_status": STRING})
        address = self._check_email(body.get("email_address"))
        holder = self.store.emails.get(address.lower())
        if holder is not None and holder != user["id"]:
            raise self._taken("email address", "email_address")
        if holder is None:
            self.api.restrictions.check("email_address", address)
        reserved = body.get("identification_status") == "reserved"
        old = user["primary_email_address_id"]
        item = next(
            (e for e in user["email_addresses"] if e["email_address"].lower() == address.lower()),
            None,
        ) or self._new_email(user, address, verified=True, reserved=reserved)
        self._make_primary(user, "primary_email_address_id", item)
        previous = next((e for e in user["email_addresses"] if e["id"] == old), None)
        if previous is not None and previous is not item:
            self._remove(user, "email_addresses", "primary_email_address_id", previous)
            self.store.emails.pop(previous["email_address"].lower(), None)
        self._about(request, user)
        return item

    # -- phone numbers ---------------------------------------------------------------

    def _check_phone(self, number: object) -> str:
        if not isinstance(number, str) or not number:
            raise param_missing("phone_number")
        if not _E164.fullmatch(number):
            raise param_invalid(
                "phone_number", f"{number!r} is not an E.164 phone number (+14155550100)."
            )
        return number

    def _phone_holder(self, number: str) -> str | None:
        for user in self.store.users.values():
            if any(p["phone_number"] == number for p in user["phone_numbers"]):
                return str(user["id"])
        return None

    def _new_phone(self, user: JSON, number: str, *, verified: bool, reserved: bool) -> JSON:
        now = self.store.now()
        item: JSON = {
            "id": self.store.ids.new("idn"),
            "object": "phone_number",
            "phone_number": number,
            "reserved_for_second_factor": False,
            "default_second_factor": False,
            "reserved": reserved,
            "verification": None if reserved else verification(verified, "phone_code"),
            "linked_to": [],
            "created_at": now,
            "updated_at": now,
        }
        user["phone_numbers"].append(item)
        user["updated_at"] = now
        return item

    def _reserve(self, user: JSON, item: JSON, reserve: bool) -> None:
        if reserve and not is_verified(item):
            raise param_invalid(
                "reserved_for_second_factor",
                "Only a verified phone number can be reserved for the second factor.",
            )
        item["reserved_for_second_factor"] = reserve
        if not reserve:
            item["default_second_factor"] = False
        elif not any(p["default_second_factor"] for p in user["phone_numbers"]):
            item["default_second_factor"] = True
        refresh_two_factor(user, self.store.now())

    async def create_phone(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        check_types(body, PHONE_FIELDS)
        if not body.get("user_id"):
            raise param_missing("user_id")
        user = self.store.user(body["user_id"])
        number = self._check_phone(body.get("phone_number"))
        if self._phone_holder(number) is not None:
            raise self._taken("phone number", "phone_number")
        self.api.restrictions.check("phone_number", number)
        if body.get("reserved_for_second_factor") and not body.get("verified"):
            raise param_invalid(
                "reserved_for_second_factor",
                "Only a verified phone number can be reserved for the second factor.",
            )
        item = self._new_phone(user, number, verified=bool(body.get("verified")), reserved=False)
        if body.get("primary") or not user["primary_phone_number_id"]:
            self._make_primary(user, "primary_phone_number_id", item)
        if body.get("reserved_for_second_factor"):
            self._reserve(user, item, True)
        self._about(request, user)
        return item

    async def get_phone(self, request: web.Request) -> JSON:
        return self._owner("phone_numbers", request.match_info["phone_number_id"], "phone number")[
            1
        ]

    async def update_phone(self, request: web.Request) -> JSON:
        user, item = self._owner(
            "phone_numbers", request.match_info["phone_number_id"], "phone number"
        )
        body = await self.api.body(request)
        check_types(body, PHONE_FIELDS)
        if body.get("verified") is not None:
            item["verification"] = verification(bool(body["verified"]), "phone_code")
            if not body["verified"] and item["reserved_for_second_factor"]:
                self._reserve(user, item, False)
        if body.get("primary"):
            self._make_primary(user, "primary_phone_number_id", item)
        if body.get("reserved_for_second_factor") is not None:
            self._reserve(user, item, bool(body["reserved_for_second_factor"]))
        item["updated_at"] = user["updated_at"] = self.store.now()
        self._about(request, user)
        return item

    async def delete_phone(self, request: web.Request) -> JSON:
        user, item = self._owner(
            "phone_numbers", request.match_info["phone_number_id"], "phone number"
        )
        self._remove(user, "phone_numbers", "primary_phone_number_id", item)
        if item["default_second_factor"]:
            # the next reserved number, if any, takes over as the default
            nxt = next((p for p in user["phone_numbers"] if p["reserved_for_second_factor"]), None)
            if nxt is not None:
                nxt["default_second_factor"] = True
        refresh_two_factor(user, self.store.now())
        self._about(request, user)
        return _deleted("phone_number", item["id"])

    async def replace_phone(self, request: web.Request) -> JSON:
        """The user's primary phone number becomes the one given; the old one goes."""
        user = self.store.user(request.match_info["user_id"])
        body = await self.api.body(request)
        check_types(body, {"phone_number": STRING, "identification_status": STRING})
        number = self._check_phone(body.get("phone_number"))
        holder = self._phone_holder(number)
        if holder is not None and holder != user["id"]:
            raise self._taken("phone number", "phone_number")
        if holder is None:
            self.api.restrictions.check("phone_number", number)
        reserved = body.get("identification_status") == "reserved"
        old = user["primary_phone_number_id"]
        item = next(
            (p for p in user["phone_numbers"] if p["phone_number"] == number), None
        ) or self._new_phone(user, number, verified=True, reserved=reserved)
        self._make_primary(user, "primary_phone_number_id", item)
        previous = next((p for p in user["phone_numbers"] if p["id"] == old), None)
        if previous is not None and previous is not item:
            self._remove(user, "phone_numbers", "primary_phone_number_id", previous)
            refresh_two_factor(user, self.store.now())
        self._about(request, user)
        return item

    # -- one-time-code verifications -------------------------------------------------

    def prepare(self, kind: str, what: str, strategy: str) -> Handler:
        async def handler(request: web.Request) -> JSON:
            _user, item = self._owner(kind, request.match_info["item_id"], what)
            now = self.store.now()
            found: JSON = {
                "object": "verification",
                "id": self.store.ids.new("ver"),
                "status": "unverified",
                "strategy": strategy,
                "attempts": 0,
                "expire_at": now + VERIFICATION_LIFETIME_MS,
            }
            if kind == "phone_numbers":
                found["channel"] = "sms"
            self._verifications[found["id"]] = (found, item["id"])
            return found

        return handler

    def attempt(self, kind: str, what: str) -> Handler:
        async def handler(request: web.Request) -> JSON:
            user, item = self._owner(kind, request.match_info["item_id"], what)
            body = await self.api.body(request)
            kept = self._verifications.get(str(body.get("verification_id")))
            if kept is None or kept[1] != item["id"]:
                raise ApiError(
                    404,
                    "resource_not_found",
                    "verification not found",
                    long_message=f"No verification of this {what} has that ID.",
                    param_name="verification_id",
                )
            found = kept[0]
            if found["status"] == "verified":
                raise ApiError(
                    400,
                    "verification_already_verified",
                    "This verification has already been verified.",
                    param_name="verification_id",
                )
            now = self.store.now()
            if found["status"] == "unverified" and found["expire_at"] <= now:
                found["status"] = "expired"
            if found["status"] != "unverified":
                return found  # expired or failed: reported through the status
            found["attempts"] += 1
            if body.get("code") == TEST_CODE:
                found["status"] = "verified"
                if not is_verified(item):
                    item["verification"] = {
                        "object": "verification_otp",
                        **{k: found[k] for k in ("status", "strategy", "attempts", "expire_at")},
                    }
                    item["updated_at"] = user["updated_at"] = now
            elif found["attempts"] >= MAX_ATTEMPTS:
                found["status"] = "failed"
            return found

        return handler

    # -- trusted devices -------------------------------------------------------------

    async def trusted_devices(self, request: web.Request) -> JSON:
        # Devices are trusted by Clerk's mobile sign-ins, which the emulator has none of.
        self.store.user(request.match_info["user_id"])
        self.api.paging(request)
        return {"data": [], "total_count": 0}

    async def revoke_trusted_device(self, request: web.Request) -> JSON:
        self.store.user(request.match_info["user_id"])
        raise not_found("trusted device")

    # -- wallets, passkeys, external accounts ----------------------------------------

    def _user_item(self, request: web.Request, kind: str, what: str) -> tuple[JSON, JSON]:
        user = self.store.user(request.match_info["user_id"])
        item_id = request.match_info["item_id"]
        item = next((i for i in user[kind] if i["id"] == item_id), None)
        if item is None:
            raise not_found(what)
        return user, item

    async def delete_wallet(self, request: web.Request) -> JSON:
        user, item = self._user_item(request, "web3_wallets", "web3 wallet")
        self._remove(user, "web3_wallets", "primary_web3_wallet_id", item)
        self._about(request, user)
        return _deleted("web3_wallet", item["id"])

    async def delete_passkey(self, request: web.Request) -> JSON:
        user, item = self._user_item(request, "passkeys", "passkey")
        user["passkeys"] = [p for p in user["passkeys"] if p["id"] != item["id"]]
        user["updated_at"] = self.store.now()
        self._about(request, user)
        return _deleted("passkey", item["id"])

    async def delete_external_account(self, request: web.Request) -> JSON:
        user, item = self._user_item(request, "external_accounts", "external account")
        user["external_accounts"] = [a for a in user["external_accounts"] if a["id"] != item["id"]]
        user["updated_at"] = self.store.now()
        self._about(request, user)
        return _deleted("external_account", item["id"])

    # -- the profile image -----------------------------------------------------------

    async def set_profile_image(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        form = await request.post() if request.can_read_body else {}
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise param_missing("file")
        now = self.store.now()
        user["has_image"] = True
        user["image_url"] = f"{DEFAULT_IMAGE_URL}/{user['id']}/{now}"
        user["updated_at"] = now
        return user

    async def delete_profile_image(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        if not user["has_image"]:
            raise not_found("profile image")
        user["has_image"] = False
        user["image_url"] = DEFAULT_IMAGE_URL
        user["updated_at"] = self.store.now()
        return user
