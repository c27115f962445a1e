"""JWT templates and the tokens they make (``POST /v1/sessions/{id}/tokens/{name}``).

A template is a JSON object of claims. A claim value that is a string may hold
shortcodes, ``{{user.first_name}}``, rendered when a token is made:

* a string that is one shortcode takes the value as it is (an object, a boolean, a
  number or ``null``): ``"{{user.public_metadata}}"`` is the whole metadata object;
* a string with text around its shortcodes is interpolated, a missing value as ``""``:
  ``"{{user.first_name}} {{user.last_name}}"``;
* ``a || b || 'text'`` takes the first operand that is neither ``null``, ``false`` nor
  ``""``; quoted text and numbers are literals;
* ``user.…``: ``id``, ``external_id``, ``first_name``, ``last_name``, ``full_name``,
  ``username``, ``image_url``, ``has_image``, ``primary_email_address``,
  ``primary_phone_number``, ``primary_web3_wallet``, ``email_verified``,
  ``phone_number_verified``, ``two_factor_enabled``, ``created_at``, ``updated_at``,
  ``public_metadata`` and ``unsafe_metadata`` (and any key inside them, dotted);
  private metadata never reaches a token;
* ``org.…`` (the session's active organization): ``id``, ``name``, ``slug``, ``role``,
  ``permissions``, ``image_url``, ``has_image``, ``public_metadata``; and
  ``org_membership.public_metadata``; all ``null`` without an active organization;
* ``session.id`` and ``session.status``.

Unknown shortcodes render as ``null``. The registered claims (``sub``, ``iss``,
``iat``, ``exp``, ``nbf``, ``jti``, ``azp``) are the emulator's to set: a template
naming one is refused. Tokens are signed with the instance key (``kid``, template
``cat``), or with the template's own key and algorithm when it has one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

from ..auth._verify import CATEGORY_JWT_TEMPLATE
from ._behaviour import RouteEntry
from ._generic import Listing
from ._store import JSON, ApiError, not_found, primary_item

if TYPE_CHECKING:
    from ._app import Api

#: Lifetime and clock skew (seconds) of a template created without them.
DEFAULT_LIFETIME = 60
DEFAULT_CLOCK_SKEW = 5
RESERVED_CLAIMS = frozenset({"sub", "iss", "iat", "exp", "nbf", "jti", "azp"})
#: The algorithms a template's own signing key may use (what PyJWT signs with).
SIGNING_ALGORITHMS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"}
)

_SHORTCODE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class Templates:
    """The instance's JWT templates, and tokens made from them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.items: dict[str, JSON] = {}
        # template id -> its own signing key; kept out of the template's JSON, which
        # never shows the key
        self._keys: dict[str, str] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("GET", "/v1/jwt_templates", self.list),
            ("POST", "/v1/jwt_templates", self.create),
            ("GET", "/v1/jwt_templates/{template_id}", self.get),
            ("PATCH", "/v1/jwt_templates/{template_id}", self.update),
            ("DELETE", "/v1/jwt_templates/{template_id}", self.delete),
            ("POST", "/v1/sessions/{session_id}/tokens/{template_name}", self.token),
        ]

    # -- the templates ---------------------------------------------------------------

    def template(self, template_id: str) -> JSON:
        item = self.items.get(template_id)
        if item is None:
            raise not_found("JWT template")
        return item

    def by_name(self, name: str) -> JSON | None:
        return next((t for t in self.items.values() if t["name"] == name), None)

    async def list(self, request: web.Request) -> Listing:
        limit, offset = self.api.paging(request)
        items = sorted(self.items.values(), key=lambda t: t["created_at"])
        return Listing(items[offset : offset + limit], len(items))

    async def get(self, request: web.Request) -> JSON:
        return self.template(request.match_info["template_id"])

    async def create(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        now = self.store.now()
        item: JSON = {
            "object": "jwt_template",
            "id": self.store.ids.new("jtmp"),
            "created_at": now,
            "updated_at": now,
        }
        self._apply(item, body)
        self.items[item["id"]] = item
        return item

    async def update(self, request: web.Request) -> JSON:
        item = self.template(request.match_info["template_id"])
        body = await self.api.body(request)
        self._apply(item, body)
        item["updated_at"] = self.store.now()
        return item

    async def delete(self, request: web.Request) -> JSON:
        item = self.template(request.match_info["template_id"])
        del self.items[item["id"]]
        self._keys.pop(item["id"], None)
        return {"object": "jwt_template", "id": item["id"], "deleted": True}

    def _apply(self, item: JSON, body: JSON) -> None:
        """Check ``body`` (a create or a full update) and set it on ``item``."""
        name = body["name"]
        if not name.strip():
            raise ApiError(422, "form_param_missing", "name must not be blank", param_name="name")
        other = self.by_name(name)
        if other is not None and other["id"] != item["id"]:
            raise ApiError(
                422,
                "form_identifier_exists",
                "A JWT template with this name already exists.",
                param_name="name",
            )
        reserved = sorted(RESERVED_CLAIMS & set(body["claims"]))
        if reserved:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "claims holds reserved claims",
                long_message=f"{', '.join(reserved)} are set on every token and cannot be "
                "part of a template's claims.",
                param_name="claims",
            )
        custom = bool(body.get("custom_signing_key"))
        algorithm, key = body.get("signing_algorithm"), body.get("signing_key")
        if custom:
            for field, value in (("signing_algorithm", algorithm), ("signing_key", key)):
                if not value:
                    raise ApiError(
                        422,
                        "form_param_missing",
                        f"{field} is required when custom_signing_key is true",
                        param_name=field,
                    )
            if not isinstance(key, str):
                raise ApiError(
                    422,
                    "form_param_format_invalid",
                    "signing_key must be text",
                    param_name="signing_key",
                )
            if algorithm not in SIGNING_ALGORITHMS:
                raise ApiError(
                    422,
                    "form_param_value_invalid",
                    f"{algorithm} is not a supported signing algorithm",
                    long_message="Use one of " + ", ".join(sorted(SIGNING_ALGORITHMS)) + ".",
                    param_name="signing_algorithm",
                )
            try:
                jwt.encode({}, key, algorithm=algorithm)
            except (jwt.PyJWTError, ValueError, TypeError):
                raise ApiError(
                    422,
                    "form_param_value_invalid",
                    f"signing_key is not a {algorithm} private key",
                    long_message="Give a PEM private key for RS/ES/PS algorithms, a shared "
                    "secret for HS ones.",
                    param_name="signing_key",
                ) from None
            self._keys[item["id"]] = key
        else:
            self._keys.pop(item["id"], None)
        lifetime = body.get("lifetime")
        skew = body.get("allowed_clock_skew")
        item.update(
            name=name,
            claims=dict(body["claims"]),
            lifetime=DEFAULT_LIFETIME if lifetime is None else lifetime,
            allowed_clock_skew=DEFAULT_CLOCK_SKEW if skew is None else skew,
            custom_signing_key=custom,
            signing_algorithm=algorithm if custom else "RS256",
        )

    # -- tokens ----------------------------------------------------------------------

    async def token(self, request: web.Request) -> JSON:
        session = self.api.session(request.match_info["session_id"])
        name = request.match_info["template_name"]
        template = self.by_name(name)
        if template is None:
            raise ApiError(
                404,
                "resource_not_found",
                "not found",
                long_message=f"No JWT template named {name!r} exists.",
                param_name="template_name",
            )
        self.api.check_active(session)
        body = await self.api.body(request)
        lifetime = body.get("expires_in_seconds") or template["lifetime"]
        return {"object": "token", "jwt": self.mint(template, session, lifetime=lifetime)}

    def mint(self, template: JSON, session: JSON, *, lifetime: int | None = None) -> str:
        """A token of ``template`` for ``session``."""
        context = self.context(session)
        claims = render(template["claims"], context)
        now = int(self.store.clock.now())
        claims.update(
            sub=session["user_id"],
            iss=self.api.issuer,
            iat=now,
            nbf=now - int(template["allowed_clock_skew"]),
            exp=now + int(lifetime or template["lifetime"]),
            jti=self.store.ids.new("jwt")[4:24],
        )
        key = self._keys.get(template["id"])
        if key is not None:
            return jwt.encode(claims, key, algorithm=template["signing_algorithm"])
        return jwt.encode(
            claims,
            self.api.key,
            algorithm="RS256",
            headers={"kid": self.api.kid, "cat": CATEGORY_JWT_TEMPLATE},
        )

    def context(self, session: JSON) -> JSON:
        """The values shortcodes read, for ``session``."""
        user = self.store.user(session["user_id"])

        email = primary_item(user, "email_addresses", "primary_email_address_id")
        phone = primary_item(user, "phone_numbers", "primary_phone_number_id")
        wallet = primary_item(user, "web3_wallets", "primary_web3_wallet_id")
        names = [n for n in (user["first_name"], user["last_name"]) if n]
        user_values: JSON = {
            field: user.get(field)
            for field in (
                "id",
                "external_id",
                "first_name",
                "last_name",
                "username",
                "image_url",
                "has_image",
                "two_factor_enabled",
                "created_at",
                "updated_at",
                "public_metadata",
                "unsafe_metadata",
            )
        }
        user_values.update(
            full_name=" ".join(names) or None,
            primary_email_address=email["email_address"] if email else None,
            primary_phone_number=phone["phone_number"] if phone else None,
            primary_web3_wallet=wallet["web3_wallet"] if wallet else None,
            email_verified=_verified(email),
            phone_number_verified=_verified(phone),
        )
        org_values: JSON | None = None
        membership_values: JSON | None = None
        org_id = session.get("last_active_organization_id")
        org = self.store.organizations.get(org_id) if org_id else None
        member = self.store.memberships.get(org_id or "", {}).get(user["id"])
        if org is not None and member is not None:
            org_values = {
                "id": org["id"],
                "name": org["name"],
                "slug": org["slug"],
                "image_url": org["image_url"],
                "has_image": org["has_image"],
                "public_metadata": org["public_metadata"],
                "role": member["role"],
                "permissions": member["permissions"],
            }
            membership_values = {"public_metadata": member["public_metadata"]}
        return {
            "user": user_values,
            "org": org_values,
            "org_membership": membership_values,
            "session": {"id": session["id"], "status": session["status"]},
        }


def _verified(identifier: JSON | None) -> bool:
    if not identifier:
        return False
    return bool(identifier.get("verification", {}).get("status") == "verified")


def render(value: Any, context: JSON) -> Any:
    """``value`` (a template's claims) with its shortcodes filled from ``context``."""
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if not isinstance(value, str):
        return value
    whole = _SHORTCODE.fullmatch(value.strip())
    if whole is not None and len(_SHORTCODE.findall(value)) == 1:
        return evaluate(whole.group(1), context)

    def text(match: re.Match[str]) -> str:
        found = evaluate(match.group(1), context)
        if found is None:
            return ""
        if isinstance(found, bool):
            return "true" if found else "false"
        return str(found)

    return _SHORTCODE.sub(text, value)


def evaluate(expression: str, context: JSON) -> Any:
    """One shortcode: ``user.first_name``, or alternatives joined by ``||``."""
    found: Any = None
    for operand in (part.strip() for part in expression.split("||")):
        if len(operand) >= 2 and operand[0] == operand[-1] and operand[0] in "'\"":
            found = operand[1:-1]
        elif _NUMBER.fullmatch(operand):
            found = float(operand) if "." in operand else int(operand)
        else:
            found = lookup(operand, context)
        if not (found is None or found is False or found == ""):
            return found
    return found


def lookup(path: str, context: JSON) -> Any:
    """The value at a dotted ``path`` of ``context``, or ``None``."""
    current: Any = context
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current
