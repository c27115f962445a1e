"""Machines and their machine-to-machine (M2M) tokens.

A machine has a name, a default token lifetime, the machines it may reach (its
*scoped machines*) and a secret key ``ak_…``. The key shows only in the answer that
creates the machine and in ``GET /v1/machines/{id}/secret_key``; rotating it makes a
new one, and the previous key keeps working for ``previous_token_ttl`` seconds.

A machine authenticates with its secret key (``Authorization: Bearer ak_…``) to the
``/v1/m2m_tokens`` operations (served unversioned too, ``/m2m_tokens``, where Clerk's
JS SDK sends them), which the application otherwise answers only for the instance's
secret key:

* ``POST /v1/m2m_tokens`` takes a machine key, never the instance key: the token's
  subject is that machine and its scopes are the machine's scoped machine ids, as
  they are when the token is made. It is opaque (``mt_…``, stored) or, with
  ``token_format: jwt``, a JWT signed by the instance key (stateless: never listed,
  never revoked).
* ``GET /v1/m2m_tokens`` lists one machine's opaque tokens, newest first; revoked and
  expired ones only when asked. A machine key may list only its own.
* ``POST /v1/m2m_tokens/{id}/revoke``: a machine key may revoke only its own tokens.
* ``POST /v1/m2m_tokens/verify`` answers a live token. An unknown, revoked or expired
  one is answered 404 (what Clerk's SDKs read as "token invalid"); with a machine
  key, a token that does not name that machine in its scopes is unknown too.

Expiry follows the emulator's clock, to the millisecond. A token outlives a rotation of its machine's key;
deleting the machine drops its tokens and its keys, and removes it from the scopes of
other machines.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

from ..auth._verify import CATEGORY_M2M_TOKEN
from ._behaviour import RouteEntry
from ._store import JSON, ApiError, not_found

if TYPE_CHECKING:
    from ._app import Api

DEFAULT_TOKEN_TTL = 3600
MAX_SCOPES = 150
#: What a machine JWT carries besides its custom claims.
_JWT_REGISTERED = frozenset({"iss", "sub", "jti", "aud", "scopes", "iat", "nbf", "exp"})


def _bearer(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""


def _token_unknown(reason: str) -> ApiError:
    return ApiError(404, "resource_not_found", "M2M token not found", long_message=reason)


class Machines:
    """The instance's machines, their secret keys and their M2M tokens."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.items: dict[str, JSON] = {}
        #: machine id -> {scoped machine id: when the scope was made (ms)}
        self.scopes: dict[str, dict[str, int]] = {}
        #: machine id -> its current secret key
        self._current: dict[str, str] = {}
        #: secret key -> (machine id, the ms until which it works, or None for no end)
        self._keys: dict[str, tuple[str, int | None]] = {}
        #: opaque tokens by id, and the token string of each
        self.tokens: dict[str, JSON] = {}
        self._secret_of: dict[str, str] = {}
        self._by_secret: dict[str, str] = {}

    def routes(self) -> list[RouteEntry]:
        machines: list[RouteEntry] = [
            ("GET", "/v1/machines", self.list_machines),
            ("POST", "/v1/machines", self.create),
            ("GET", "/v1/machines/{machine_id}", self.get),
            ("PATCH", "/v1/machines/{machine_id}", self.update),
            ("DELETE", "/v1/machines/{machine_id}", self.delete),
            ("GET", "/v1/machines/{machine_id}/secret_key", self.get_secret_key),
            ("POST", "/v1/machines/{machine_id}/secret_key/rotate", self.rotate_secret_key),
            ("POST", "/v1/machines/{machine_id}/scopes", self.create_scope),
            ("DELETE", "/v1/machines/{machine_id}/scopes/{other_machine_id}", self.delete_scope),
        ]
        tokens: list[RouteEntry] = [
            ("GET", "/v1/m2m_tokens", self.list_tokens),
            ("POST", "/v1/m2m_tokens", self.create_token),
            ("POST", "/v1/m2m_tokens/{m2m_token_id}/revoke", self.revoke_token),
            ("POST", "/v1/m2m_tokens/verify", self.verify_token),
        ]
        return machines + tokens

    # -- credentials -----------------------------------------------------------------

    def authenticates(self, request: web.Request) -> bool:
        """A live machine secret key is a credential for the M2M token operations."""
        if not request.path.startswith(("/v1/m2m_tokens", "/m2m_tokens")):
            return False
        return self.key_owner(_bearer(request)) is not None

    def key_owner(self, key: str) -> str | None:
        """The machine whose live secret key ``key`` is, or None."""
        entry = self._keys.get(key) if key else None
        if entry is None:
            return None
        machine_id, until = entry
        if until is not None and self.store.clock.now_ms() >= until:
            return None
        return machine_id

    def caller(self, request: web.Request) -> str | None:
        """The machine a request authenticated as; None for the instance's secret key."""
        return self.key_owner(_bearer(request))

    def _new_key(self, machine_id: str) -> str:
        key = "ak_" + secrets.token_hex(16)
        self._current[machine_id] = key
        self._keys[key] = (machine_id, None)
        return key

    # -- machines ----------------------------------------------------------------------

    def machine(self, machine_id: str, param: str | None = None) -> JSON:
        item = self.items.get(machine_id)
        if item is None:
            error = not_found("machine")
            if param is not None:
                error.meta["param_name"] = param
            raise error
        return item

    def render(self, item: JSON) -> JSON:
        scoped = [dict(self.items[other]) for other in self.scopes[item["id"]]]
        return {**item, "scoped_machines": scoped}

    async def list_machines(self, request: web.Request) -> JSON:
        limit, offset = self.api.paging(request)
        query = request.query.get("query", "")
        order = request.query.get("order_by") or "-created_at"
        field = order.lstrip("+-")
        if field not in ("name", "created_at"):
            raise ApiError(
                422,
                "form_param_value_invalid",
                f"{order!r} is not a valid order",
                long_message="Machines can be ordered by name or created_at.",
                param_name="order_by",
            )
        items = [
            m
            for m in self.items.values()
            if not query or m["id"] == query or query.lower() in m["name"].lower()
        ]
        items.sort(key=lambda m: (m[field], m["created_at"]), reverse=order.startswith("-"))
        window = items[offset : offset + limit]
        return {"data": [self.render(m) for m in window], "total_count": len(items)}

    async def get(self, request: web.Request) -> JSON:
        return self.render(self.machine(request.match_info["machine_id"]))

    async def create(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        name = self._name(body["name"])
        wanted = list(dict.fromkeys(body.get("scoped_machines") or []))
        unknown = [m for m in wanted if m not in self.items]
        if unknown:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "scoped_machines names unknown machines",
                long_message=f"No machine exists with the ID {', '.join(unknown)}.",
                param_name="scoped_machines",
            )
        ttl = body.get("default_token_ttl")
        now = self.store.now()
        item: JSON = {
            "object": "machine",
            "id": self.store.ids.new("mch"),
            "name": name,
            "instance_id": "ins_emulator",
            "created_at": now,
            "updated_at": now,
            "default_token_ttl": DEFAULT_TOKEN_TTL if ttl is None else ttl,
        }
        self.items[item["id"]] = item
        self.scopes[item["id"]] = dict.fromkeys(wanted, now)
        return {**self.render(item), "secret_key": self._new_key(item["id"])}

    @staticmethod
    def _name(name: str) -> str:
        if not name.strip():
            raise ApiError(422, "form_param_missing", "name must not be blank", param_name="name")
        return name

    async def update(self, request: web.Request) -> JSON:
        item = self.machine(request.match_info["machine_id"])
        body = await self.api.body(request)
        if body.get("name") is not None:
            item["name"] = self._name(body["name"])
        if body.get("default_token_ttl") is not None:
            item["default_token_ttl"] = body["default_token_ttl"]
        item["updated_at"] = self.store.now()
        return self.render(item)

    async def delete(self, request: web.Request) -> JSON:
        item = self.machine(request.match_info["machine_id"])
        machine_id = item["id"]
        del self.items[machine_id]
        del self.scopes[machine_id]
        self._current.pop(machine_id, None)
        for scoped in self.scopes.values():
            scoped.pop(machine_id, None)
        for key in [k for k, (owner, _) in self._keys.items() if owner == machine_id]:
            del self._keys[key]
        for token_id in [t for t, v in self.tokens.items() if v["subject"] == machine_id]:
            del self.tokens[token_id]
            del self._by_secret[self._secret_of.pop(token_id)]
        return {"object": "machine", "id": machine_id, "deleted": True}

    async def get_secret_key(self, request: web.Request) -> JSON:
        item = self.machine(request.match_info["machine_id"])
        return {"object": "machine_secret_key", "secret": self._current[item["id"]]}

    async def rotate_secret_key(self, request: web.Request) -> JSON:
        item = self.machine(request.match_info["machine_id"])
        body = await self.api.body(request)
        grace = int(body["previous_token_ttl"])
        previous = self._current[item["id"]]
        if grace > 0:
            self._keys[previous] = (item["id"], self.store.now() + grace * 1000)
        else:
            del self._keys[previous]
        return {"object": "machine_secret_key", "secret": self._new_key(item["id"])}

    async def create_scope(self, request: web.Request) -> JSON:
        item = self.machine(request.match_info["machine_id"])
        body = await self.api.body(request)
        other = self.machine(body["to_machine_id"], "to_machine_id")
        scoped = self.scopes[item["id"]]
        if other["id"] == item["id"]:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "A machine cannot be scoped to itself",
                param_name="to_machine_id",
            )
        if other["id"] in scoped:
            raise ApiError(
                409,
                "duplicate_record",
                "The machine already has access to that machine",
                param_name="to_machine_id",
            )
        if len(scoped) >= MAX_SCOPES:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "Too many scopes",
                long_message=f"A machine may reach at most {MAX_SCOPES} machines.",
                param_name="to_machine_id",
            )
        now = self.store.now()
        scoped[other["id"]] = now
        item["updated_at"] = now
        return {
            "object": "machine_scope",
            "from_machine_id": item["id"],
            "to_machine_id": other["id"],
            "created_at": now,
        }

    async def delete_scope(self, request: web.Request) -> JSON:
        item = self.machine(request.match_info["machine_id"])
        other = request.match_info["other_machine_id"]
        scoped = self.scopes[item["id"]]
        if other not in scoped:
            raise ApiError(
                404,
                "resource_not_found",
                "machine scope not found",
                long_message="The machine has no access to that machine.",
                param_name="other_machine_id",
            )
        del scoped[other]
        item["updated_at"] = self.store.now()
        return {
            "object": "machine_scope",
            "from_machine_id": item["id"],
            "to_machine_id": other,
            "deleted": True,
        }

    # -- M2M tokens --------------------------------------------------------------------

    def _token_id(self) -> str:
        # Clerk's token ids are 32 hex digits; derived from the seeded id source so a
        # seeded emulator repeats them.
        return "mt_" + hashlib.md5(self.store.ids.new("mt").encode()).hexdigest()

    def view(self, token: JSON) -> JSON:
        """``token`` as answered now: ``expired`` read against the clock."""
        token["expired"] = token["expiration"] <= self.store.clock.now_ms()
        return dict(token)

    async def create_token(self, request: web.Request) -> JSON:
        machine_id = self.caller(request)
        if machine_id is None:
            raise ApiError(
                401,
                "authentication_invalid",
                "A machine secret key is required",
                long_message="M2M tokens are created with Authorization: Bearer <the "
                "machine's secret key>, not the instance's secret key.",
            )
        machine = self.machine(machine_id)
        body = await self.api.body(request)
        seconds = body.get("seconds_until_expiration")
        lifetime = float(machine["default_token_ttl"] if seconds is None else seconds)
        claims = body.get("claims")
        scopes = list(self.scopes[machine_id])
        if (body.get("token_format") or "opaque") == "jwt":
            return self._jwt_token(machine_id, scopes, lifetime, claims)
        reuse = body.get("min_remaining_ttl_seconds")
        now = self.store.now()
        if reuse is not None:
            if reuse >= lifetime:
                raise ApiError(
                    400,
                    "form_param_value_invalid",
                    "min_remaining_ttl_seconds must be less than the token's lifetime",
                    long_message=f"The token would live {lifetime:g} seconds.",
                    param_name="min_remaining_ttl_seconds",
                )
            for token in reversed(self.tokens.values()):
                if (
                    token["subject"] == machine_id
                    and not token["revoked"]
                    and token["claims"] == claims
                    and token["scopes"] == scopes
                    and token["expiration"] - now >= reuse * 1000
                ):
                    return {**self.view(token), "token": self._secret_of[token["id"]]}
        token_id, secret = self._token_id(), "mt_" + secrets.token_hex(16)
        token = self._token_json(token_id, machine_id, scopes, claims, now, now + _ms(lifetime))
        self.tokens[token_id] = token
        self._secret_of[token_id] = secret
        self._by_secret[secret] = token_id
        return {**token, "token": secret}

    @staticmethod
    def _token_json(
        token_id: str, subject: str, scopes: list[str], claims: Any, created: int, expiration: int
    ) -> JSON:
        return {
            "object": "machine_to_machine_token",
            "id": token_id,
            "subject": subject,
            "claims": claims,
            "scopes": scopes,
            "revoked": False,
            "revocation_reason": None,
            "expired": False,
            "expiration": expiration,
            "last_used_at": None,
            "created_at": created,
            "updated_at": created,
        }

    def _jwt_token(self, machine_id: str, scopes: list[str], lifetime: float, claims: Any) -> JSON:
        if claims is not None and not isinstance(claims, dict):
            raise ApiError(
                422,
                "form_param_format_invalid",
                "claims must be an object for a JWT",
                param_name="claims",
            )
        token_id = self._token_id()
        expires_in = math.ceil(lifetime)
        issued = int(self.store.clock.now())
        token = self.api.frontend.m2m_jwt(
            machine_id, scopes=scopes, expires_in=expires_in, claims=claims, jti=token_id
        )
        # Its times are the JWT's own (whole seconds), as verifying it reads them back.
        answer = self._token_json(
            token_id, machine_id, scopes, claims, issued * 1000, (issued + expires_in) * 1000
        )
        return {**answer, "token": token}

    async def list_tokens(self, request: web.Request) -> JSON:
        limit = _count(request, "limit", 10)
        offset = _count(request, "offset", 0)
        subject = request.query["subject"]
        self.machine(subject, "subject")
        caller = self.caller(request)
        if caller is not None and caller != subject:
            raise ApiError(
                403,
                "authorization_invalid",
                "A machine may list only its own tokens",
                param_name="subject",
            )
        with_revoked = request.query.get("revoked") == "true"
        with_expired = request.query.get("expired") == "true"
        now = self.store.clock.now_ms()
        tokens = [
            self.view(t)
            for t in reversed(self.tokens.values())
            if t["subject"] == subject
            and (with_revoked or not t["revoked"])
            and (with_expired or t["expiration"] > now)
        ]
        return {"m2m_tokens": tokens[offset : offset + limit], "total_count": len(tokens)}

    async def revoke_token(self, request: web.Request) -> JSON:
        token = self.tokens.get(request.match_info["m2m_token_id"])
        caller = self.caller(request)
        if token is None or (caller is not None and token["subject"] != caller):
            raise ApiError(
                404,
                "resource_not_found",
                "M2M token not found",
                long_message="No opaque M2M token with that ID belongs to this credential; "
                "JWT-format tokens are never stored and cannot be revoked.",
                param_name="m2m_token_id",
            )
        body = await self.api.body(request)
        if not token["revoked"]:
            token.update(
                revoked=True,
                revocation_reason=body.get("revocation_reason"),
                updated_at=self.store.now(),
            )
        return self.view(token)

    async def verify_token(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        value = body["token"]
        caller = self.caller(request)
        if value.count(".") == 2:  # a JWT-format token: checked, nothing stored
            answer = self._verify_jwt(value)
            self._check_audience(answer, caller)
            return answer
        token_id = self._by_secret.get(value)
        if token_id is None:
            raise _token_unknown("No M2M token matches the one given.")
        token = self.tokens[token_id]
        if token["revoked"]:
            raise _token_unknown("The M2M token was revoked.")
        if token["expiration"] <= self.store.clock.now_ms():
            raise _token_unknown("The M2M token has expired.")
        self._check_audience(token, caller)
        token["last_used_at"] = self.store.now()
        return self.view(token)

    @staticmethod
    def _check_audience(token: JSON, caller: str | None) -> None:
        """A machine verifies only the tokens granted access to it."""
        if caller is not None and caller not in token["scopes"]:
            raise _token_unknown("The M2M token does not grant access to this machine.")

    def _verify_jwt(self, value: str) -> JSON:
        try:
            header = jwt.get_unverified_header(value)
            # Times are judged by the emulator's clock below, not PyJWT's wall clock.
            payload = jwt.decode(
                value,
                self.api.key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise _token_unknown("The token is not an M2M token of this instance.") from None
        subject = payload.get("sub")
        if header.get("cat") != CATEGORY_M2M_TOKEN or subject not in self.items:
            raise _token_unknown("The token is not an M2M token of this instance.")
        exp = payload.get("exp")
        if not isinstance(exp, int) or exp <= self.store.clock.now():
            raise _token_unknown("The M2M token has expired.")
        raw_scopes = payload.get("scopes")
        scopes = raw_scopes.split() if isinstance(raw_scopes, str) else []
        custom = {k: v for k, v in payload.items() if k not in _JWT_REGISTERED}
        issued = int(payload.get("iat", 0)) * 1000
        return self._token_json(
            str(payload.get("jti")), subject, scopes, custom or None, issued, exp * 1000
        )


def _count(request: web.Request, name: str, default: int) -> int:
    """A paging parameter, which this operation types as a number (``10.0`` too)."""
    try:
        return int(float(request.query.get(name) or default))
    except (ValueError, OverflowError):
        raise ApiError(
            422,
            "form_param_format_invalid",
            f"{name} must be a finite number",
            param_name=name,
        ) from None


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
