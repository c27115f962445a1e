"""The emulator's in-memory state and the Clerk-shaped objects it serves."""

from __future__ import annotations

import base64
import bisect
import hashlib
import heapq
import hmac
import random
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._clock import Clock

JSON = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits
FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]


class ApiError(Exception):
    """A Clerk-shaped error answer."""

    def __init__(
        self, status: int, code: str, message: str, *, long_message: str = "", **meta: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message or message
        self.meta = meta

    def body(self, trace_id: str) -> JSON:
        return {
            "errors": [
                {
                    "code": self.code,
                    "message": self.message,
                    "long_message": self.long_message,
                    "meta": self.meta,
                }
            ],
            "clerk_trace_id": trace_id,
        }


def not_found(kind: str) -> ApiError:
    return ApiError(
        404,
        "resource_not_found",
        f"{kind} not found",
        long_message=f"No {kind} was found with that ID.",
    )


def param_missing(name: str) -> ApiError:
    return ApiError(
        422,
        "form_param_missing",
        f"{name} is missing",
        long_message=f"The parameter {name} is required.",
        param_name=name,
    )


def param_invalid(name: str, why: str) -> ApiError:
    return ApiError(
        422, "form_param_format_invalid", f"{name} is invalid", long_message=why, param_name=name
    )


# The JSON types of request fields, by the words the error message uses.
STRING = "a string"
INTEGER = "an integer"
BOOLEAN = "a boolean"
OBJECT = "an object"
STRINGS = "a list of strings"


def _has_type(value: object, kind: str) -> bool:
    if kind == STRING:
        return isinstance(value, str)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == OBJECT:
        return isinstance(value, dict)
    # A JSON body gives a list where the spec says array, even of one item.
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_types(body: JSON, fields: dict[str, str]) -> None:
    """Reject a field of the wrong JSON type (``null`` means "not given" and passes)."""
    for name, kind in fields.items():
        value = body.get(name)
        if value is not None and not _has_type(value, kind):
            raise param_invalid(name, f"{name} must be {kind}, not {type(value).__name__}.")


def check_username(username: object) -> str:
    if not isinstance(username, str) or not 4 <= len(username) <= 64:
        raise param_invalid("username", "Usernames have 4 to 64 characters.")
    return username


USER_FIELDS = {
    "email_address": STRINGS,
    "phone_number": STRINGS,
    "web3_wallet": STRINGS,
    "username": STRING,
    "external_id": STRING,
    "first_name": STRING,
    "last_name": STRING,
    "locale": STRING,
    "password": STRING,
    "skip_password_checks": BOOLEAN,
    "public_metadata": OBJECT,
    "private_metadata": OBJECT,
    "unsafe_metadata": OBJECT,
    "totp_secret": STRING,
    "backup_codes": STRINGS,
}


class Ids:
    """Clerk-looking identifiers (``user_2ab…``), deterministic for a seed."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def new(self, prefix: str) -> str:
        return prefix + "_" + "".join(self._random.choices(_ALPHABET, k=27))


def admin_verification() -> JSON:
    """The verification of an identifier an administrator set as verified."""
    return {
        "object": "verification_admin",
        "status": "verified",
        "strategy": "admin",
        "attempts": None,
        "expire_at": None,
    }


class Store:
    """Every resource the emulator serves, in creation order."""

    def __init__(self, seed: int = 0, clock: Clock | None = None) -> None:
        self.ids = Ids(seed)
        self._random = random.Random(seed + 1)
        #: the emulated instance's time (``Emulator.clock``)
        self.clock = clock or Clock()
        self._last = self.clock.now_ms()
        # What falls due at a time (session and invitation expiry): (ms, order, action),
        # run by settle() before a request reads the state.
        self._due: list[tuple[int, int, Callable[[int], None]]] = []
        self._due_count = 0
        # Users in creation order; created_at strictly increases, so ``_created`` is sorted.
        self.users: dict[str, JSON] = {}
        self._order: list[str] = []
        self._created: list[int] = []
        self._created_of: dict[str, int] = {}
        self.emails: dict[str, str] = {}  # lower-cased address -> user id
        self.usernames: dict[str, str] = {}
        self.external_ids: dict[str, str] = {}
        # user id -> (salt, PBKDF2 digest) of the password; never part of a user's JSON
        self._passwords: dict[str, tuple[bytes, bytes]] = {}
        #: users whose password is marked compromised (``password/set_compromised``)
        self.compromised: set[str] = set()
        # user id -> the base32 TOTP secret / the unused backup codes; never in a user's JSON
        self.totp_secrets: dict[str, str] = {}
        self.backup_codes: dict[str, set[str]] = {}
        self.organizations: dict[str, JSON] = {}
        self.slugs: dict[str, str] = {}
        self.memberships: dict[str, dict[str, JSON]] = {}  # org id -> user id -> membership
        self.org_invitations: dict[str, dict[str, JSON]] = {}
        self.invitations: dict[str, JSON] = {}
        self.allowlist: dict[str, JSON] = {}
        self.sessions: dict[str, JSON] = {}
        self.clients: dict[str, JSON] = {}

    def now(self) -> int:
        """The clock's milliseconds, strictly increasing between calls (so ``created_at``
        orders what was created, a frozen clock included)."""
        now = self.clock.now_ms()
        if self._last < now:
            self._last = now
        else:
            self._last += 1
            if self.clock.frozen:
                self.clock.reach_ms(self._last)
        return self._last

    def at(self, when_ms: int, action: Callable[[int], None]) -> None:
        """Run ``action(when_ms)`` once the clock has reached ``when_ms`` (checked by
        :meth:`settle`, before each request is handled)."""
        self._due_count += 1
        heapq.heappush(self._due, (when_ms, self._due_count, action))

    def settle(self) -> None:
        """Carry out what has fallen due by the clock's current time, in time order."""
        due = self._due
        if not due:
            return
        # The state's time is at least its last stamp (a burst of changes can run a
        # few milliseconds ahead of a running clock).
        now = max(self.clock.now_ms(), self._last)
        while due and due[0][0] <= now:
            when, _order, action = heapq.heappop(due)
            action(when)

    # -- users -----------------------------------------------------------------------

    def make_user(self, body: JSON) -> JSON:
        check_types(body, USER_FIELDS)
        emails = body.get("email_address") or []
        phones = body.get("phone_number") or []
        if isinstance(emails, str):
            emails = [emails]
        if isinstance(phones, str):
            phones = [phones]
        for address in emails:
            if not isinstance(address, str) or "@" not in address:
                raise param_invalid("email_address", f"{address!r} is not a valid email address.")
            if address.lower() in self.emails:
                raise ApiError(
                    422,
                    "form_identifier_exists",
                    "That email address is taken. Please try another.",
                    param_name="email_address",
                )
        username = body.get("username")
        external_id = body.get("external_id")
        self._check_identifiers(username, external_id, owner=None)
        password = body.get("password")
        if password is not None and not body.get("skip_password_checks"):
            check_password(password)
        totp_secret(body)  # refused before anything is created
        wallets = body.get("web3_wallet") or []
        if wallets:
            taken = {
                w["web3_wallet"].lower() for u in self.users.values() for w in u["web3_wallets"]
            }
            for wallet in wallets:
                if wallet.lower() in taken:
                    raise ApiError(
                        422,
                        "form_identifier_exists",
                        "That web3 wallet is taken. Please try another.",
                        param_name="web3_wallet",
                    )
        if not emails and not phones and not wallets and username is None and external_id is None:
            raise param_missing("email_address")
        now = self.now()
        user_id = self.ids.new("user")
        email_objects = [
            {
                "id": self.ids.new("idn"),
                "object": "email_address",
                "email_address": address,
                "reserved": False,
                "verification": admin_verification(),
                "linked_to": [],
                "created_at": now,
                "updated_at": now,
            }
            for address in emails
        ]
        phone_objects = [
            {
                "id": self.ids.new("idn"),
                "object": "phone_number",
                "phone_number": number,
                "reserved_for_second_factor": False,
                "default_second_factor": False,
                "reserved": False,
                "verification": admin_verification(),
                "linked_to": [],
                "created_at": now,
                "updated_at": now,
            }
            for number in phones
        ]
        wallet_objects = [
            {
                "id": self.ids.new("idn"),
                "object": "web3_wallet",
                "web3_wallet": wallet,
                "verification": admin_verification(),
                "created_at": now,
                "updated_at": now,
            }
            for wallet in wallets
        ]
        user: JSON = {
            "id": user_id,
            "object": "user",
            "external_id": external_id,
            "primary_email_address_id": email_objects[0]["id"] if email_objects else None,
            "primary_phone_number_id": phone_objects[0]["id"] if phone_objects else None,
            "primary_web3_wallet_id": wallet_objects[0]["id"] if wallet_objects else None,
            "username": username,
            "first_name": body.get("first_name"),
            "last_name": body.get("last_name"),
            "image_url": "https://img.clerk.com/emulated",
            "has_image": False,
            "public_metadata": dict(body.get("public_metadata") or {}),
            "private_metadata": dict(body.get("private_metadata") or {}),
            "unsafe_metadata": dict(body.get("unsafe_metadata") or {}),
            "email_addresses": email_objects,
            "phone_numbers": phone_objects,
            "web3_wallets": wallet_objects,
            "passkeys": [],
            "password_enabled": password is not None,
            "two_factor_enabled": False,
            "totp_enabled": False,
            "backup_code_enabled": False,
            "mfa_enabled_at": None,
            "mfa_disabled_at": None,
            "external_accounts": [],
            "saml_accounts": [],
            "enterprise_accounts": [],
            "last_sign_in_at": None,
            "banned": False,
            "locked": False,
            "lockout_expires_in_seconds": None,
            "verification_attempts_remaining": 100,
            "created_at": now,
            "updated_at": now,
            "delete_self_enabled": True,
            "create_organization_enabled": True,
            "last_active_at": None,
            "legal_accepted_at": None,
        }
        self._insert_user(user)
        if password is not None:
            self.set_password(user_id, password)
        self.set_second_factors(user, body)
        return user

    def set_second_factors(self, user: JSON, body: JSON) -> None:
        """Enable TOTP (``totp_secret``, base32) and backup codes (``backup_codes``)
        given to a user's creation or update; absent or ``null`` leaves them as they are."""
        secret = totp_secret(body)
        codes = body.get("backup_codes")
        if secret:
            self.totp_secrets[user["id"]] = secret
            user["totp_enabled"] = True
        if codes is not None:
            self.backup_codes[user["id"]] = set(codes)
            user["backup_code_enabled"] = bool(codes)
        if secret or codes is not None:
            refresh_two_factor(user, self.now())

    def link_external_account(
        self,
        user_id: str,
        provider: str,
        provider_user_id: str,
        *,
        email_address: str | None = None,
    ) -> JSON:
        """Give a user an account at an OAuth ``provider`` (``oauth_google``...), as a
        sign-in through that provider would; no Backend API operation creates one."""
        user = self.user(user_id)
        now = self.now()
        account: JSON = {
            "object": "external_account",
            "id": self.ids.new("eac"),
            "provider": provider,
            "identification_id": self.ids.new("idn"),
            "provider_user_id": provider_user_id,
            "approved_scopes": "email profile",
            "email_address": email_address or "",
            "first_name": user["first_name"] or "",
            "last_name": user["last_name"] or "",
            "image_url": None,
            "username": None,
            "phone_number": None,
            "public_metadata": {},
            "label": None,
            "verification": None,
            "created_at": now,
            "updated_at": now,
        }
        user["external_accounts"].append(account)
        user["updated_at"] = now
        return account

    def set_password(self, user_id: str, password: str) -> None:
        salt = self._random.randbytes(16)
        self._passwords[user_id] = (salt, _digest(password, salt))
        self.compromised.discard(user_id)  # a new password is not the compromised one

    def clear_password(self, user_id: str) -> None:
        self._passwords.pop(user_id, None)
        self.compromised.discard(user_id)

    def password_matches(self, user_id: str, password: str) -> bool:
        """Whether ``password`` is the user's; ``False`` for a user with none."""
        kept = self._passwords.get(user_id)
        return kept is not None and hmac.compare_digest(kept[1], _digest(password, kept[0]))

    def _insert_user(self, user: JSON) -> None:
        user_id = user["id"]
        self.users[user_id] = user
        self._order.append(user_id)
        self._created.append(user["created_at"])
        self._created_of[user_id] = user["created_at"]
        for email in user["email_addresses"]:
            self.emails[email["email_address"].lower()] = user_id
        if user["username"]:
            self.usernames[user["username"].lower()] = user_id
        if user["external_id"]:
            self.external_ids[user["external_id"]] = user_id

    def seed_users(self, count: int) -> None:
        """Create ``count`` realistic users quickly (no validation round trips)."""
        pick = self._random.choice
        for i in range(count):
            first, last = pick(FIRST_NAMES), pick(LAST_NAMES)
            n = len(self.users)
            self.make_user(
                {
                    "email_address": [f"{first}.{last}.{n}@example.com".lower()],
                    "first_name": first,
                    "last_name": last,
                    "username": f"{first}{last}{n}".lower(),
                    "external_id": f"ext-{n}",
                    "public_metadata": {"seed": i},
                }
            )

    def user(self, user_id: str) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise not_found("user")
        return user

    def delete_user(self, user_id: str) -> JSON:
        user = self.user(user_id)
        del self.users[user_id]
        self.clear_password(user_id)
        self.totp_secrets.pop(user_id, None)
        self.backup_codes.pop(user_id, None)
        index = bisect.bisect_left(self._created, user["created_at"])
        del self._order[index]
        del self._created[index]
        for email in user["email_addresses"]:
            self.emails.pop(email["email_address"].lower(), None)
        if user["username"]:
            self.usernames.pop(user["username"].lower(), None)
        if user["external_id"]:
            self.external_ids.pop(user["external_id"], None)
        for members in self.memberships.values():
            members.pop(user_id, None)
        # Deleting a user signs them out everywhere: their sessions end for good.
        self.end_sessions(user_id, "ended")
        return {"id": user_id, "object": "user", "deleted": True}

    def _check_identifiers(self, username: Any, external_id: Any, *, owner: str | None) -> None:
        """Refuse a username or external ID (``None``/``...``: not given) that a user
        other than ``owner`` holds; a username must also have a valid length."""
        if username is not ... and username is not None:
            check_username(username)
            holder = self.usernames.get(username.lower())
            if holder is not None and holder != owner:
                raise ApiError(
                    422, "form_identifier_exists", "That username is taken.", param_name="username"
                )
        if external_id is not ... and external_id is not None:
            holder = self.external_ids.get(external_id)
            if holder is not None and holder != owner:
                raise ApiError(
                    422,
                    "form_identifier_exists",
                    "That external ID is taken.",
                    param_name="external_id",
                )

    def set_identifiers(self, user: JSON, *, username: Any = ..., external_id: Any = ...) -> None:
        """Change a user's username and/or external ID (``...``: unchanged), keeping the
        uniqueness indexes in step: the old values become free, the new ones are checked."""
        self._check_identifiers(username, external_id, owner=user["id"])
        if username is not ...:
            if user["username"]:
                self.usernames.pop(user["username"].lower(), None)
            user["username"] = username
            if username:
                self.usernames[username.lower()] = user["id"]
        if external_id is not ...:
            if user["external_id"]:
                self.external_ids.pop(user["external_id"], None)
            user["external_id"] = external_id
            if external_id:
                self.external_ids[external_id] = user["id"]

    def users_newest_first(self, after: str | None = None) -> Iterator[JSON]:
        """Users by ``-created_at``; with ``after``, only those older than that user
        (still correct when that user was deleted meanwhile)."""
        end = len(self._order)
        if after is not None:
            created = self._created_of.get(after)
            if created is None:
                raise param_invalid("starting_after", "starting_after must be a user ID.")
            end = bisect.bisect_left(self._created, created)
        for index in range(end - 1, -1, -1):
            yield self.users[self._order[index]]

    def users_oldest_first(self, after: str | None = None) -> Iterator[JSON]:
        start = 0
        if after is not None:
            created = self._created_of.get(after)
            if created is None:
                raise param_invalid("starting_after", "starting_after must be a user ID.")
            start = bisect.bisect_right(self._created, created)
        for index in range(start, len(self._order)):
            yield self.users[self._order[index]]

    # -- sessions --------------------------------------------------------------------

    def start_session(
        self,
        user_id: str,
        *,
        organization_id: str | None = None,
        expire_in_ms: int = 7 * 86_400_000,
    ) -> JSON:
        """An active session for ``user_id`` on a client of its own (as a sign-in makes)."""
        now = self.now()
        client: JSON = {
            "object": "client",
            "id": self.ids.new("client"),
            "session_ids": [],
            "sessions": [],
            "sign_in_id": None,
            "sign_up_id": None,
            "last_active_session_id": None,
            "last_authentication_strategy": "admin",
            "updated_at": now,
            "created_at": now,
        }
        session: JSON = {
            "object": "session",
            "id": self.ids.new("sess"),
            "user_id": user_id,
            "client_id": client["id"],
            "status": "active",
            "last_active_organization_id": organization_id,
            "last_active_at": now,
            "expire_at": now + expire_in_ms,
            "abandon_at": now + max(expire_in_ms, 30 * 86_400_000),
            "updated_at": now,
            "created_at": now,
        }
        client["session_ids"].append(session["id"])
        client["sessions"].append(session)  # the same dict: status changes show in both
        client["last_active_session_id"] = session["id"]
        self.sessions[session["id"]] = session
        self.clients[client["id"]] = client
        self.at(min(session["expire_at"], session["abandon_at"]), self._lapse(session))
        return session

    def end_sessions(self, user_id: str, status: str = "revoked") -> None:
        """Give every active session of ``user_id`` the final ``status`` (a ban or a
        password change revokes them, a deletion ends them)."""
        now = self.now()
        for session in self.sessions.values():
            if session["user_id"] == user_id and session["status"] == "active":
                session.update(status=status, updated_at=now)

    @staticmethod
    def _lapse(session: JSON) -> Callable[[int], None]:
        """What the clock passing a session's ``expire_at``/``abandon_at`` does to it:
        an active or pending session ends as ``expired`` (or ``abandoned``, whichever
        comes first), as it would on Clerk; an ended one keeps its status."""

        def lapse(when: int) -> None:
            if session["status"] not in ("active", "pending"):
                return
            deadline = min(session["expire_at"], session["abandon_at"])
            if deadline > when:  # its deadline moved on; that later time decides
                return
            expired = session["expire_at"] <= session["abandon_at"]
            session["status"] = "expired" if expired else "abandoned"
            session["updated_at"] = deadline

        return lapse

    # -- organizations ---------------------------------------------------------------

    def organization(self, key: str) -> JSON:
        org = self.organizations.get(key) or self.organizations.get(self.slugs.get(key, ""))
        if org is None:
            raise not_found("organization")
        return org

    def membership_count(self, org_id: str) -> int:
        return len(self.memberships.get(org_id, {}))


def totp_secret(body: JSON) -> str | None:
    """The request's ``totp_secret``, upper-cased without spaces; a 422 unless base32."""
    secret = body.get("totp_secret")
    if not secret:
        return None
    normalised = str(secret).replace(" ", "").upper()
    try:
        base64.b32decode(normalised + "=" * (-len(normalised) % 8))
    except ValueError:
        raise param_invalid("totp_secret", "totp_secret must be base32.") from None
    return normalised


def refresh_two_factor(user: JSON, now: int) -> None:
    """``two_factor_enabled`` from the user's second factors (a reserved phone number,
    TOTP or backup codes), stamping ``mfa_enabled_at`` / ``mfa_disabled_at`` on a change."""
    enabled = bool(
        user["totp_enabled"]
        or user["backup_code_enabled"]
        or any(p.get("reserved_for_second_factor") for p in user["phone_numbers"])
    )
    if enabled and not user["two_factor_enabled"]:
        user["mfa_enabled_at"] = now
    elif not enabled and user["two_factor_enabled"]:
        user["mfa_disabled_at"] = now
    user["two_factor_enabled"] = enabled


def primary_item(user: JSON, kind: str, primary_id: str) -> JSON | None:
    """The user's primary item of ``kind`` (``email_addresses``, ``phone_numbers``,
    ``web3_wallets``), named by its ``primary_id`` field; ``None`` without one."""
    wanted = user.get(primary_id)
    return next((item for item in user.get(kind) or [] if item["id"] == wanted), None)


def _digest(password: str, salt: bytes) -> bytes:
    # Few iterations: the emulator keeps test passwords, not real ones.
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)


def check_password(password: object) -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise ApiError(
            422,
            "form_password_length_too_short",
            "Passwords must be 8 characters or more.",
            param_name="password",
        )
    if password.lower() in PWNED:
        raise ApiError(
            422,
            "form_password_pwned",
            "This password has been found in a data breach; pick another.",
            param_name="password",
        )


PWNED = frozenset({"password", "password1", "12345678", "123456789", "qwerty123", "iloveyou1"})


def slugify(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return (
        "-".join(part for part in slug.split("-") if part)
        or hashlib.sha1(name.encode()).hexdigest()[:8]
    )


def page(items: Iterable[JSON], offset: int, limit: int) -> list[JSON]:
    """Skip ``offset`` items and take ``limit`` without materialising the rest."""
    out: list[JSON] = []
    for index, item in enumerate(items):
        if index < offset:
            continue
        if len(out) >= limit:
            break
        out.append(item)
    return out
