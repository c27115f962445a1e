"""Who may hold an identifier on the instance, and the instance's settings.

The restrictions (``PATCH /instance/restrictions``) are enforced wherever an email
address, phone number or web3 wallet enters the instance through the Backend API:
``POST /users``, ``POST /email_addresses``, ``POST /phone_numbers`` and the
invitations (single, bulk, organization, waitlist). A refusal is a 422 with the code
``not_allowed_access`` (the code Clerk answers a sign-up it restricts with) whose
``meta.param_name`` names the field that carried the identifier.

* ``allowlist``: every identifier given must match an entry of the allowlist
  (``/allowlist_identifiers``): the same address (case aside), phone number or wallet,
  or ``*@domain`` for every address of a domain. An invitation is how an admin lets
  someone in, so invitations are not held to the allowlist, and a user created for
  an address with a pending invitation (to the instance or an organization) passes
  it too.
* ``blocklist``: no identifier may match an entry of ``/blocklist_identifiers``
  (the same kinds of entries); this holds for invitations too.
* ``block_email_subaddresses``: addresses whose local part holds ``+``, ``=`` or
  ``#`` are refused.
* ``block_disposable_email_domains``: addresses at :data:`DISPOSABLE_DOMAINS` (or a
  subdomain of one) are refused.
* ``allowlist_blocklist_disabled_on_sign_in`` is kept and shown; it concerns
  sign-ins, which the Backend API does not make.
* Ignoring dots in Gmail addresses is a restriction of Clerk's that the 2026-05-12
  spec does not let ``PATCH /instance/restrictions`` set, so it is an emulator switch:
  ``emulator.api.restrictions.ignore_dots_for_gmail_addresses = True``. Then
  ``a.da@gmail.com`` is ``ada@gmail.com`` to the allowlist and blocklist, and a new
  address that another user holds with other dots is taken (``form_identifier_exists``).

The allowlist itself is the application's (``Store.allowlist``); this module reads the
same entries. The instance settings (``/instance``, ``/instance/protect``,
``/instance/communication``, ``/instance/oauth_application_settings``,
``/instance/organization_settings`` and ``/beta_features/instance_settings``) are kept
here: a change shows in its answer and in every later read; the beta settings'
``restricted_to_allowlist`` is the restrictions' ``allowlist``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._behaviour import RouteEntry
from ._store import JSON, ApiError, not_found, param_missing

if TYPE_CHECKING:
    from ._app import Api

#: Throwaway-mail domains the emulator knows (a few well-known ones; Clerk keeps a
#: far longer list).
DISPOSABLE_DOMAINS = frozenset(
    {
        "mailinator.com",
        "guerrillamail.com",
        "sharklasers.com",
        "10minutemail.com",
        "temp-mail.org",
        "tempmail.com",
        "yopmail.com",
        "trashmail.com",
        "maildrop.cc",
        "getnada.com",
        "dispostable.com",
        "throwawaymail.com",
    }
)
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
#: Characters that mark an address's local part as a subaddress (``ada+news@...``).
SUBADDRESS_MARKS = frozenset("+=#")
INSTANCE_ID = "ins_emulator"
#: Which ``/instance`` fields the Instance object shows (the others are only kept).
INSTANCE_SHOWN = ("allowed_origins",)
ENROLLMENT_MODES = frozenset({"manual_invitation", "automatic_invitation", "automatic_suggestion"})
DEFAULT_SCOPES = ["openid", "email", "profile"]


def identifier_type(identifier: str) -> str:
    """``email_address``, ``phone_number`` or ``web3_wallet``, told by the identifier's form."""
    if "@" in identifier:
        return "email_address"
    return "phone_number" if identifier.startswith("+") else "web3_wallet"


def folded(identifier: str, *, gmail_dots: bool = False) -> str:
    """The identifier as entries compare it: addresses and wallets without case, and
    with ``gmail_dots`` a Gmail address without the dots of its local part."""
    if identifier.startswith("+"):
        return identifier
    lowered = identifier.lower()
    local, at, domain = lowered.rpartition("@")
    if gmail_dots and at and domain in GMAIL_DOMAINS and local != "*":
        return local.replace(".", "") + "@" + domain
    return lowered


def listed(identifier: str, entries: Iterable[JSON], *, gmail_dots: bool = False) -> bool:
    """Whether ``identifier`` matches one of ``entries`` (allowlist or blocklist items),
    an address also by a ``*@domain`` entry."""
    wanted = folded(identifier, gmail_dots=gmail_dots)
    domain = "*@" + wanted.rsplit("@", 1)[1] if "@" in wanted else None
    return any(folded(e["identifier"], gmail_dots=gmail_dots) in (wanted, domain) for e in entries)


def _refuse(param: str, value: str, why: str) -> ApiError:
    return ApiError(
        422,
        "not_allowed_access",
        f"{value} is not allowed to access this application.",
        long_message=why,
        param_name=param,
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class Restrictions:
    """The restriction settings, the blocklist and the instance settings."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.settings: JSON = {
            "object": "instance_restrictions",
            "allowlist": False,
            "blocklist": False,
            "allowlist_blocklist_disabled_on_sign_in": False,
            "block_email_subaddresses": False,
            "block_disposable_email_domains": False,
        }
        self.blocklist: dict[str, JSON] = {}
        #: Clerk's "ignore dots for Gmail addresses" (not settable through the spec)
        self.ignore_dots_for_gmail_addresses = False
        self.instance: JSON = {
            "object": "instance",
            "id": INSTANCE_ID,
            "environment_type": "development",
            "allowed_origins": None,
            "workspace_id": None,
        }
        #: what ``PATCH /instance`` sets that the Instance object does not show
        self.instance_options: JSON = {"test_mode": True, "hibp": True}
        self.beta: JSON = {
            "object": "instance_settings",
            "id": INSTANCE_ID,
            "from_email_address": "notifications",
            "progressive_sign_up": True,
            "enhanced_email_deliverability": False,
        }
        self.protect: JSON = {
            "object": "instance_protect",
            "rules_enabled": False,
            "specter_enabled": False,
            "checks_bypassed": False,
        }
        self.communication: JSON = {"object": "instance_communication", "blocked_country_codes": []}
        self.oauth: JSON = {
            "object": "oauth_application_settings",
            "dynamic_oauth_client_registration": False,
            "default_scopes": list(DEFAULT_SCOPES),
            "oauth_jwt_access_tokens": False,
            "client_id_metadata_documents_advertised": False,
            "client_id_metadata_documents_only_allow_pre_registered_clients": False,
            "client_id_metadata_documents_block_implicitly_allowed_clients": False,
        }
        self.organizations: JSON = {
            "object": "organization_settings",
            "enabled": True,
            "max_allowed_memberships": 5,
            "max_allowed_roles": 10,
            "max_role_sets_allowed": 1,
            "max_allowed_domains": 10,
            "creator_role": "org:admin",
            "admin_delete_enabled": True,
            "domains_enabled": False,
            "slug_disabled": False,
            "domains_enrollment_modes": [],
            "domains_default_role": "org:member",
            "initial_role_set_key": None,
        }

    def routes(self) -> list[RouteEntry]:
        return [
            ("GET", "/v1/blocklist_identifiers", self.list_blocklist),
            ("POST", "/v1/blocklist_identifiers", self.create_blocklist),
            ("DELETE", "/v1/blocklist_identifiers/{identifier_id}", self.delete_blocklist),
            ("PATCH", "/v1/instance/restrictions", self.update_restrictions),
            ("GET", "/v1/instance", self.get_instance),
            ("PATCH", "/v1/instance", self.update_instance),
            ("PATCH", "/v1/beta_features/instance_settings", self.update_beta),
            ("GET", "/v1/instance/protect", self.reader(self.protect)),
            ("PATCH", "/v1/instance/protect", self.writer(self.protect)),
            ("GET", "/v1/instance/communication", self.reader(self.communication)),
            ("PATCH", "/v1/instance/communication", self.update_communication),
            ("GET", "/v1/instance/oauth_application_settings", self.reader(self.oauth)),
            ("PATCH", "/v1/instance/oauth_application_settings", self.update_oauth),
            ("GET", "/v1/instance/organization_settings", self.reader(self.organizations)),
            ("PATCH", "/v1/instance/organization_settings", self.update_organizations),
        ]

    # -- enforcement -----------------------------------------------------------------

    def check_user(self, body: JSON) -> None:
        """Refuse a new user (``POST /users`` body) holding an identifier the
        restrictions keep out."""
        for param in ("email_address", "phone_number", "web3_wallet"):
            for value in _strings(body.get(param)):
                self.check(param, value)

    def check_invitation(self, email: str) -> None:
        """Refuse an invitation to an address the restrictions keep out (the allowlist
        aside: an invitation is what lets someone past it)."""
        self.check("email_address", email, invited=True)

    def check(self, param: str, value: str, *, invited: bool = False) -> None:
        """Refuse ``value`` (given as ``param``) when a restriction keeps it out."""
        rules = self.settings
        dots = self.ignore_dots_for_gmail_addresses
        if rules["blocklist"] and listed(value, self.blocklist.values(), gmail_dots=dots):
            raise _refuse(param, value, f"{value} is on the instance's blocklist.")
        if "@" in value:
            local, _, domain = value.lower().rpartition("@")
            if rules["block_email_subaddresses"] and SUBADDRESS_MARKS & set(local):
                raise _refuse(
                    param, value, "Email addresses with a subaddress (+, = or #) are blocked."
                )
            if rules["block_disposable_email_domains"] and any(
                domain == d or domain.endswith("." + d) for d in DISPOSABLE_DOMAINS
            ):
                raise _refuse(param, value, f"{domain} is a disposable email domain.")
        if dots and not invited and "@" in value:
            self._check_gmail_taken(param, value)
        if (
            rules["allowlist"]
            and not invited
            and not listed(value, self.store.allowlist.values(), gmail_dots=dots)
            and not ("@" in value and self._invited(value))
        ):
            raise _refuse(param, value, f"{value} is not on the instance's allowlist.")

    def _check_gmail_taken(self, param: str, value: str) -> None:
        """With dots ignored, a Gmail address another user holds with other dots is taken."""
        lowered = value.lower()
        if lowered.rpartition("@")[2] not in GMAIL_DOMAINS or lowered in self.store.emails:
            return  # not Gmail, or the very address, which user creation refuses itself
        wanted = folded(value, gmail_dots=True)
        if any(folded(held, gmail_dots=True) == wanted for held in self.store.emails):
            raise ApiError(
                422,
                "form_identifier_exists",
                "That email address is taken. Please try another.",
                long_message=f"{value} differs from a user's address only by dots, "
                "which this instance ignores in Gmail addresses.",
                param_name=param,
            )

    def _invited(self, email: str) -> bool:
        """Whether a pending invitation (to the instance or an organization) names ``email``."""
        wanted = email.lower()
        invitations = [
            *self.store.invitations.values(),
            *(i for org in self.store.org_invitations.values() for i in org.values()),
        ]
        return any(
            i["status"] == "pending" and i["email_address"].lower() == wanted for i in invitations
        )

    # -- the blocklist ---------------------------------------------------------------

    async def list_blocklist(self, request: web.Request) -> JSON:
        items = sorted(self.blocklist.values(), key=lambda i: i["created_at"], reverse=True)
        return {"data": items, "total_count": len(items)}

    async def create_blocklist(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        identifier = body.get("identifier")
        if not identifier:
            raise param_missing("identifier")
        if any(folded(e["identifier"]) == folded(identifier) for e in self.blocklist.values()):
            raise ApiError(
                422,
                "duplicate_record",
                "This identifier is already on the blocklist.",
                param_name="identifier",
            )
        now = self.store.now()
        item: JSON = {
            "object": "blocklist_identifier",
            "id": self.store.ids.new("blid"),
            "identifier": identifier,
            "identifier_type": identifier_type(identifier),
            "instance_id": INSTANCE_ID,
            "created_at": now,
            "updated_at": now,
        }
        self.blocklist[item["id"]] = item
        return item

    async def delete_blocklist(self, request: web.Request) -> JSON:
        item = self.blocklist.pop(request.match_info["identifier_id"], None)
        if item is None:
            raise not_found("blocklist identifier")
        return {"object": "blocklist_identifier", "id": item["id"], "deleted": True}

    # -- restrictions and settings ---------------------------------------------------

    async def update_restrictions(self, request: web.Request) -> JSON:
        self._apply(self.settings, await self.api.body(request))
        return dict(self.settings)

    async def get_instance(self, request: web.Request) -> JSON:
        return dict(self.instance)

    async def update_instance(self, request: web.Request) -> None:
        body = await self.api.body(request)
        for field, value in body.items():
            if value is None:
                continue
            if field in INSTANCE_SHOWN:
                self.instance[field] = list(value)
            else:
                self.instance_options[field] = value
        return None  # answered 204, as the spec has it

    async def update_beta(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        sender = body.get("from_email_address")
        if sender is not None and not (sender.isascii() and sender.isalnum()):
            raise ApiError(
                422,
                "form_param_format_invalid",
                "from_email_address is invalid",
                long_message="from_email_address is the local part of an address (foo for "
                "foo@example.com) and holds letters and digits only.",
                param_name="from_email_address",
            )
        if body.get("restricted_to_allowlist") is not None:
            self.settings["allowlist"] = body["restricted_to_allowlist"]
        if body.get("test_mode") is not None:
            self.instance_options["test_mode"] = body["test_mode"]
        self._apply(
            self.beta, {k: body.get(k) for k in ("from_email_address", "progressive_sign_up")}
        )
        return {**self.beta, "restricted_to_allowlist": self.settings["allowlist"]}

    async def update_communication(self, request: web.Request) -> JSON:
        codes = (await self.api.body(request)).get("blocked_country_codes")
        if codes is not None:  # omitted: nothing changes; a list replaces the whole set
            self.communication["blocked_country_codes"] = sorted(set(codes))
        return dict(self.communication)

    async def update_oauth(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        if "default_scopes" in body and body["default_scopes"] is None:
            self.oauth["default_scopes"] = list(DEFAULT_SCOPES)  # null resets to the defaults
        self._apply(self.oauth, body)
        return dict(self.oauth)

    async def update_organizations(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        modes = body.get("domains_enrollment_modes")
        if modes is not None:
            unknown = sorted(set(modes) - ENROLLMENT_MODES)
            if unknown:
                raise ApiError(
                    422,
                    "form_param_value_invalid",
                    "domains_enrollment_modes is invalid",
                    long_message=f"{', '.join(unknown)} is not an enrollment mode; use "
                    + ", ".join(sorted(ENROLLMENT_MODES))
                    + ".",
                    param_name="domains_enrollment_modes",
                )
        limit = body.get("max_allowed_memberships")
        if limit is not None and limit < 0:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "max_allowed_memberships is invalid",
                long_message="max_allowed_memberships must be 0 (no limit) or more.",
                param_name="max_allowed_memberships",
            )
        renamed = {
            "creator_role_id": "creator_role",
            "domains_default_role_id": "domains_default_role",
        }
        self._apply(self.organizations, {renamed.get(k, k): v for k, v in body.items()})
        return dict(self.organizations)

    def reader(self, state: JSON) -> Any:
        async def read(request: web.Request) -> JSON:
            return dict(state)

        return read

    def writer(self, state: JSON) -> Any:
        async def write(request: web.Request) -> JSON:
            self._apply(state, await self.api.body(request))
            return dict(state)

        return write

    @staticmethod
    def _apply(state: JSON, body: JSON) -> None:
        """Set the given fields of ``body`` on ``state`` (``null`` changes nothing);
        validation has refused any field the operation does not take."""
        for field, value in body.items():
            if value is not None:
                state[field] = list(value) if isinstance(value, list) else value
