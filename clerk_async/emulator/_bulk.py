"""Bulk invitations and the waitlist.

A bulk invitation (``POST /invitations/bulk``, ``POST /organizations/{id}/invitations/bulk``)
holds each entry to the rules of a single invitation (address, a pending invitation
for it, the restrictions, ``expires_in_days`` on the emulator's clock); for the
instance's invitations an existing user refuses an entry even with
``ignore_existing``, as the spec says. The batch is all or nothing: the first entry
refused refuses the request (its error says which entry) and none of the batch is
kept. The answer is the invitations in the order given; an organization's show in its
invitation list.

The waitlist keeps one entry per address: adding an address already on it answers
the existing entry, and a bulk request naming an address twice is refused. Inviting
an entry creates an invitation (the single-invitation rules again) and marks it
``invited``; rejecting marks it ``rejected`` and revokes its pending invitation; only
a pending entry may be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._behaviour import RouteEntry
from ._store import JSON, ApiError, not_found, param_invalid

if TYPE_CHECKING:
    from ._app import Api

WAITLIST_ORDERS = ("created_at", "email_address", "invited_at")
#: the body of an operation that takes a JSON array (the bulk ones), once validated
ITEMS = web.RequestKey("clerk_items", list)


def _entry_error(index: int, exc: ApiError) -> ApiError:
    """``exc`` raised for the entry at ``index`` of a batch, saying which entry."""
    refused = ApiError(
        exc.status,
        exc.code,
        exc.message,
        long_message=f"Entry {index} of the batch: {exc.long_message} No entry was created.",
        **exc.meta,
    )
    return refused


class Bulk:
    """Bulk invitations and waitlist entries."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.waitlist: dict[str, JSON] = {}
        # entry id -> when it was invited (the ``invited_at`` ordering; not shown)
        self._invited_at: dict[str, int] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("POST", "/v1/invitations/bulk", self.bulk_invitations),
            ("POST", "/v1/organizations/{org}/invitations/bulk", self.bulk_org_invitations),
            ("GET", "/v1/waitlist_entries", self.list_waitlist),
            ("POST", "/v1/waitlist_entries", self.create_waitlist),
            ("POST", "/v1/waitlist_entries/bulk", self.bulk_waitlist),
            ("DELETE", "/v1/waitlist_entries/{entry}", self.delete_waitlist),
            ("POST", "/v1/waitlist_entries/{entry}/invite", self.invite_waitlist),
            ("POST", "/v1/waitlist_entries/{entry}/reject", self.reject_waitlist),
        ]

    @staticmethod
    def items(request: web.Request) -> list[JSON]:
        return list(request.get(ITEMS) or [])

    # -- bulk invitations --------------------------------------------------------------

    @staticmethod
    def _all_or_nothing(
        entries: list[JSON], make: Callable[[JSON], JSON], kept: dict[str, JSON]
    ) -> list[JSON]:
        """``make`` each entry in turn; when one is refused, drop from ``kept`` the ones
        made before it and refuse the batch."""
        made: list[JSON] = []
        for index, entry in enumerate(entries):
            try:
                made.append(make(entry))
            except ApiError as exc:
                for item in made:
                    kept.pop(item["id"], None)
                raise _entry_error(index, exc) from None
        return made

    async def bulk_invitations(self, request: web.Request) -> list[JSON]:
        return self._all_or_nothing(
            self.items(request),
            lambda entry: self.api.new_invitation(entry, bulk=True),
            self.store.invitations,
        )

    async def bulk_org_invitations(self, request: web.Request) -> JSON:
        org = self.store.organization(request.match_info["org"])
        kept = self.store.org_invitations.setdefault(org["id"], {})
        made = self._all_or_nothing(
            self.items(request), lambda entry: self.api.new_org_invitation(org, entry), kept
        )
        return {"data": made, "total_count": len(made)}

    # -- the waitlist ------------------------------------------------------------------

    def entry(self, request: web.Request) -> JSON:
        found = self.waitlist.get(request.match_info["entry"])
        if found is None:
            raise not_found("waitlist entry")
        return found

    def _by_email(self, email: str) -> JSON | None:
        wanted = email.lower()
        return next(
            (e for e in self.waitlist.values() if e["email_address"].lower() == wanted), None
        )

    @staticmethod
    def _check_email(email: Any) -> str:
        if not isinstance(email, str) or "@" not in email.strip("@"):
            raise param_invalid("email_address", f"{email!r} is not a valid email address.")
        return email

    def _add(self, email: str) -> JSON:
        existing = self._by_email(email)
        if existing is not None:
            return existing
        now = self.store.now()
        entry: JSON = {
            "object": "waitlist_entry",
            "id": self.store.ids.new("wle"),
            "email_address": email,
            "status": "pending",
            "is_locked": False,
            "invitation": None,
            "created_at": now,
            "updated_at": now,
        }
        self.waitlist[entry["id"]] = entry
        return entry

    async def list_waitlist(self, request: web.Request) -> JSON:
        limit, offset = self.api.paging(request)
        query = request.query
        text = (query.get("query") or "").lower()
        status = query.get("status")
        entries = [
            e
            for e in self.waitlist.values()
            if (not text or text in e["email_address"].lower() or text == e["id"].lower())
            and (not status or e["status"] == status)
        ]
        order = query.get("order_by") or "-created_at"
        field = order.lstrip("+-")
        if field not in WAITLIST_ORDERS:
            raise param_invalid(
                "order_by", f"order_by sorts by one of {', '.join(WAITLIST_ORDERS)}."
            )

        def key(e: JSON) -> Any:
            if field == "invited_at":
                return (self._invited_at.get(e["id"], -1), e["created_at"])
            return (e[field].lower() if field == "email_address" else e[field], e["created_at"])

        entries.sort(key=key, reverse=order.startswith("-"))
        return {"data": entries[offset : offset + limit], "total_count": len(entries)}

    async def create_waitlist(self, request: web.Request) -> JSON:
        body = await self.api.body(request)
        return self._add(self._check_email(body.get("email_address")))

    async def bulk_waitlist(self, request: web.Request) -> list[JSON]:
        emails = [self._check_email(item.get("email_address")) for item in self.items(request)]
        seen: set[str] = set()
        for email in emails:
            if email.lower() in seen:
                raise ApiError(
                    422,
                    "duplicate_record",
                    "email_address is repeated",
                    long_message=f"{email} appears more than once in the request.",
                    param_name="email_address",
                )
            seen.add(email.lower())
        return [self._add(email) for email in emails]

    async def delete_waitlist(self, request: web.Request) -> JSON:
        entry = self.entry(request)
        if entry["status"] != "pending":
            raise ApiError(
                409,
                "waitlist_entry_not_pending",
                f"The waitlist entry is {entry['status']}.",
                long_message="Only pending waitlist entries can be deleted.",
            )
        del self.waitlist[entry["id"]]
        self._invited_at.pop(entry["id"], None)
        return {"object": "waitlist_entry", "id": entry["id"], "deleted": True}

    async def invite_waitlist(self, request: web.Request) -> JSON:
        entry = self.entry(request)
        if entry["status"] in ("invited", "completed"):
            raise ApiError(
                409,
                "waitlist_entry_already_invited",
                f"The waitlist entry is {entry['status']}.",
                long_message="Only pending or rejected waitlist entries can be invited.",
            )
        body = await self.api.body(request)
        invitation = self.api.new_invitation(
            {
                "email_address": entry["email_address"],
                "ignore_existing": body.get("ignore_existing"),
            }
        )
        now = self.store.now()
        entry.update(status="invited", invitation=invitation, updated_at=now)
        self._invited_at[entry["id"]] = now
        return entry

    async def reject_waitlist(self, request: web.Request) -> JSON:
        entry = self.entry(request)
        if entry["status"] in ("rejected", "completed"):
            raise ApiError(
                409,
                "waitlist_entry_not_rejectable",
                f"The waitlist entry is {entry['status']}.",
                long_message="Only pending or invited waitlist entries can be rejected.",
            )
        now = self.store.now()
        invitation = entry.get("invitation")
        if invitation is not None and invitation["status"] == "pending":
            invitation.update(status="revoked", revoked=True, updated_at=now)
        entry.update(status="rejected", updated_at=now)
        return entry
