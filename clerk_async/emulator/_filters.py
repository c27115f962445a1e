"""The documented filters and orderings of the emulator's hand-written lists.

Each list handler reads its query string as typed values (``request[QUERY]``: arrays
as lists, integers and booleans converted, everything checked against the spec first)
and asks this module for the predicates and the ordering of what it lists. The rules,
where Clerk's documentation leaves room, are decided once here:

* ``*_after`` / ``*_before`` are strict (``>`` / ``<``) on millisecond timestamps; the
  deprecated ``last_active_at_since`` is inclusive (``>=``); a user without the
  timestamp (never active, never signed in) matches neither side.
* ID lists (``user_id``, ``external_id``, ``organization_id``) take ``+id`` (include,
  as does a bare ``id``) and ``-id`` (exclude); with only exclusions, everything else
  is kept.
* Exact identifier filters compare email addresses, usernames and web3 wallets
  without case, phone numbers as given; the ``*_query`` filters and ``query`` are
  case-insensitive substring matches.
* ``provider`` and ``provider_user_id`` only work together: one without the other is
  a 422 naming the missing one.
* Orderings take ``+field``/``field`` (ascending) or ``-field``; only the first
  ``order_by`` counts; empty values sort last going up and first going down (as
  PostgreSQL sorts NULLs); an unknown field is a 422 listing the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._store import JSON, ApiError, Store, param_invalid, primary_item

Predicate = Callable[[JSON], bool]
SortKey = Callable[[JSON], Any]

#: Clerk accepts up to this many values in one array filter.
MAX_FILTER_VALUES = 100


def order_field(raw_query: Any, default: str) -> tuple[str, bool]:
    """``(field, descending)`` of the first ``order_by`` value (Clerk keeps only the first)."""
    values = raw_query.getall("order_by", []) if hasattr(raw_query, "getall") else []
    order = str(values[0]) if values else default
    return order.lstrip("+-"), order.startswith("-")


def ordered(
    items: Iterable[JSON],
    raw_query: Any,
    keys: Mapping[str, SortKey],
    *,
    what: str,
    default: str = "-created_at",
) -> list[JSON]:
    """``items`` sorted by the request's ``order_by`` (``default`` when absent)."""
    field, descending = order_field(raw_query, default)
    key = keys.get(field)
    if key is None:
        raise param_invalid(
            "order_by",
            f"Cannot order {what} by {field!r}; order_by takes one of "
            + ", ".join(sorted(keys))
            + ", optionally prefixed with + or -.",
        )

    def sort_key(item: JSON) -> tuple[bool, Any]:
        value = key(item)
        if isinstance(value, str):
            value = value.lower()
        # (is-empty, value): empty values compare only among themselves.
        return (value is None, 0 if value is None else value)

    return sorted(items, key=sort_key, reverse=descending)


def _values(query: JSON, name: str) -> list[str]:
    values = query.get(name) or []
    if not isinstance(values, list):
        values = [values]
    if len(values) > MAX_FILTER_VALUES:
        raise param_invalid(
            name, f"{name} takes at most {MAX_FILTER_VALUES} values; {len(values)} were sent."
        )
    return [str(v) for v in values]


def _signed(query: JSON, name: str) -> tuple[set[str], set[str]]:
    """The ``+``/bare (included) and ``-`` (excluded) values of an ID list."""
    include: set[str] = set()
    exclude: set[str] = set()
    for value in _values(query, name):
        if value.startswith("-"):
            exclude.add(value[1:])
        else:
            include.add(value.removeprefix("+"))
    return include, exclude


def _id_checks(query: JSON, name: str, ids_of: Callable[[JSON], Iterable[Any]]) -> list[Predicate]:
    """The predicates of the ID list ``name``: an item is kept when ``ids_of(item)``
    holds one of the included IDs (if any are given) and none of the excluded ones."""
    include, exclude = _signed(query, name)
    checks: list[Predicate] = []
    if include:
        checks.append(lambda item: not include.isdisjoint(ids_of(item)))
    if exclude:
        checks.append(lambda item: exclude.isdisjoint(ids_of(item)))
    return checks


def _text(query: JSON, name: str) -> str:
    value = query.get(name)
    return value.lower() if isinstance(value, str) else ""


def _after(field: str, bound: int, *, inclusive: bool = False) -> Predicate:
    def check(item: JSON) -> bool:
        value = item.get(field)
        return value is not None and (value >= bound if inclusive else value > bound)

    return check


def _before(field: str, bound: int) -> Predicate:
    def check(item: JSON) -> bool:
        value = item.get(field)
        return value is not None and value < bound

    return check


def time_predicates(query: JSON, fields: Sequence[str]) -> list[Predicate]:
    """``<field>_after`` / ``<field>_before`` (and ``last_active_at_since``) present in
    ``query``, for each of ``fields``."""
    checks: list[Predicate] = []
    for field in fields:
        after, before = query.get(f"{field}_after"), query.get(f"{field}_before")
        if after is not None:
            checks.append(_after(field, int(after)))
        if before is not None:
            checks.append(_before(field, int(before)))
    since = query.get("last_active_at_since")
    if since is not None and "last_active_at" in fields:
        checks.append(_after("last_active_at", int(since), inclusive=True))
    return checks


def _emails(user: JSON) -> list[str]:
    return [str(e["email_address"]) for e in user.get("email_addresses") or []]


def _phones(user: JSON) -> list[str]:
    return [str(p["phone_number"]) for p in user.get("phone_numbers") or []]


def _wallets(user: JSON) -> list[str]:
    return [str(w["web3_wallet"]) for w in user.get("web3_wallets") or []]


def _full_name(user: JSON) -> str:
    return " ".join(part for part in (user.get("first_name"), user.get("last_name")) if part)


def _primary(kind: str, primary: str, value: str) -> SortKey:
    def key(user: JSON) -> Any:
        # the primary item, else the first (a user whose primary was removed)
        chosen = primary_item(user, kind, primary) or next(iter(user.get(kind) or []), None)
        return chosen[value] if chosen else None

    return key


#: ``order_by`` fields of ``GET /users`` (the spec spells the wallet one ``web3wallet``).
USER_ORDERS: dict[str, SortKey] = {
    "created_at": lambda u: u["created_at"],
    "updated_at": lambda u: u["updated_at"],
    "email_address": _primary("email_addresses", "primary_email_address_id", "email_address"),
    "web3wallet": _primary("web3_wallets", "primary_web3_wallet_id", "web3_wallet"),
    "first_name": lambda u: u["first_name"],
    "last_name": lambda u: u["last_name"],
    "phone_number": _primary("phone_numbers", "primary_phone_number_id", "phone_number"),
    "username": lambda u: u["username"],
    "last_active_at": lambda u: u["last_active_at"],
    "last_sign_in_at": lambda u: u["last_sign_in_at"],
}


def user_predicates(query: JSON, store: Store) -> list[Predicate]:
    """Predicates over a user's JSON for the user filters present in ``query`` (the
    typed query of ``GET /users``, ``GET /users/count`` or a membership list)."""
    checks: list[Predicate] = []

    def any_of(values: Iterable[str], of: Callable[[JSON], list[str]], fold: bool) -> None:
        wanted = {v.lower() if fold else v for v in values}
        if wanted:
            checks.append(lambda u: any((x.lower() if fold else x) in wanted for x in of(u)))

    any_of(_values(query, "email_address"), _emails, True)
    any_of(_values(query, "phone_number"), _phones, False)
    any_of(_values(query, "web3_wallet"), _wallets, True)
    any_of(_values(query, "username"), lambda u: [u["username"]] if u["username"] else [], True)

    checks += _id_checks(query, "user_id", lambda u: (u.get("id"),))
    checks += _id_checks(query, "external_id", lambda u: (u.get("external_id"),))
    if query.get("organization_id"):
        # user id -> the organizations they belong to, gathered once per request
        orgs_of: dict[str, set[str]] = {}
        for org_id, members in store.memberships.items():
            for user_id in members:
                orgs_of.setdefault(user_id, set()).add(org_id)
        checks += _id_checks(query, "organization_id", lambda u: orgs_of.get(u["id"], ()))

    for name, of in (
        ("email_address_query", _emails),
        ("phone_number_query", _phones),
        ("username_query", lambda u: [u["username"] or ""]),
        ("name_query", lambda u: [_full_name(u)]),
    ):
        text = _text(query, name)
        if text:
            checks.append(
                lambda u, t=text, o=of: any(t in x.lower() for x in o(u))  # type: ignore[misc]
            )

    text = _text(query, "query")
    if text:

        def matches(u: JSON) -> bool:
            fields = [u["id"], u["username"], u["first_name"], u["last_name"], _full_name(u)]
            fields += _emails(u) + _phones(u) + _wallets(u)
            return any(text in str(f).lower() for f in fields if f)

        checks.append(matches)

    if query.get("banned") is not None:
        wanted = bool(query["banned"])
        checks.append(lambda u: bool(u["banned"]) is wanted)

    provider = query.get("provider")
    provider_ids = set(_values(query, "provider_user_id"))
    if provider and not provider_ids:
        raise _needs("provider_user_id", "provider")
    if provider_ids and not provider:
        raise _needs("provider", "provider_user_id")
    if provider:
        checks.append(
            lambda u: any(
                a.get("provider") == provider and a.get("provider_user_id") in provider_ids
                for a in u.get("external_accounts") or []
            )
        )

    checks += time_predicates(query, ("created_at", "last_active_at", "last_sign_in_at"))
    return checks


def _needs(missing: str, given: str) -> ApiError:
    return ApiError(
        422,
        "form_param_missing",
        f"{missing} is missing",
        long_message=f"{given} filters users only together with {missing}: send both.",
        param_name=missing,
    )


def matching(items: Iterable[JSON], checks: Sequence[Predicate]) -> Iterable[JSON]:
    """The items every check accepts (``items`` itself when there is none)."""
    if not checks:
        return items
    return (item for item in items if all(check(item) for check in checks))


# -- organizations --------------------------------------------------------------------


def organization_predicates(query: JSON, store: Store) -> list[Predicate]:
    """Predicates for ``GET /organizations``: ``query``, ``user_id``, ``organization_id``."""
    checks: list[Predicate] = []
    text = _text(query, "query")
    if text:
        checks.append(
            lambda o: (
                o["id"].lower() == text or text in o["name"].lower() or text in o["slug"].lower()
            )
        )
    checks += _id_checks(query, "user_id", lambda o: store.memberships.get(o["id"], {}))
    checks += _id_checks(query, "organization_id", lambda o: (o["id"],))
    return checks


def organization_orders(store: Store) -> dict[str, SortKey]:
    return {
        "created_at": lambda o: o["created_at"],
        "name": lambda o: o["name"],
        "members_count": lambda o: store.membership_count(o["id"]),
    }


# -- memberships ------------------------------------------------------------------------


def membership_predicates(query: JSON, store: Store) -> list[Predicate]:
    """Predicates over a membership: the user filters applied to its member (the spec
    documents them, ``created_at_*`` included, as filters on users) and ``role``."""
    on_user = user_predicates(query, store)
    checks: list[Predicate] = []
    if on_user:

        def member_matches(m: JSON) -> bool:
            user = store.users.get(m["public_user_data"]["user_id"])
            return user is not None and all(check(user) for check in on_user)

        checks.append(member_matches)
    roles = set(_values(query, "role"))
    if roles:
        checks.append(lambda m: m["role"] in roles)
    return checks


def membership_orders(store: Store) -> dict[str, SortKey]:
    def of_user(key: SortKey) -> SortKey:
        def get(m: JSON) -> Any:
            user = store.users.get(m["public_user_data"]["user_id"])
            return None if user is None else key(user)

        return get

    return {
        "created_at": lambda m: m["created_at"],
        **{
            name: of_user(USER_ORDERS[name])
            for name in ("phone_number", "email_address", "first_name", "last_name", "username")
        },
    }


# -- invitations --------------------------------------------------------------------------


def invitation_predicates(query: JSON) -> list[Predicate]:
    """``status``, ``email_address`` (exact, without case) and ``query`` (part of the
    email address, or the whole ID) of the invitation lists."""
    checks: list[Predicate] = []
    statuses = set(_values(query, "status"))
    if statuses:
        checks.append(lambda i: i["status"] in statuses)
    email = _text(query, "email_address")
    if email:
        checks.append(lambda i: i["email_address"].lower() == email)
    text = _text(query, "query")
    if text:
        checks.append(lambda i: text in i["email_address"].lower() or i["id"].lower() == text)
    return checks


INVITATION_ORDERS: dict[str, SortKey] = {
    "created_at": lambda i: i["created_at"],
    "email_address": lambda i: i["email_address"],
    "expires_at": lambda i: i.get("expires_at"),
}
ORGANIZATION_INVITATION_ORDERS: dict[str, SortKey] = {
    "created_at": lambda i: i["created_at"],
    "email_address": lambda i: i["email_address"],
}
