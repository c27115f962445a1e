"""Redirect URLs, the instance's domains and organizations' domains.

* Redirect URLs (``/v1/redirect_urls``): a URL with a scheme (``https://…``, or an
  app's own ``my-app://callback``; ``http``/``https`` ones need a host), each once.
* Domains (``/v1/domains``): the instance starts with its primary domain, named by
  the emulator's host and port (development instances may carry a port) and whose
  Frontend API is the emulator itself. ``POST`` adds satellites only; names are
  unique (case-insensitively); the primary cannot be deleted.
* Organization domains (``/v1/organizations/{id}/domains``, ``/v1/organization_domains``):
  a domain name belongs to one organization at most. ``verified`` (default true)
  is the affiliation between domain and organization; the DNS ownership proof is
  absent until ``verify_ownership`` records it (strategy ``manual_override``), once.
  Deleting an organization deletes its domains.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from ._behaviour import RouteEntry
from ._generic import Listing
from ._store import BOOLEAN, JSON, STRING, ApiError, check_types, not_found, param_invalid

if TYPE_CHECKING:
    from ._app import Api

ENROLLMENT_MODES = (
    "manual_invitation",
    "automatic_invitation",
    "automatic_suggestion",
    "enterprise_sso",
)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: a host name (dotted labels) or IPv4 address, for instance domains with an optional port
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}(?::\d{{1,5}})?")
#: an organization's domain: two labels at least, no port
_ORG_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")


def duplicate(what: str, field: str, value: str) -> ApiError:
    return ApiError(
        422,
        "duplicate_record",
        f"That {what} already exists.",
        long_message=f"There is a {what} with the {field} {value!r} already.",
        param_name=field,
    )


class Domains:
    """Redirect URLs, instance domains and organization domains of the instance."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.redirect_urls: dict[str, JSON] = {}
        self.domains: dict[str, JSON] = {}
        #: domain id -> the organization domain
        self.org_domains: dict[str, JSON] = {}
        self._primary_id: str | None = None

    def routes(self) -> list[RouteEntry]:
        org_domain = "/v1/organizations/{organization_id}/domains/{domain_id}"
        return [
            ("GET", "/v1/redirect_urls", self.list_redirect_urls),
            ("POST", "/v1/redirect_urls", self.create_redirect_url),
            ("GET", "/v1/redirect_urls/{id}", self.get_redirect_url),
            ("DELETE", "/v1/redirect_urls/{id}", self.delete_redirect_url),
            ("GET", "/v1/domains", self.list_domains),
            ("POST", "/v1/domains", self.add_domain),
            ("PATCH", "/v1/domains/{domain_id}", self.update_domain),
            ("DELETE", "/v1/domains/{domain_id}", self.delete_domain),
            ("GET", "/v1/organizations/{organization_id}/domains", self.list_org_domains),
            ("POST", "/v1/organizations/{organization_id}/domains", self.create_org_domain),
            ("PATCH", org_domain, self.update_org_domain),
            ("DELETE", org_domain, self.delete_org_domain),
            ("POST", org_domain + "/verify_ownership", self.verify_ownership),
            ("GET", "/v1/organization_domains", self.list_all_org_domains),
        ]

    # -- redirect URLs -----------------------------------------------------------------

    def redirect_url(self, url_id: str) -> JSON:
        item = self.redirect_urls.get(url_id)
        if item is None:
            raise not_found("redirect URL")
        return item

    async def list_redirect_urls(self, request: web.Request) -> Listing:
        limit, offset = self.api.paging(request)
        items = sorted(self.redirect_urls.values(), key=lambda u: u["created_at"])
        return Listing(items[offset : offset + limit], len(items))

    async def get_redirect_url(self, request: web.Request) -> JSON:
        return self.redirect_url(request.match_info["id"])

    async def create_redirect_url(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        check_types(body, {"url": STRING})
        url = _redirect_url(body.get("url"))
        if any(u["url"] == url for u in self.redirect_urls.values()):
            raise duplicate("redirect URL", "url", url)
        now = self.store.now()
        item: JSON = {
            "object": "redirect_url",
            "id": self.store.ids.new("ru"),
            "url": url,
            "created_at": now,
            "updated_at": now,
        }
        self.redirect_urls[item["id"]] = item
        return item

    async def delete_redirect_url(self, request: web.Request) -> JSON:
        item = self.redirect_url(request.match_info["id"])
        del self.redirect_urls[item["id"]]
        return {"object": "redirect_url", "id": item["id"], "deleted": True}

    # -- instance domains ----------------------------------------------------------------

    def primary(self) -> JSON:
        """The instance's primary domain, made on first use (once the emulator's URL,
        which names it, is known)."""
        if self._primary_id is None:
            origin = URL(self.api.issuer)
            name = origin.host or "emulator.local"
            if origin.explicit_port:
                name += f":{origin.port}"
            item: JSON = {
                "object": "domain",
                "id": self.store.ids.new("dmn"),
                "name": name,
                "is_satellite": False,
                "frontend_api_url": self.api.issuer,
                "accounts_portal_url": self.api.issuer,
                "proxy_url": None,
                "development_origin": "",
                "cname_targets": None,
            }
            self._primary_id = item["id"]
            self.domains = {item["id"]: item, **self.domains}
        return self.domains[self._primary_id]

    def domain(self, domain_id: str) -> JSON:
        self.primary()
        item = self.domains.get(domain_id)
        if item is None:
            raise not_found("domain")
        return item

    def _domain_name(self, name: object, owner: str | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise param_invalid("name", "name must be a domain name such as example.com.")
        name = name.strip().lower()
        if not _HOST.fullmatch(name):
            raise param_invalid(
                "name",
                f"{name!r} is not a domain name: give a host name (a port is allowed) "
                "without a scheme or path.",
            )
        self.primary()
        for other in self.domains.values():
            if other["name"] == name and other["id"] != owner:
                raise duplicate("domain", "name", name)
        return name

    async def list_domains(self, request: web.Request) -> JSON:
        self.primary()
        items = list(self.domains.values())
        return {"data": items, "total_count": len(items)}

    async def add_domain(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        check_types(body, {"name": STRING, "is_satellite": BOOLEAN, "proxy_url": STRING})
        if body.get("is_satellite") is not True:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "is_satellite must be true",
                long_message="An instance has one primary domain; every domain added is a "
                "satellite.",
                param_name="is_satellite",
            )
        name = self._domain_name(body.get("name"), None)
        item: JSON = {
            "object": "domain",
            "id": self.store.ids.new("dmn"),
            "name": name,
            "is_satellite": True,
            "frontend_api_url": f"https://clerk.{name}",
            "accounts_portal_url": None,
            "proxy_url": _proxy_url(body.get("proxy_url")),
            "development_origin": "",
            "cname_targets": None,
        }
        self.domains[item["id"]] = item
        return item

    async def update_domain(self, request: web.Request) -> JSON:
        item = self.domain(request.match_info["domain_id"])
        body = await self.api.body(request)
        check_types(body, {"name": STRING, "proxy_url": STRING, "is_secondary": BOOLEAN})
        if body.get("name") is not None:
            item["name"] = self._domain_name(body["name"], item["id"])
            if item["is_satellite"]:
                item["frontend_api_url"] = f"https://clerk.{item['name']}"
        if "proxy_url" in body:  # null switches the proxy off
            item["proxy_url"] = _proxy_url(body["proxy_url"])
        return item

    async def delete_domain(self, request: web.Request) -> JSON:
        item = self.domain(request.match_info["domain_id"])
        if not item["is_satellite"]:
            raise ApiError(
                403,
                "primary_domain_cannot_be_deleted",
                "The primary domain cannot be deleted.",
                long_message="Only satellite domains can be deleted from an instance.",
                param_name="domain_id",
            )
        del self.domains[item["id"]]
        return {"object": "domain", "id": item["id"], "deleted": True}

    # -- organization domains --------------------------------------------------------

    def _org_domain(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["organization_id"])
        item = self.org_domains.get(request.match_info["domain_id"])
        if item is None or item["organization_id"] != org["id"]:
            raise not_found("organization domain")
        return item

    def _answer(self, item: JSON) -> JSON:
        """The domain's JSON, with its organization and invitation count as they are now."""
        org = self.store.organizations[item["organization_id"]]
        suffix = "@" + item["name"]
        pending = sum(
            1
            for inv in self.store.org_invitations.get(org["id"], {}).values()
            if inv.get("status") == "pending"
            and str(inv.get("email_address", "")).lower().endswith(suffix)
        )
        public = {k: org[k] for k in ("id", "name", "slug", "image_url", "has_image")}
        return {**item, "total_pending_invitations": pending, "public_organization_data": public}

    @staticmethod
    def _enrollment_mode(value: object) -> str:
        if value not in ENROLLMENT_MODES:
            raise ApiError(
                422,
                "form_param_value_invalid",
                "enrollment_mode is invalid",
                long_message="enrollment_mode is one of " + ", ".join(ENROLLMENT_MODES) + ".",
                param_name="enrollment_mode",
            )
        return str(value)

    @staticmethod
    def _affiliation(verified: bool) -> JSON:
        return {
            "status": "verified" if verified else "unverified",
            "strategy": "admin",
            "attempts": 0,
            "expire_at": None,
            "verified_at": None,
        }

    async def create_org_domain(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["organization_id"])
        body = await self.api.body(request)
        check_types(body, {"name": STRING, "enrollment_mode": STRING, "verified": BOOLEAN})
        raw = body.get("name")
        name = raw.strip().lower() if isinstance(raw, str) else ""
        if not _ORG_DOMAIN.fullmatch(name):
            raise param_invalid("name", "name must be a domain name such as example.com.")
        if any(d["name"] == name for d in self.org_domains.values()):
            raise duplicate("organization domain", "name", name)
        mode = self._enrollment_mode(body.get("enrollment_mode") or "manual_invitation")
        verification = self._affiliation(body.get("verified") is not False)
        now = self.store.now()
        item: JSON = {
            "object": "organization_domain",
            "id": self.store.ids.new("orgdmn"),
            "organization_id": org["id"],
            "name": name,
            "enrollment_mode": mode,
            "affiliation_email_address": None,
            "affiliation_verification": verification,
            "ownership_verification": None,
            "verification": verification,
            "total_pending_invitations": 0,
            "total_pending_suggestions": 0,
            "created_at": now,
            "updated_at": now,
        }
        self.org_domains[item["id"]] = item
        return self._answer(item)

    async def update_org_domain(self, request: web.Request) -> JSON:
        item = self._org_domain(request)
        body = await self.api.body(request)
        check_types(body, {"enrollment_mode": STRING, "verified": BOOLEAN})
        if body.get("enrollment_mode") is not None:
            item["enrollment_mode"] = self._enrollment_mode(body["enrollment_mode"])
        if body.get("verified") is not None:
            verification = self._affiliation(bool(body["verified"]))
            item["affiliation_verification"] = item["verification"] = verification
        item["updated_at"] = self.store.now()
        return self._answer(item)

    async def delete_org_domain(self, request: web.Request) -> JSON:
        item = self._org_domain(request)
        del self.org_domains[item["id"]]
        return {"object": "organization_domain", "id": item["id"], "deleted": True}

    async def verify_ownership(self, request: web.Request) -> JSON:
        item = self._org_domain(request)
        ownership = item["ownership_verification"]
        if ownership is None or ownership["status"] != "verified":
            now = self.store.now()
            item["ownership_verification"] = {
                "status": "verified",
                "strategy": "manual_override",
                "attempts": None,
                "expire_at": None,
                "verified_at": now,
            }
            item["updated_at"] = now
        return self._answer(item)

    def drop_organization(self, org_id: str) -> None:
        """Forget the domains of a deleted organization."""
        for domain_id in [
            d["id"] for d in self.org_domains.values() if d["organization_id"] == org_id
        ]:
            del self.org_domains[domain_id]

    def _listing(self, request: web.Request, items: list[JSON], query: JSON) -> JSON:
        verified = query.get("verified")
        if verified is not None:
            if verified not in ("true", "false"):
                raise param_invalid("verified", "verified is true or false.")
            wanted = "verified" if verified == "true" else "unverified"
            items = [d for d in items if d["affiliation_verification"]["status"] == wanted]
        modes = query.get("enrollment_mode")
        if modes:
            values = [modes] if isinstance(modes, str) else list(modes)
            include = {m for m in values if not m.startswith("-")}
            exclude = {m[1:] for m in values if m.startswith("-")}
            for mode in include | exclude:
                self._enrollment_mode(mode)
            items = [
                d
                for d in items
                if (not include or d["enrollment_mode"] in include)
                and d["enrollment_mode"] not in exclude
            ]
        order = str(query.get("order_by") or "-created_at")
        field = order.lstrip("+-")
        if field not in ("name", "created_at"):
            raise param_invalid("order_by", "order_by is name or created_at, after + or -.")
        items.sort(key=lambda d: d[field], reverse=order.startswith("-"))
        limit, offset = self.api.paging(request)
        return {
            "data": [self._answer(d) for d in items[offset : offset + limit]],
            "total_count": len(items),
        }

    async def list_org_domains(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["organization_id"])
        items = [d for d in self.org_domains.values() if d["organization_id"] == org["id"]]
        return self._listing(request, items, dict(request.query))

    async def list_all_org_domains(self, request: web.Request) -> JSON:
        query: dict[str, Any] = {
            "verified": request.query.get("verified"),
            "enrollment_mode": request.query.getall("enrollment_mode", []),
            "order_by": request.query.get("order_by"),
        }
        items = list(self.org_domains.values())
        org_id = request.query.get("organization_id")
        if org_id:
            items = [d for d in items if d["organization_id"] == org_id]
        names = {n.strip().lower() for n in request.query.getall("domains", [])}
        if names:
            items = [d for d in items if d["name"] in names]
        search = request.query.get("query")
        if search is not None:
            if not search.strip():
                raise param_invalid("query", "query must not be blank.")
            search = search.strip()
            if search.startswith("org_"):
                items = [d for d in items if d["organization_id"] == search]
            else:
                items = [d for d in items if search.lower() in d["name"]]
        return self._listing(request, items, query)


def _redirect_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise param_invalid("url", "url must be a URL such as https://example.com/callback.")
    url = value.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme) or not rest or any(c.isspace() for c in url):
        raise param_invalid(
            "url",
            f"{url!r} is not a URL: give a scheme and the rest, https://example.com/callback "
            "or my-app://callback.",
        )
    if scheme.lower() in ("http", "https"):
        try:
            host = URL(url).host
        except ValueError:
            host = None
        if not host:
            raise param_invalid("url", f"{url!r} has no host.")
    return url


def _proxy_url(value: object) -> str | None:
    if value is None:
        return None
    url = URL(str(value)) if isinstance(value, str) else None
    if url is None or not url.absolute or url.scheme != "https" or not url.host:
        raise param_invalid("proxy_url", "proxy_url must be an absolute https URL.")
    return str(value)
