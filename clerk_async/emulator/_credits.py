"""Billing credit balances of users and organizations
(``GET``/``POST /users/{id}/billing/credits``, the same under ``/organizations/{id}``).

Each user or organization is a payer with one balance, in the currency of its first
adjustment (``USD`` unless given); every adjustment is a ledger entry. Rules, where
Clerk's documentation leaves room:

* An ``idempotency_key`` already used by that payer answers the entry it made and
  changes nothing, whatever else the request says.
* A decrease below zero is a 422 naming ``amount``; so is an adjustment in another
  currency than the balance's (naming ``currency``).
* A payer that was never adjusted has a ``null`` balance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from aiohttp import web

from ._behaviour import Handler, RouteEntry
from ._store import JSON, ApiError, param_invalid

if TYPE_CHECKING:
    from ._app import Api

#: The id of the user or organization a request names (a 404 when there is none).
Owner = Callable[[web.Request], str]
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "$", "AUD": "$"}


def money(amount: int, currency: str) -> JSON:
    symbol = _SYMBOLS.get(currency, currency + " ")
    sign = "-" if amount < 0 else ""
    return {
        "amount": amount,
        "amount_formatted": f"{sign}{symbol}{abs(amount) / 100:.2f}",
        "currency": currency,
        "currency_symbol": symbol,
    }


class Credits:
    """The credit balance and ledger of every user and organization."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        # user or organization id -> (payer id, currency, balance in cents)
        self._balances: dict[str, tuple[str, str, int]] = {}
        # (owner id, idempotency key) -> the ledger entry it made
        self._entries: dict[tuple[str, str], JSON] = {}

    def routes(self) -> list[RouteEntry]:
        return [
            ("GET", "/v1/users/{user_id}/billing/credits", self.balance(self._user)),
            ("POST", "/v1/users/{user_id}/billing/credits", self.adjust(self._user)),
            ("GET", "/v1/organizations/{org}/billing/credits", self.balance(self._org)),
            ("POST", "/v1/organizations/{org}/billing/credits", self.adjust(self._org)),
        ]

    def _user(self, request: web.Request) -> str:
        return str(self.store.user(request.match_info["user_id"])["id"])

    def _org(self, request: web.Request) -> str:
        return str(self.store.organization(request.match_info["org"])["id"])

    def balance(self, owner_of: Owner) -> Handler:
        async def handler(request: web.Request) -> JSON:
            owner = owner_of(request)
            kept = self._balances.get(owner)
            return {
                "object": "commerce_credit_balance",
                "balance": None if kept is None else money(kept[2], kept[1]),
            }

        return handler

    def adjust(self, owner_of: Owner) -> Handler:
        async def handler(request: web.Request) -> JSON:
            owner = owner_of(request)
            body = await self.api.body(request)
            key = str(body["idempotency_key"])
            done = self._entries.get((owner, key))
            if done is not None:
                return done
            amount = int(body["amount"])
            if amount <= 0:
                raise param_invalid("amount", "amount must be greater than zero.")
            currency = str(body.get("currency") or "USD").upper()
            payer, held, balance = self._balances.get(
                owner, (self.store.ids.new("cpayer"), currency, 0)
            )
            if currency != held:
                raise param_invalid("currency", f"The balance is kept in {held}.")
            change = amount if body["action"] == "increase" else -amount
            if balance + change < 0:
                raise ApiError(
                    422,
                    "insufficient_credit_balance",
                    "The credit balance is too low.",
                    long_message=f"The balance is {money(balance, held)['amount_formatted']}.",
                    param_name="amount",
                )
            self._balances[owner] = (payer, held, balance + change)
            now = self.store.now()
            entry: JSON = {
                "object": "commerce_credit_ledger",
                "id": self.store.ids.new("cledger"),
                "payer_id": payer,
                "amount": money(change, held),
                "source_type": "grant",
                "source_id": self.store.ids.new("cgrant"),
                "note": body.get("note"),
                "created_at": datetime.fromtimestamp(now / 1000, timezone.utc)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
            }
            self._entries[(owner, key)] = entry
            return entry

        return handler
