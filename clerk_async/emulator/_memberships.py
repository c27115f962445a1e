"""Memberships and organization invitations seen from the user's side and across the
instance, over the same objects the organization's own routes keep.

``GET /users/{id}/organization_memberships`` and ``GET /organization_memberships`` list
the memberships of ``Store.memberships``; a user's organization invitations are the
ones sent to any of their email addresses. Membership metadata merges as the user and
organization metadata do, and an organization's logo is kept on the organization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ._behaviour import RouteEntry
from ._filters import (
    ORGANIZATION_INVITATION_ORDERS,
    invitation_predicates,
    matching,
    membership_orders,
    ordered,
)
from ._store import JSON, OBJECT, check_types, not_found, param_missing, primary_item

if TYPE_CHECKING:
    from ._app import Api

#: What an organization's ``image_url`` is before a logo is uploaded and after it is deleted.
DEFAULT_LOGO_URL = "https://img.clerk.com/emulated-org"


def public_user_data(user: JSON) -> JSON:
    """What a membership shows of its member: the name, image and identifier (the
    primary email address, else the first, else the user's ID)."""
    email = primary_item(user, "email_addresses", "primary_email_address_id") or next(
        iter(user["email_addresses"]), None
    )
    return {
        "user_id": user["id"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "profile_image_url": user["image_url"],
        "image_url": user["image_url"],
        "has_image": user["has_image"],
        "identifier": email["email_address"] if email else user["id"],
        "username": user["username"],
    }


class Memberships:
    """The membership and organization-invitation operations outside one organization's
    own lists, and the membership metadata and organization logo."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store

    def routes(self) -> list[RouteEntry]:
        return [
            ("GET", "/v1/users/{user_id}/organization_memberships", self.of_user),
            ("GET", "/v1/organization_memberships", self.of_instance),
            (
                "PATCH",
                "/v1/organizations/{org}/memberships/{user_id}/metadata",
                self.merge_metadata,
            ),
            ("GET", "/v1/users/{user_id}/organization_invitations", self.invitations_of_user),
            ("GET", "/v1/organization_invitations", self.invitations_of_instance),
            ("GET", "/v1/organizations/{org}/invitations/pending", self.pending_invitations),
            ("GET", "/v1/organizations/{org}/invitations/{inv}", self.invitation),
            ("PUT", "/v1/organizations/{org}/logo", self.upload_logo),
            ("DELETE", "/v1/organizations/{org}/logo", self.delete_logo),
        ]

    # -- memberships -----------------------------------------------------------------

    def _all_memberships(self) -> list[JSON]:
        # Only memberships of organizations that still exist (deleting one drops its
        # memberships, but stay safe against any other path).
        return [
            member
            for org_id, members in self.store.memberships.items()
            if org_id in self.store.organizations
            for member in members.values()
        ]

    def _listing(self, items: list[JSON], request: web.Request) -> JSON:
        limit, offset = self.api.paging(request)
        return {
            "data": [self.api._membership_json(m) for m in items[offset : offset + limit]],
            "total_count": len(items),
        }

    async def of_user(self, request: web.Request) -> JSON:
        user = self.store.user(request.match_info["user_id"])
        mine = [
            m for m in self._all_memberships() if m["public_user_data"]["user_id"] == user["id"]
        ]
        mine.sort(key=lambda m: m["created_at"], reverse=True)
        return self._listing(mine, request)

    async def of_instance(self, request: web.Request) -> JSON:
        chosen = ordered(
            self._all_memberships(),
            request.query,
            membership_orders(self.store),
            what="organization memberships",
        )
        return self._listing(chosen, request)

    async def merge_metadata(self, request: web.Request) -> JSON:
        from ._app import deep_merge

        org = self.store.organization(request.match_info["org"])
        member = self.store.memberships.get(org["id"], {}).get(request.match_info["user_id"])
        if member is None:
            raise not_found("organization membership")
        body = await self.api.body(request)
        check_types(body, {"public_metadata": OBJECT, "private_metadata": OBJECT})
        for field in ("public_metadata", "private_metadata"):
            if field in body:
                member[field] = deep_merge(member.get(field) or {}, body[field] or {})
        member["updated_at"] = self.store.now()
        return self.api._membership_json(member)

    # -- organization invitations ----------------------------------------------------

    def _with_organization(self, invitation: JSON) -> JSON:
        org = self.store.organizations.get(invitation["organization_id"])
        public = dict(invitation)
        if org is not None:
            public["public_organization_data"] = {
                "id": org["id"],
                "name": org["name"],
                "slug": org["slug"],
                "image_url": org["image_url"],
                "has_image": org["has_image"],
            }
        return public

    def _all_invitations(self) -> list[JSON]:
        return [
            invitation
            for org_id, invitations in self.store.org_invitations.items()
            if org_id in self.store.organizations
            for invitation in invitations.values()
        ]

    def _invitation_listing(self, items: list[JSON], request: web.Request) -> JSON:
        limit, offset = self.api.paging(request)
        return {
            "data": [self._with_organization(i) for i in items[offset : offset + limit]],
            "total_count": len(items),
        }

    async def invitations_of_user(self, request: web.Request) -> JSON:
        from ._app import QUERY

        user = self.store.user(request.match_info["user_id"])
        addresses = {e["email_address"].lower() for e in user["email_addresses"]}
        query = request.get(QUERY, {})
        status = {"status": query["status"]} if query.get("status") else {}
        mine = matching(
            (i for i in self._all_invitations() if i["email_address"].lower() in addresses),
            invitation_predicates(status),
        )
        chosen = sorted(mine, key=lambda i: i["created_at"], reverse=True)
        return self._invitation_listing(chosen, request)

    async def invitations_of_instance(self, request: web.Request) -> JSON:
        from ._app import QUERY

        query = request.get(QUERY, {})
        # The instance-wide list's ``query`` matches part of the email address.
        text = str(query.get("query") or "").lower()
        chosen = ordered(
            (
                i
                for i in matching(
                    self._all_invitations(),
                    invitation_predicates({"status": query.get("status")}),
                )
                if text in i["email_address"].lower()
            ),
            request.query,
            ORGANIZATION_INVITATION_ORDERS,
            what="organization invitations",
        )
        return self._invitation_listing(chosen, request)

    async def pending_invitations(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        limit, offset = self.api.paging(request)
        pending = sorted(
            (
                i
                for i in self.store.org_invitations.get(org["id"], {}).values()
                if i["status"] == "pending"
            ),
            key=lambda i: i["created_at"],
            reverse=True,
        )
        return {"data": pending[offset : offset + limit], "total_count": len(pending)}

    async def invitation(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        invitation = self.store.org_invitations.get(org["id"], {}).get(request.match_info["inv"])
        if invitation is None:
            raise not_found("organization invitation")
        return invitation

    # -- the organization's logo -----------------------------------------------------

    async def upload_logo(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        form = await request.post()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise param_missing("file")
        uploader = form.get("uploader_user_id")
        if isinstance(uploader, str) and uploader:
            self.store.user(uploader)  # a 404 for an uploader who does not exist
        org["has_image"] = True
        org["image_url"] = f"https://img.clerk.com/emulated-org/{org['id']}/{self.store.now()}"
        org["updated_at"] = self.store.now()
        return self.api._org_json(org)

    async def delete_logo(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        if not org["has_image"]:
            raise not_found("organization logo")
        org["has_image"] = False
        org["image_url"] = DEFAULT_LOGO_URL
        org["updated_at"] = self.store.now()
        return self.api._org_json(org)
