"""The emulator's HTTP surface: an aiohttp.web application under ``/v1``."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import random
from collections.abc import Callable
from typing import Any

import attrs
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..auth._verify import CATEGORY_SESSION_TOKEN
from ._accounts import Accounts
from ._api_keys import ApiKeys
from ._behaviour import Authenticator, Behaviour, Handler
from ._bulk import ITEMS, Bulk
from ._credits import Credits
from ._domains import Domains
from ._filters import (
    INVITATION_ORDERS,
    ORGANIZATION_INVITATION_ORDERS,
    USER_ORDERS,
    invitation_predicates,
    matching,
    membership_orders,
    membership_predicates,
    order_field,
    ordered,
    organization_orders,
    organization_predicates,
    user_predicates,
)
from ._frontend import Frontend
from ._generic import GenericStore, Listing, Schemas, literal_first, routes_by_shape, shape
from ._identifiers import Identifiers
from ._machines import Machines
from ._memberships import Memberships, public_user_data
from ._oauth_apps import OAuthApps
from ._ratelimits import Enforcer
from ._restrictions import Restrictions, folded, identifier_type
from ._routes import ROUTES, Route
from ._store import (
    BOOLEAN,
    INTEGER,
    JSON,
    OBJECT,
    STRING,
    USER_FIELDS,
    ApiError,
    Store,
    check_password,
    check_types,
    not_found,
    page,
    param_invalid,
    param_missing,
    slugify,
)
from ._templates import Templates
from ._tickets import Tickets

# What validation read from a request, for the handler behind it.
QUERY = web.RequestKey("clerk_query", dict)
BODY = web.RequestKey("clerk_body", dict)

SECRET_PREFIX = "sk_test_"
MAX_LIMIT = 500
#: The largest request body read (aiohttp's own default), answered 413 beyond.
MAX_BODY_BYTES = 1024 * 1024
#: The deepest nesting of a JSON body accepted (metadata included); deeper is a 400.
MAX_BODY_DEPTH = 64
#: Operations Clerk also serves without the ``/v1`` prefix, where Clerk's JS SDK calls
#: them (its API key, OAuth access token and M2M token clients skip the version).
UNVERSIONED = ("/api_keys", "/oauth_applications/access_tokens/", "/m2m_tokens")

log = logging.getLogger("clerk_async.emulator")


@attrs.define
class Faults:
    """Misbehaviour to test a client's resilience, drawn from a seeded random source.

    Attributes:
        latency: seconds added before every answer.
        error_rate: fraction of requests answered 502/503 (transient failures).
        rate_limit_rate: fraction of requests answered 429 with ``Retry-After``.
        retry_after: the wait (seconds) those 429s ask for. Like Clerk, the header
            carries whole seconds: a fraction is rounded up (0.2 is sent as ``1``).
        drop_rate: fraction of connections closed without an answer.
        lost_answer_rate: fraction of requests carried out and then their connection
            closed before the answer: the change is made, the client never hears of it
            (what a resend must not apply twice).
        seed: seed of the random source.
        exact_retry_after: for in-process tests that want fast retries: send
            ``retry_after`` values as given (``Retry-After: 0.05``) instead of whole
            seconds. Clerk never sends a fraction, so keep it off to test the real thing.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    drop_rate: float = 0.0
    lost_answer_rate: float = 0.0
    seed: int = 0
    exact_retry_after: bool = False
    scripted: list[tuple[int, float]] = attrs.field(factory=list)
    _random: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fail_next(self, status: int = 429, *, count: int = 1, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` API requests with ``status`` (429 carries Retry-After,
        rounded up to whole seconds unless ``exact_retry_after`` is set)."""
        self.scripted.extend([(status, retry_after)] * count)

    def retry_after_header(self, seconds: float) -> str:
        """The ``Retry-After`` value sent for a wait of ``seconds``."""
        if self.exact_retry_after:
            return f"{max(seconds, 0.0):g}"
        return str(max(math.ceil(seconds), 0))

    def lose_answer(self) -> bool:
        """Whether the answer of a request just carried out is lost."""
        return bool(self.lost_answer_rate) and self._random.random() < self.lost_answer_rate

    def draw(self) -> tuple[str, int, float] | None:
        """The fault for the next request, if any: a scripted one first, else a random draw."""
        if self.scripted:
            status, retry_after = self.scripted.pop(0)
            return ("status", status, retry_after)
        roll = self._random.random
        if self.drop_rate and roll() < self.drop_rate:
            return ("drop", 0, 0.0)
        if self.rate_limit_rate and roll() < self.rate_limit_rate:
            return ("status", 429, self.retry_after)
        if self.error_rate and roll() < self.error_rate:
            return ("status", self._random.choice((502, 503)), 0.0)
        return None


_HTTP_CODES = {413: "request_body_too_large", 400: "malformed_request", 405: "method_not_allowed"}


def _too_deep() -> ApiError:
    return ApiError(
        400,
        "malformed_request",
        "The body is nested too deeply.",
        long_message=f"JSON bodies may nest at most {MAX_BODY_DEPTH} levels.",
    )


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` deep (no recursion)."""
    todo: list[tuple[object, int]] = [(value, 1)]
    while todo:
        current, depth = todo.pop()
        if depth > limit:
            return True
        if isinstance(current, dict):
            todo.extend((v, depth + 1) for v in current.values() if isinstance(v, (dict, list)))
        elif isinstance(current, list):
            todo.extend((v, depth + 1) for v in current if isinstance(v, (dict, list)))
    return False


def _served_at(path: str) -> tuple[str, ...]:
    """The paths a ``/v1`` operation answers at: also unversioned for some."""
    bare = path.removeprefix("/v1")
    return (path, bare) if bare.startswith(UNVERSIONED) else (path,)


class Api:
    """Routes, authentication, faults and the handlers of every emulated operation."""

    def __init__(
        self, store: Store, faults: Faults, *, issuer: str = "https://clerk.emulator.invalid"
    ) -> None:
        self.store = store
        self.faults = faults
        self.issuer = issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "ins_emulator_" + store.ids.new("k")[2:14]
        self.public_pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.requests = 0
        self.log: list[tuple[str, str, int]] = []
        #: Called with the request and the JSON answer of every successful change
        #: (webhook delivery listens here).
        self.on_change: Callable[[web.Request, JSON], None] | None = None
        self._trace = 0
        # Clerk's rate limits, when the emulator is asked to enforce them.
        self.rate_limits: Enforcer | None = None
        #: The ``azp`` of tokens whose session names no party of its own (the
        #: emulator's URL once it serves, unless ``Emulator(authorized_party=...)``).
        self.authorized_party: str | None = None
        #: session id -> the ``Origin`` of the request that created the session
        self.session_parties: dict[str, str] = {}
        self.schemas = Schemas()
        self.generic = GenericStore(self.schemas, now=store.now, new_id=store.ids.new)
        self.app = web.Application(middlewares=[self._middleware], client_max_size=MAX_BODY_BYTES)
        #: the Frontend API stand-in (handshake, browser cookies, machine JWTs)
        self.frontend = Frontend(self)
        #: hand-written behaviour outside this module, each adding its ``routes()``
        self.templates = Templates(self)
        self.machines = Machines(self)
        self.api_keys = ApiKeys(self)
        self.oauth_apps = OAuthApps(self)
        self.tickets = Tickets(self)
        self.domains = Domains(self)
        #: sign-up restrictions, the blocklist and the instance's settings
        self.restrictions = Restrictions(self)
        self.behaviours: list[Behaviour] = [
            self.templates,
            self.tickets,
            self.domains,
            self.restrictions,
            Bulk(self),
            Memberships(self),
            Identifiers(self),
            Accounts(self),
            Credits(self),
            self.machines,
            self.api_keys,
            self.oauth_apps,
        ]
        #: the behaviours that accept credentials of their own (a machine's secret key)
        self.authenticators = [b for b in self.behaviours if isinstance(b, Authenticator)]
        self._routes()

    # -- plumbing ----------------------------------------------------------------------

    def _routes(self) -> None:
        r = self.app.router
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/v1/jwks", self.jwks),
            ("GET", "/v1/users", self.list_users),
            ("GET", "/v1/users/count", self.count_users),
            ("POST", "/v1/users", self.create_user),
            ("GET", "/v1/users/{user_id}", self.get_user),
            ("PATCH", "/v1/users/{user_id}", self.update_user),
            ("DELETE", "/v1/users/{user_id}", self.delete_user),
            ("PATCH", "/v1/users/{user_id}/metadata", self.merge_user_metadata),
            ("PUT", "/v1/users/{user_id}/metadata", self.replace_user_metadata),
            ("POST", "/v1/users/{user_id}/ban", self.flag_user("banned", True)),
            ("POST", "/v1/users/{user_id}/unban", self.flag_user("banned", False)),
            ("POST", "/v1/users/{user_id}/lock", self.flag_user("locked", True)),
            ("POST", "/v1/users/{user_id}/unlock", self.flag_user("locked", False)),
            ("POST", "/v1/users/{user_id}/verify_password", self.verify_password),
            ("GET", "/v1/organizations", self.list_organizations),
            ("POST", "/v1/organizations", self.create_organization),
            ("GET", "/v1/organizations/{org}", self.get_organization),
            ("PATCH", "/v1/organizations/{org}", self.update_organization),
            ("DELETE", "/v1/organizations/{org}", self.delete_organization),
            ("PATCH", "/v1/organizations/{org}/metadata", self.merge_organization_metadata),
            ("PUT", "/v1/organizations/{org}/metadata", self.replace_organization_metadata),
            ("GET", "/v1/organizations/{org}/memberships", self.list_memberships),
            ("POST", "/v1/organizations/{org}/memberships", self.create_membership),
            ("PATCH", "/v1/organizations/{org}/memberships/{user_id}", self.update_membership),
            ("DELETE", "/v1/organizations/{org}/memberships/{user_id}", self.delete_membership),
            ("GET", "/v1/organizations/{org}/invitations", self.list_org_invitations),
            ("POST", "/v1/organizations/{org}/invitations", self.create_org_invitation),
            (
                "POST",
                "/v1/organizations/{org}/invitations/{inv}/revoke",
                self.revoke_org_invitation,
            ),
            ("GET", "/v1/invitations", self.list_invitations),
            ("POST", "/v1/invitations", self.create_invitation),
            ("POST", "/v1/invitations/{inv}/revoke", self.revoke_invitation),
            ("GET", "/v1/allowlist_identifiers", self.list_allowlist),
            ("POST", "/v1/allowlist_identifiers", self.create_allowlist),
            ("DELETE", "/v1/allowlist_identifiers/{identifier_id}", self.delete_allowlist),
            ("GET", "/v1/sessions", self.list_sessions),
            ("POST", "/v1/sessions", self.create_session),
            ("GET", "/v1/sessions/{session_id}", self.get_session),
            ("POST", "/v1/sessions/{session_id}/revoke", self.revoke_session),
            ("POST", "/v1/sessions/{session_id}/tokens", self.create_session_token),
            ("GET", "/v1/clients", self.list_clients),
            ("GET", "/v1/clients/{client_id}", self.get_client),
            ("POST", "/v1/clients/verify", self.verify_client),
            ("POST", "/v1/emails", self.retired),
            ("POST", "/v1/sms_messages", self.retired),
            ("POST", "/v1/sessions/{session_id}/verify", self.retired),
        ]
        # Behaviour kept in modules of its own, each adding its routes to the table.
        for behaviour in self.behaviours:
            table.extend(behaviour.routes())
        for method, path, handler in self.frontend.routes(self._wrap):
            r.add_route(method, path, handler)
        by_shape = routes_by_shape()
        for method, path, handler in table:
            route = by_shape.get((method, shape(path.removeprefix("/v1"))))
            for served_at in _served_at(path):
                r.add_route(method, served_at, self._wrap(handler, route))
        # Every other operation of the spec: the generic emulation, driven by its schemas.
        served = {(method, shape(path.removeprefix("/v1"))) for method, path, _ in table}
        #: (method, spec path) of the operations answered by the generic emulation.
        self.generic_routes: set[tuple[str, str]] = set()
        for route in literal_first(ROUTES):
            if (route.method, shape(route.path)) not in served:
                self.generic_routes.add((route.method, route.path))
                for served_at in _served_at("/v1" + route.path):
                    r.add_route(
                        route.method, served_at, self._wrap(self.generic_handler(route), route)
                    )
        r.add_route("*", "/{tail:.*}", self.not_emulated)

    def trace_id(self) -> str:
        self._trace += 1
        return f"emu_trace_{self._trace:08d}"

    def error(self, exc: ApiError, headers: dict[str, str] | None = None) -> web.Response:
        return json_answer(exc.body(self.trace_id()), status=exc.status, headers=headers)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        # What the clock has made due (expiry) happens before the request reads the state.
        self.store.settle()
        auth = request.headers.get("Authorization", "")
        if (
            (request.path.startswith("/v1/") or request.path.startswith(UNVERSIONED))
            and request.path not in self.frontend.public_paths
            and not (
                auth.startswith("Bearer " + SECRET_PREFIX)
                and len(auth) > len("Bearer " + SECRET_PREFIX)
            )
            and not any(b.authenticates(request) for b in self.authenticators)
        ):
            self.log.append((request.method, request.path, 401))
            return self.error(
                ApiError(
                    401,
                    "authentication_invalid",
                    "Invalid authentication",
                    long_message="Send Authorization: Bearer sk_test_... with a test secret key.",
                )
            )
        if self.rate_limits is not None:
            wait = self.rate_limits.check(request.method, request.path)
            if wait is not None:
                self.log.append((request.method, request.path, 429))
                refusal = ApiError(429, "too_many_requests", "Too many requests")
                return self.error(refusal, {"Retry-After": str(wait)})
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.draw()
        if fault is not None:
            kind, status, retry_after = fault
            if kind == "drop":
                if request.transport is not None:
                    request.transport.close()
                self.log.append((request.method, request.path, 0))
                return web.Response(status=500)
            headers = (
                {"Retry-After": self.faults.retry_after_header(retry_after)}
                if status == 429
                else None
            )
            code = "too_many_requests" if status == 429 else "internal_clerk_error"
            self.log.append((request.method, request.path, status))
            return self.error(ApiError(status, code, "Injected fault"), headers)
        answer: web.StreamResponse = await handler(request)
        if self.faults.lose_answer() and request.transport is not None:
            request.transport.close()  # done, but the answer never leaves
            self.log.append((request.method, request.path, 0))
            return answer
        self.log.append((request.method, request.path, answer.status))
        return answer

    def _wrap(self, handler: Handler, route: Route | None = None) -> Handler:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                if route is not None:
                    await self.validate(request, route)
                result = await handler(request)
            except ApiError as exc:
                return self.error(exc)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                # aiohttp's own refusals (a body over the size limit, ...) answer in
                # plain text; Clerk answers every error with its JSON document.
                return self.error(
                    ApiError(exc.status, _HTTP_CODES.get(exc.status, "request_invalid"), exc.reason)
                )
            except Exception:
                # A bug of the emulator still answers the way Clerk fails: a JSON error.
                log.exception("emulator error in %s %s", request.method, request.path)
                return self.error(
                    ApiError(
                        500,
                        "internal_clerk_error",
                        "Oops, something went wrong",
                        long_message=f"The emulator failed to answer {request.method} "
                        f"{request.path}; its log has the traceback.",
                    )
                )
            if isinstance(result, web.StreamResponse):
                return result
            if isinstance(result, Listing):
                # The JS SDK asks bare-array lists for an envelope with paginated=true.
                if request.query.get("paginated") == "true":
                    result = {"data": result.items, "total_count": result.total}
                else:
                    result = result.items
            status = route.status if route is not None else 200
            if result is None or status == 204:
                return web.Response(status=204 if status == 204 else status)
            if self.on_change is not None and request.method != "GET" and isinstance(result, dict):
                self.on_change(request, result)
            return json_answer(result, status=status)

        return run

    async def not_emulated(self, request: web.Request) -> web.Response:
        # Every operation of the spec has a route; anything else is not part of the API.
        return self.error(
            ApiError(
                404,
                "resource_not_found",
                "not found",
                long_message=f"{request.method} {request.path} is not an operation of the "
                "Backend API.",
            )
        )

    async def validate(self, request: web.Request, route: Route) -> None:
        """Reject what the spec forbids before any behaviour runs: unknown or mistyped
        query parameters and body fields, missing required ones, bounds and enums."""
        request[QUERY] = self.schemas.query(route.query_schema, request.query)
        if route.body == "json" and route.body_schema:
            schema = self.schemas.get(route.body_schema)
            if self.schemas.flat(schema).get("type") == "array":
                items = await self._json(request)
                if not isinstance(items, list):
                    raise ApiError(400, "malformed_request", "The body must be a JSON array.")
                self.schemas.validate(schema, items, "")
                request[ITEMS] = items
                return
            body = await self.body(request)
            self.schemas.validate(schema, body, "")
            request[BODY] = body

    def generic_handler(self, route: Route) -> Handler:
        async def handler(request: web.Request) -> Any:
            body = request.get(BODY) or {}
            if route.body == "multipart":
                body = {}
                form = await request.post()
                body = {k: v for k, v in form.items() if isinstance(v, str)}
            self.check_owners(request)
            return self.generic.answer(
                route, request.path.removeprefix("/v1"), body, request[QUERY]
            )

        return handler

    def check_owners(self, request: web.Request) -> None:
        """A 404 when a path names a user, organization, session or client that does not exist."""
        for name, value in request.match_info.items():
            if name == "user_id":
                self.store.user(value)
            elif name == "organization_id":
                self.store.organization(value)
            elif name == "session_id":
                self.session(value)
            elif name == "client_id" and value not in self.store.clients:
                raise not_found("client")

    async def retired(self, request: web.Request) -> web.Response:
        name = operation_name(request.method, request.path)
        return self.error(
            ApiError(
                410,
                "operation_retired",
                f"{name} has been retired",
                long_message=f"{request.method} {request.path} is no longer available.",
                operation=name,
            )
        )

    # -- helpers -----------------------------------------------------------------------

    @classmethod
    async def body(cls, request: web.Request) -> JSON:
        if BODY in request:  # read (and validated) already
            return request[BODY]
        if not request.can_read_body:
            return {}
        data = await cls._json(request)
        if not isinstance(data, dict):
            raise ApiError(400, "malformed_request", "The body must be a JSON object.")
        return data

    @staticmethod
    async def _json(request: web.Request) -> Any:
        """The body's JSON value (refused when unreadable or nested too deeply)."""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(
                413,
                "request_body_too_large",
                "The request body is too large.",
                long_message=f"Request bodies are limited to {MAX_BODY_BYTES} bytes.",
            ) from None
        except web.RequestPayloadError:  # a Content-Encoding the body does not match, ...
            raise ApiError(400, "malformed_request", "The body could not be read.") from None
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _too_deep() from None
        except ValueError:
            raise ApiError(400, "malformed_request", "The body is not valid JSON.") from None
        if _depth_exceeds(data, MAX_BODY_DEPTH):
            raise _too_deep()
        return data

    @staticmethod
    def paging(request: web.Request) -> tuple[int, int]:
        query = request.query
        try:
            limit = int(query.get("limit", "10"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            raise param_invalid("limit", "limit and offset must be integers.") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise param_invalid("limit", f"limit must be between 1 and {MAX_LIMIT}.")
        if offset < 0:
            raise param_invalid("offset", "offset must be 0 or more.")
        return limit, offset

    # -- JWKS and tokens -----------------------------------------------------------------

    async def jwks(self, request: web.Request) -> JSON:
        key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        key.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [key]}

    def mint(
        self,
        session: JSON,
        *,
        expires_in: int = 60,
        azp: str | None = None,
        now: int | None = None,
    ) -> str:
        now = int(self.store.clock.now()) if now is None else now
        claims: JSON = {
            "sub": session["user_id"],
            "sid": session["id"],
            "iss": self.issuer,
            "iat": now,
            "nbf": now - 5,
            "exp": now + expires_in,
            "v": 2,
            "sts": session["status"],
        }
        # The party: the one asked for, else the origin the session was created from,
        # else the emulator-wide default; tokens always carry one, as Clerk's do.
        azp = azp or self.session_parties.get(session["id"]) or self.authorized_party
        if azp:
            claims["azp"] = azp
        claims.update(self.frontend.session_claims.get(session["id"], {}))
        org_id = session.get("last_active_organization_id")
        if org_id:
            org = self.store.organizations.get(org_id)
            member = self.store.memberships.get(org_id, {}).get(session["user_id"])
            if org and member:
                claims["o"] = {
                    "id": org_id,
                    "slg": org["slug"],
                    "rol": member["role"].removeprefix("org:"),
                }
        return jwt.encode(
            claims,
            self.key,
            algorithm="RS256",
            headers={"kid": self.kid, "cat": CATEGORY_SESSION_TOKEN},
        )

    # -- users -------------------------------------------------------------------------

    async def list_users(self, request: web.Request) -> list[JSON]:
        limit, offset = self.paging(request)
        return page(self._users(request), offset, limit)

    def _users(self, request: web.Request) -> Any:
        raw = request.query
        field, descending = order_field(raw, "-created_at")
        after = raw.get("starting_after")
        if after is not None and field != "created_at":
            raise param_invalid("starting_after", "starting_after needs the created_at ordering.")
        store = self.store
        users: Any
        if field == "created_at":
            # The created_at orderings walk the store's creation index (the cursor's).
            users = (
                store.users_newest_first(after) if descending else store.users_oldest_first(after)
            )
        else:
            users = ordered(store.users.values(), raw, USER_ORDERS, what="users")
        return matching(users, user_predicates(request.get(QUERY, {}), store))

    async def count_users(self, request: web.Request) -> JSON:
        users = matching(
            self.store.users.values(), user_predicates(request.get(QUERY, {}), self.store)
        )
        return {"object": "total_count", "total_count": sum(1 for _ in users)}

    async def create_user(self, request: web.Request) -> JSON:
        body = await self.body(request)
        self.restrictions.check_user(body)
        return self.store.make_user(body)

    async def get_user(self, request: web.Request) -> JSON:
        return self.store.user(request.match_info["user_id"])

    async def update_user(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        body = await self.body(request)
        check_types(body, USER_UPDATE_FIELDS)
        if body.get("password") is not None and not body.get("skip_password_checks"):
            check_password(body["password"])
        primaries = {k: body[k] for k in PRIMARY_IDENTIFIERS if body.get(k) is not None}
        for field, chosen in primaries.items():
            kind = PRIMARY_IDENTIFIERS[field]
            if chosen not in {item["id"] for item in user[kind]}:
                raise param_invalid(field, f"{chosen} is not one of this user's {kind}")
        identifiers = {k: body[k] for k in ("username", "external_id") if k in body}
        self.store.set_identifiers(user, **identifiers)
        self.store.set_second_factors(user, body)
        user.update(primaries)
        if body.get("password") is not None:
            user["password_enabled"] = True
            self.store.set_password(user["id"], body["password"])
        for field in ("first_name", "last_name", "locale"):
            if field in body:
                user[field] = body[field]
        for field in ("public_metadata", "private_metadata", "unsafe_metadata"):
            if field in body:  # update replaces metadata wholesale
                user[field] = dict(body[field] or {})
        user["updated_at"] = self.store.now()
        return user

    async def delete_user(self, request: web.Request) -> JSON:
        return self.store.delete_user(request.match_info["user_id"])

    async def merge_user_metadata(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        body = await self.body(request)
        check_types(body, USER_METADATA_FIELDS)
        for field in ("public_metadata", "private_metadata", "unsafe_metadata"):
            if field in body:
                user[field] = deep_merge(user.get(field) or {}, body[field] or {})
        user["updated_at"] = self.store.now()
        return user

    async def replace_user_metadata(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        body = await self.body(request)
        check_types(body, USER_METADATA_FIELDS)
        for field in ("public_metadata", "private_metadata", "unsafe_metadata"):
            if field in body:
                user[field] = dict(body[field] or {})
        user["updated_at"] = self.store.now()
        return user

    async def verify_password(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        body = await self.body(request)
        password = body.get("password")
        if not isinstance(password, str) or not password:
            raise param_missing("password")
        if not self.store.password_matches(user["id"], password):
            raise ApiError(
                422, "form_password_incorrect", "Password is incorrect.", param_name="password"
            )
        return {"verified": True}

    def flag_user(self, field: str, value: bool) -> Handler:
        async def handler(request: web.Request) -> JSON:
            user = self.store.user(request.match_info["user_id"])
            user[field] = value
            if field == "locked":
                user["lockout_expires_in_seconds"] = 3600 if value else None
            if field == "banned" and value:
                self.store.end_sessions(user["id"])  # a ban signs the user out, as bulk_ban
            user["updated_at"] = self.store.now()
            return user

        return handler

    # -- organizations ---------------------------------------------------------------------

    def _org_json(self, org: JSON, request: web.Request | None = None) -> JSON:
        """The organization as sent: a copy (the stored one stays free of derived
        fields), with its counts only when the request asks ``include_members_count``
        and the elevated-member flag only with
        ``include_missing_member_with_elevated_permissions``, as the spec ties them."""
        public = dict(org)
        if public.get("created_by") is None:
            public.pop("created_by", None)  # the spec types it as a string: absent, not null
        query = request.get(QUERY, {}) if request is not None else {}
        if query.get("include_members_count"):
            public["members_count"] = self.store.membership_count(org["id"])
            public["pending_invitations_count"] = sum(
                1
                for inv in self.store.org_invitations.get(org["id"], {}).values()
                if inv["status"] == "pending"
            )
        if query.get("include_missing_member_with_elevated_permissions"):
            public["missing_member_with_elevated_permissions"] = not any(
                m["role"] == "org:admin" for m in self.store.memberships.get(org["id"], {}).values()
            )
        return public

    async def list_organizations(self, request: web.Request) -> JSON:
        limit, offset = self.paging(request)
        store = self.store
        orgs = ordered(
            matching(
                store.organizations.values(), organization_predicates(request.get(QUERY, {}), store)
            ),
            request.query,
            organization_orders(store),
            what="organizations",
        )
        return {
            "data": [self._org_json(o, request) for o in orgs[offset : offset + limit]],
            "total_count": len(orgs),
        }

    async def create_organization(self, request: web.Request) -> JSON:
        body = await self.body(request)
        check_types(body, ORGANIZATION_FIELDS)
        name = body.get("name")
        if not name:
            raise param_missing("name")
        slug = body.get("slug") or slugify(name)
        if slug in self.store.slugs:
            raise ApiError(422, "form_identifier_exists", "That slug is taken.", param_name="slug")
        created_by = body.get("created_by")
        if created_by is not None:
            self.store.user(created_by)
        now = self.store.now()
        org: JSON = {
            "object": "organization",
            "id": self.store.ids.new("org"),
            "name": name,
            "slug": slug,
            "image_url": "https://img.clerk.com/emulated-org",
            "has_image": False,
            "max_allowed_memberships": int(body.get("max_allowed_memberships") or 0),
            "admin_delete_enabled": True,
            "public_metadata": dict(body.get("public_metadata") or {}),
            "private_metadata": dict(body.get("private_metadata") or {}),
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        }
        self.store.organizations[org["id"]] = org
        self.store.slugs[slug] = org["id"]
        if created_by is not None:
            self._add_member(org, created_by, "org:admin")
        return self._org_json(org)

    async def get_organization(self, request: web.Request) -> JSON:
        return self._org_json(self.store.organization(request.match_info["org"]), request)

    async def update_organization(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        body = await self.body(request)
        check_types(body, ORGANIZATION_FIELDS)
        if body.get("slug") is not None and body["slug"] != org["slug"]:
            if body["slug"] in self.store.slugs:
                raise ApiError(
                    422, "form_identifier_exists", "That slug is taken.", param_name="slug"
                )
            del self.store.slugs[org["slug"]]
            self.store.slugs[body["slug"]] = org["id"]
        for field in ("name", "slug", "max_allowed_memberships", "admin_delete_enabled"):
            if field in body and body[field] is not None:
                org[field] = body[field]
        for field in ("public_metadata", "private_metadata"):
            if field in body:
                org[field] = dict(body[field] or {})
        org["updated_at"] = self.store.now()
        return self._org_json(org)

    async def delete_organization(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        del self.store.organizations[org["id"]]
        del self.store.slugs[org["slug"]]
        self.store.memberships.pop(org["id"], None)
        self.store.org_invitations.pop(org["id"], None)
        self.domains.drop_organization(org["id"])
        for session in self.store.sessions.values():  # no session stays active in it
            if session.get("last_active_organization_id") == org["id"]:
                session["last_active_organization_id"] = None
        return {"object": "organization", "id": org["id"], "slug": org["slug"], "deleted": True}

    async def merge_organization_metadata(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        body = await self.body(request)
        check_types(body, ORGANIZATION_METADATA_FIELDS)
        for field in ("public_metadata", "private_metadata"):
            if field in body:
                org[field] = deep_merge(org.get(field) or {}, body[field] or {})
        org["updated_at"] = self.store.now()
        return self._org_json(org)

    async def replace_organization_metadata(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        body = await self.body(request)
        check_types(body, ORGANIZATION_METADATA_FIELDS)
        for field in ("public_metadata", "private_metadata"):
            if field in body:
                org[field] = dict(body[field] or {})
        org["updated_at"] = self.store.now()
        return self._org_json(org)

    # -- memberships ------------------------------------------------------------------------

    def _add_member(self, org: JSON, user_id: str, role: str, body: JSON | None = None) -> JSON:
        user = self.store.user(user_id)
        members = self.store.memberships.setdefault(org["id"], {})
        if user_id in members:
            raise ApiError(
                422,
                "already_a_member_in_organization",
                "The user is already a member.",
                param_name="user_id",
            )
        limit = org.get("max_allowed_memberships") or 0
        if limit and len(members) >= limit:
            raise ApiError(
                403, "organization_membership_quota_exceeded", "The organization is full."
            )
        now = self.store.now()
        membership: JSON = {
            "object": "organization_membership",
            "id": self.store.ids.new("orgmem"),
            "role": role,
            "role_name": role.removeprefix("org:").title(),
            "permissions": ROLE_PERMISSIONS.get(role, []),
            "public_metadata": dict((body or {}).get("public_metadata") or {}),
            "private_metadata": dict((body or {}).get("private_metadata") or {}),
            "organization": org,
            "public_user_data": public_user_data(user),
            "created_at": now,
            "updated_at": now,
        }
        members[user_id] = membership
        return self._membership_json(membership)

    def _membership_json(self, membership: JSON) -> JSON:
        # The stored membership holds the stored organization (changes show through);
        # the answer carries that organization as it is sent everywhere else.
        # The member's public data is read from the user as it is now (a changed name,
        # primary email address or image shows).
        user = self.store.users.get(membership["public_user_data"]["user_id"])
        return {
            **membership,
            "organization": self._org_json(membership["organization"]),
            "public_user_data": membership["public_user_data"]
            if user is None
            else public_user_data(user),
        }

    def _membership(self, request: web.Request) -> tuple[JSON, JSON]:
        org = self.store.organization(request.match_info["org"])
        member = self.store.memberships.get(org["id"], {}).get(request.match_info["user_id"])
        if member is None:
            raise not_found("organization membership")
        return org, member

    async def list_memberships(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        limit, offset = self.paging(request)
        store = self.store
        members = matching(
            store.memberships.get(org["id"], {}).values(),
            membership_predicates(request.get(QUERY, {}), store),
        )
        chosen = ordered(members, request.query, membership_orders(store), what="memberships")
        return {
            "data": [self._membership_json(m) for m in chosen[offset : offset + limit]],
            "total_count": len(chosen),
        }

    async def create_membership(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        body = await self.body(request)
        check_types(body, MEMBERSHIP_FIELDS)
        for field in ("user_id", "role"):
            if not body.get(field):
                raise param_missing(field)
        membership = self._add_member(org, body["user_id"], body["role"], body)
        org["updated_at"] = self.store.now()
        return membership

    async def update_membership(self, request: web.Request) -> JSON:
        _, member = self._membership(request)
        body = await self.body(request)
        check_types(body, MEMBERSHIP_FIELDS)
        if not body.get("role"):
            raise param_missing("role")
        member["role"] = body["role"]
        member["role_name"] = body["role"].removeprefix("org:").title()
        member["permissions"] = ROLE_PERMISSIONS.get(body["role"], [])
        member["updated_at"] = self.store.now()
        return self._membership_json(member)

    async def delete_membership(self, request: web.Request) -> JSON:
        org, member = self._membership(request)
        del self.store.memberships[org["id"]][request.match_info["user_id"]]
        return self._membership_json(member)

    # -- organization invitations -------------------------------------------------------------

    async def list_org_invitations(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        limit, offset = self.paging(request)
        invitations = ordered(
            matching(
                self.store.org_invitations.get(org["id"], {}).values(),
                invitation_predicates(request.get(QUERY, {})),
            ),
            request.query,
            ORGANIZATION_INVITATION_ORDERS,
            what="organization invitations",
        )
        return {"data": invitations[offset : offset + limit], "total_count": len(invitations)}

    async def create_org_invitation(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        return self.new_org_invitation(org, await self.body(request))

    def new_org_invitation(self, org: JSON, body: JSON) -> JSON:
        """Check ``body`` (one invitation to ``org``) and create it."""
        check_types(body, ORG_INVITATION_FIELDS)
        for field in ("email_address", "role"):
            if not body.get(field):
                raise param_missing(field)
        email = body["email_address"].lower()
        self.restrictions.check_invitation(body["email_address"])
        pending = self.store.org_invitations.setdefault(org["id"], {})
        if any(
            i["email_address"].lower() == email and i["status"] == "pending"
            for i in pending.values()
        ):
            raise ApiError(
                422,
                "duplicate_record",
                "There is already a pending invitation for this email address.",
                param_name="email_address",
            )
        inviter_id = body.get("inviter_user_id")
        inviter = self.store.user(inviter_id) if inviter_id else None
        now = self.store.now()
        invitation: JSON = {
            "object": "organization_invitation",
            "id": self.store.ids.new("orginv"),
            "email_address": body["email_address"],
            "role": body["role"],
            "role_name": body["role"].removeprefix("org:").title(),
            "organization_id": org["id"],
            "inviter_id": inviter_id,
            "public_inviter_data": None
            if inviter is None
            else {
                "user_id": inviter["id"],
                "first_name": inviter["first_name"],
                "last_name": inviter["last_name"],
                "image_url": inviter["image_url"],
                "has_image": inviter["has_image"],
                "identifier": (inviter["email_addresses"] or [{"email_address": inviter["id"]}])[0][
                    "email_address"
                ],
            },
            "status": "pending",
            "public_metadata": dict(body.get("public_metadata") or {}),
            "private_metadata": dict(body.get("private_metadata") or {}),
            "url": f"https://accounts.emulator.invalid/invitation/{org['id']}",
            "expires_at": now + int(body.get("expires_in_days") or 30) * 86_400_000,
            "created_at": now,
            "updated_at": now,
        }
        pending[invitation["id"]] = invitation
        self.store.at(invitation["expires_at"], _lapse(invitation))
        return invitation

    async def revoke_org_invitation(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        invitation = self.store.org_invitations.get(org["id"], {}).get(request.match_info["inv"])
        if invitation is None:
            raise not_found("organization invitation")
        if invitation["status"] != "pending":
            raise ApiError(
                400,
                "organization_invitation_not_pending",
                "Only pending invitations can be revoked.",
            )
        invitation["status"] = "revoked"
        invitation["updated_at"] = self.store.now()
        return invitation

    # -- invitations and allowlist ----------------------------------------------------------

    async def list_invitations(self, request: web.Request) -> Listing:
        limit, offset = self.paging(request)
        invitations = ordered(
            matching(
                self.store.invitations.values(), invitation_predicates(request.get(QUERY, {}))
            ),
            request.query,
            INVITATION_ORDERS,
            what="invitations",
        )
        return Listing(invitations[offset : offset + limit], len(invitations))

    async def create_invitation(self, request: web.Request) -> JSON:
        return self.new_invitation(await self.body(request))

    def new_invitation(self, body: JSON, *, bulk: bool = False) -> JSON:
        """Check ``body`` (one invitation) and create it; in a ``bulk`` one an existing
        user refuses the invitation even with ``ignore_existing``."""
        check_types(body, INVITATION_FIELDS)
        email = body.get("email_address")
        if not email:
            raise param_missing("email_address")
        if "@" not in email:
            raise param_invalid("email_address", f"{email!r} is not a valid email address.")
        self.restrictions.check_invitation(email)
        if bulk and email.lower() in self.store.emails:
            raise ApiError(
                422,
                "form_identifier_exists",
                "A user with this email address already exists.",
                param_name="email_address",
            )
        if not body.get("ignore_existing"):
            if any(
                i["email_address"].lower() == email.lower() and i["status"] == "pending"
                for i in self.store.invitations.values()
            ):
                raise ApiError(
                    422,
                    "duplicate_record",
                    "There is already a pending invitation for this email address.",
                    param_name="email_address",
                )
            if email.lower() in self.store.emails:
                raise ApiError(
                    422,
                    "form_identifier_exists",
                    "A user with this email address already exists.",
                    param_name="email_address",
                )
        now = self.store.now()
        invitation: JSON = {
            "object": "invitation",
            "id": self.store.ids.new("inv"),
            "email_address": email,
            "public_metadata": dict(body.get("public_metadata") or {}),
            "revoked": False,
            "status": "pending",
            "url": "https://accounts.emulator.invalid/sign-up",
            "expires_at": now + int(body.get("expires_in_days") or 30) * 86_400_000,
            "created_at": now,
            "updated_at": now,
        }
        self.store.invitations[invitation["id"]] = invitation
        self.store.at(invitation["expires_at"], _lapse(invitation))
        return invitation

    async def revoke_invitation(self, request: web.Request) -> JSON:
        invitation = self.store.invitations.get(request.match_info["inv"])
        if invitation is None:
            raise not_found("invitation")
        if invitation["status"] != "pending":
            raise ApiError(
                400, "revoke_invitation_not_pending", "Only pending invitations can be revoked."
            )
        invitation.update(status="revoked", revoked=True, updated_at=self.store.now())
        return invitation

    async def list_allowlist(self, request: web.Request) -> Listing:
        limit, offset = self.paging(request)
        items = sorted(self.store.allowlist.values(), key=lambda i: i["created_at"], reverse=True)
        return Listing(items[offset : offset + limit], len(items))

    async def create_allowlist(self, request: web.Request) -> JSON:
        body = await self.body(request)
        check_types(body, {"identifier": STRING, "notify": BOOLEAN})
        identifier = body.get("identifier")
        if not identifier:
            raise param_missing("identifier")
        # Addresses and wallets compare without case, as the restrictions match them.
        if any(
            folded(i["identifier"]) == folded(identifier) for i in self.store.allowlist.values()
        ):
            raise ApiError(
                422,
                "duplicate_record",
                "This identifier is already on the allowlist.",
                param_name="identifier",
            )
        now = self.store.now()
        item: JSON = {
            "object": "allowlist_identifier",
            "id": self.store.ids.new("alid"),
            "identifier": identifier,
            "identifier_type": identifier_type(identifier),
            "instance_id": "ins_emulator",
            "created_at": now,
            "updated_at": now,
        }
        self.store.allowlist[item["id"]] = item
        return item

    async def delete_allowlist(self, request: web.Request) -> JSON:
        item = self.store.allowlist.pop(request.match_info["identifier_id"], None)
        if item is None:
            raise not_found("allowlist identifier")
        return {"object": "allowlist_identifier", "id": item["id"], "deleted": True}

    # -- sessions and clients ----------------------------------------------------------------

    def session(self, session_id: str) -> JSON:
        session = self.store.sessions.get(session_id)
        if session is None:
            raise not_found("session")
        return session

    @staticmethod
    def check_active(session: JSON) -> None:
        """Refuse to mint a token for a session that is not active (expired, revoked...)."""
        if session["status"] != "active":
            raise ApiError(
                404,
                "session_not_active",
                f"The session is {session['status']}.",
                long_message="Tokens can only be minted for active sessions.",
                param_name="session_id",
            )

    async def list_sessions(self, request: web.Request) -> Listing:
        q = request.query
        user_id, client_id, status = q.get("user_id"), q.get("client_id"), q.get("status")
        if not user_id and not client_id:
            raise ApiError(
                422,
                "form_param_missing",
                "Either user_id or client_id is required.",
                param_name="user_id",
            )
        limit, offset = self.paging(request)
        sessions = [
            s
            for s in self.store.sessions.values()
            if (not user_id or s["user_id"] == user_id)
            and (not client_id or s["client_id"] == client_id)
            and (not status or s["status"] == status)
        ]
        sessions.sort(key=lambda s: s["created_at"], reverse=True)
        return Listing(sessions[offset : offset + limit], len(sessions))

    async def create_session(self, request: web.Request) -> JSON:
        body = await self.body(request)
        check_types(body, {"user_id": STRING, "active_organization_id": STRING})
        user_id = body.get("user_id")
        if not user_id:
            raise param_missing("user_id")
        user = self.store.user(user_id)
        if user["banned"]:
            raise ApiError(403, "user_banned", "The user is banned.")
        if user["locked"]:
            raise ApiError(423, "user_locked", "The user is locked.")
        org_id = body.get("active_organization_id")
        if org_id and user_id not in self.store.memberships.get(org_id, {}):
            raise param_invalid(
                "active_organization_id", "The user is not a member of that organization."
            )
        session = self.store.start_session(user_id, organization_id=org_id)
        origin = request.headers.get("Origin")
        if origin and origin != "null":
            self.session_parties[session["id"]] = origin
        user["last_sign_in_at"] = user["last_active_at"] = session["created_at"]
        return session

    async def get_session(self, request: web.Request) -> JSON:
        return self.session(request.match_info["session_id"])

    async def revoke_session(self, request: web.Request) -> JSON:
        session = self.session(request.match_info["session_id"])
        session["status"] = "revoked"
        session["updated_at"] = self.store.now()
        return session

    async def create_session_token(self, request: web.Request) -> JSON:
        session = self.session(request.match_info["session_id"])
        self.check_active(session)
        body = await self.body(request)
        check_types(body, {"expires_in_seconds": INTEGER})
        expires = body.get("expires_in_seconds") or 60
        if not 30 <= expires <= 315_360_000:
            raise param_invalid(
                "expires_in_seconds", "expires_in_seconds must be between 30 and 315360000."
            )
        return {"object": "token", "jwt": self.mint(session, expires_in=expires)}

    async def list_clients(self, request: web.Request) -> Listing:
        limit, offset = self.paging(request)
        clients = sorted(self.store.clients.values(), key=lambda c: c["created_at"], reverse=True)
        return Listing(clients[offset : offset + limit], len(clients))

    async def get_client(self, request: web.Request) -> JSON:
        client = self.store.clients.get(request.match_info["client_id"])
        if client is None:
            raise not_found("client")
        return client

    async def verify_client(self, request: web.Request) -> JSON:
        body = await self.body(request)
        check_types(body, {"token": STRING})
        token = body.get("token")
        if not token:
            raise param_missing("token")
        try:
            # Times are judged by the emulator's clock, not PyJWT's wall clock.
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise ApiError(400, "token_invalid", "The token is not valid.") from None
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= self.store.clock.now():
            raise ApiError(400, "token_invalid", "The token has expired.")
        session = self.store.sessions.get(str(claims.get("sid")))
        client = self.store.clients.get(session["client_id"]) if session else None
        if client is None:
            raise not_found("client")
        return client


def _lapse(invitation: JSON) -> Callable[[int], None]:
    """What the clock passing an invitation's ``expires_at`` does: a pending one expires."""

    def lapse(when: int) -> None:
        if invitation["status"] == "pending":
            invitation.update(status="expired", updated_at=when)

    return lapse


def json_answer(
    value: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer with ``Content-Type: application/json`` exactly, as Clerk sends it
    (aiohttp's ``json_response`` adds ``; charset=utf-8``, which Clerk's JS SDK does not
    parse as JSON)."""
    return web.Response(
        body=json.dumps(value, separators=(",", ":")).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def deep_merge(base: JSON, patch: JSON) -> JSON:
    """Clerk's metadata merge: nested objects merge, ``null`` deletes a key."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# An update takes a creation's fields but emails and phone numbers (they have routes of
# their own), and may pick which of the user's addresses and numbers is the primary one.
PRIMARY_IDENTIFIERS = {
    "primary_email_address_id": "email_addresses",
    "primary_phone_number_id": "phone_numbers",
}
USER_UPDATE_FIELDS = {
    **{k: v for k, v in USER_FIELDS.items() if k not in ("email_address", "phone_number")},
    **dict.fromkeys(PRIMARY_IDENTIFIERS, STRING),
}
USER_METADATA_FIELDS = {
    "public_metadata": OBJECT,
    "private_metadata": OBJECT,
    "unsafe_metadata": OBJECT,
}
ORGANIZATION_FIELDS = {
    "name": STRING,
    "slug": STRING,
    "created_by": STRING,
    "max_allowed_memberships": INTEGER,
    "admin_delete_enabled": BOOLEAN,
    "public_metadata": OBJECT,
    "private_metadata": OBJECT,
}
ORGANIZATION_METADATA_FIELDS = {"public_metadata": OBJECT, "private_metadata": OBJECT}
MEMBERSHIP_FIELDS = {
    "user_id": STRING,
    "role": STRING,
    "public_metadata": OBJECT,
    "private_metadata": OBJECT,
}
ORG_INVITATION_FIELDS = {
    "email_address": STRING,
    "role": STRING,
    "inviter_user_id": STRING,
    "expires_in_days": INTEGER,
    "notify": BOOLEAN,
    "public_metadata": OBJECT,
    "private_metadata": OBJECT,
}
INVITATION_FIELDS = {
    "email_address": STRING,
    "expires_in_days": INTEGER,
    "ignore_existing": BOOLEAN,
    "notify": BOOLEAN,
    "public_metadata": OBJECT,
}

ROLE_PERMISSIONS = {
    "org:admin": [
        "org:sys_profile:manage",
        "org:sys_profile:delete",
        "org:sys_memberships:read",
        "org:sys_memberships:manage",
        "org:sys_domains:read",
        "org:sys_domains:manage",
    ],
    "org:member": ["org:sys_memberships:read"],
}


def operation_name(method: str, path: str) -> str:
    """The operation id of ``method path`` when the SDK's registry knows it."""
    try:
        from .._operations import OPERATIONS
    except ImportError:  # pragma: no cover - the registry ships with the package
        return f"{method} {path}"
    parts = path.removeprefix("/v1").strip("/").split("/")
    best, best_literals = f"{method} {path}", -1
    for op in OPERATIONS:
        template = op.path.strip("/").split("/")
        if op.method != method or len(template) != len(parts):
            continue
        if all(t.startswith("{") or t == p for t, p in zip(template, parts, strict=True)):
            literals = sum(not t.startswith("{") for t in template)
            if literals > best_literals:  # /users/count beats /users/{user_id}
                best, best_literals = op.operation_id, literals
    return best
