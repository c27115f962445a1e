"""Every documented filter and ordering of the emulator's lists, through the SDK.

One small world is built once: four users, three organizations, memberships,
sessions, invitations. Each case names the set a filter must return; that set is
never empty and never everything, so a filter the emulator ignored (or applied to
the wrong field) fails its case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import pytest

from clerk_async import Clerk, errors
from clerk_async.emulator import Emulator

from ..conftest import FAST_RETRIES

WALLET_A = "0x" + "a" * 40
WALLET_B = "0x" + "b" * 40
USERS: dict[str, dict[str, Any]] = {
    "ada": {
        "email_address": ["ada@example.com"],
        "phone_number": ["+15550000001"],
        "username": "ada_lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "external_id": "ext-ada",
        "web3_wallet": [WALLET_A],
    },
    "grace": {
        "email_address": ["Grace@Navy.mil"],
        "phone_number": ["+15550000002"],
        "username": "grace_hopper",
        "first_name": "Grace",
        "last_name": "Hopper",
        "external_id": "ext-grace",
    },
    "alan": {
        "email_address": ["alan@example.org"],
        "username": "alan_turing",
        "first_name": "Alan",
        "last_name": "Turing",
        "web3_wallet": [WALLET_B],
    },
    "edsger": {
        "email_address": ["edsger@example.com"],
        "phone_number": ["+31200000003"],
        "username": "ewd_1930",
        "first_name": "Edsger",
        "last_name": "Dijkstra",
    },
}


@attrs.define
class World:
    """What the cases refer to: ids by name, the users as created, timestamps."""

    emu: Emulator
    ids: dict[str, str]  # user, organization, session and invitation names -> ids
    users: dict[str, Any]  # user name -> models.User after every change
    names: dict[str, str] = attrs.field(factory=dict)  # id -> name

    def id(self, name: str) -> str:
        return self.ids[name]

    def at(self, name: str, field: str) -> int:
        value = getattr(self.users[name], field)
        assert isinstance(value, int)
        return value

    def named(self, items: Any) -> list[str]:
        return [self.names[item.id] for item in items]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Emulator().running_in_thread() as emu, emu.sync_client(retries=0) as clerk:
        ids: dict[str, str] = {}
        for name, fields in USERS.items():
            ids[name] = clerk.users.create(**fields).id or ""
        # Organizations created Zeta, Analytical, Compilers: creation, name and member
        # count orders all differ.
        ids["zeta"] = clerk.organizations.create(name="Zeta Lab", slug="zeta").id or ""
        ids["analytical"] = (
            clerk.organizations.create(
                name="Analytical Engines", slug="analytical", created_by=ids["ada"]
            ).id
            or ""
        )
        ids["compilers"] = (
            clerk.organizations.create(name="Compilers Inc", created_by=ids["grace"]).id or ""
        )
        # Analytical's members joined ada (creator), alan, grace: not the users' order.
        for name in ("alan", "grace"):
            clerk.organization_memberships.create(
                ids["analytical"], user_id=ids[name], role="org:member"
            )
        clerk.organization_memberships.create(
            ids["compilers"], user_id=ids["edsger"], role="org:member"
        )
        # grace signs in before ada; alan and edsger never do.
        grace_session = clerk.sessions.create(user_id=ids["grace"])
        ids["grace_session"], ids["grace_client"] = (
            grace_session.id or "",
            grace_session.client_id or "",
        )
        ids["ada_session"] = clerk.sessions.create(user_id=ids["ada"]).id or ""
        ids["ada_old_session"] = clerk.sessions.create(user_id=ids["ada"]).id or ""
        clerk.sessions.revoke(ids["ada_old_session"])
        clerk.users.ban(ids["edsger"])
        emu.link_external_account(ids["alan"], "oauth_google", "g-1")
        emu.link_external_account(ids["grace"], "oauth_github", "g-1")
        # Organization invitations created y, z, x; y revoked.
        for letter in "yzx":
            ids[f"org_inv_{letter}"] = (
                clerk.organization_invitations.create(
                    ids["analytical"], email_address=f"{letter}@example.com", role="org:member"
                ).id
                or ""
            )
        clerk.organization_invitations.revoke(ids["analytical"], ids["org_inv_y"])
        # Instance invitations created b, c, a; c revoked; expiries c < b < a.
        for letter, days in (("b", 30), ("c", 1), ("a", 40)):
            ids[f"inv_{letter}"] = (
                clerk.invitations.create(
                    email_address=f"{letter}@inv.test", expires_in_days=days
                ).id
                or ""
            )
        clerk.invitations.revoke(ids["inv_c"])
        users = {name: clerk.users.get(ids[name]) for name in USERS}
        world = World(emu, ids, users)
        world.names = {v: k for k, v in ids.items()}
        yield world


@pytest.fixture
async def clerk(world: World) -> AsyncIterator[Clerk]:
    async with world.emu.client(retries=FAST_RETRIES) as client:
        yield client


Case = Callable[[World], dict[str, Any]]

# -- users and their count ------------------------------------------------------------

USER_CASES: list[tuple[str, Case, set[str]]] = [
    ("email_address", lambda w: {"email_address": ["GRACE@navy.mil"]}, {"grace"}),
    ("phone_number", lambda w: {"phone_number": ["+15550000001"]}, {"ada"}),
    ("username", lambda w: {"username": ["Alan_Turing"]}, {"alan"}),
    ("web3_wallet", lambda w: {"web3_wallet": [WALLET_B.upper().replace("0X", "0x")]}, {"alan"}),
    ("user_id", lambda w: {"user_id": [w.id("ada"), "+" + w.id("grace")]}, {"ada", "grace"}),
    ("user_id excluded", lambda w: {"user_id": ["-" + w.id("ada")]}, {"grace", "alan", "edsger"}),
    ("external_id", lambda w: {"external_id": ["ext-grace"]}, {"grace"}),
    ("external_id excluded", lambda w: {"external_id": ["-ext-ada"]}, {"grace", "alan", "edsger"}),
    (
        "organization_id",
        lambda w: {"organization_id": [w.id("analytical")]},
        {"ada", "grace", "alan"},
    ),
    (
        "organization_id excluded",
        lambda w: {"organization_id": ["-" + w.id("analytical")]},
        {"edsger"},
    ),
    (
        "organization_id both",
        lambda w: {"organization_id": ["+" + w.id("compilers"), "-" + w.id("analytical")]},
        {"edsger"},
    ),
    ("query email", lambda w: {"query": "EXAMPLE.com"}, {"ada", "edsger"}),
    ("query name", lambda w: {"query": "hopper"}, {"grace"}),
    ("query wallet", lambda w: {"query": "0xbbbb"}, {"alan"}),
    ("query phone", lambda w: {"query": "+3120"}, {"edsger"}),
    ("query id", lambda w: {"query": w.id("alan")}, {"alan"}),
    (
        "email_address_query",
        lambda w: {"email_address_query": "EXAMPLE"},
        {"ada", "alan", "edsger"},
    ),
    ("phone_number_query", lambda w: {"phone_number_query": "555"}, {"ada", "grace"}),
    ("username_query", lambda w: {"username_query": "TURING"}, {"alan"}),
    ("name_query", lambda w: {"name_query": "a lov"}, {"ada"}),
    ("name_query last", lambda w: {"name_query": "DIJK"}, {"edsger"}),
    ("banned", lambda w: {"banned": True}, {"edsger"}),
    ("not banned", lambda w: {"banned": False}, {"ada", "grace", "alan"}),
    (
        "created_at_after",
        lambda w: {"created_at_after": w.at("grace", "created_at")},
        {"alan", "edsger"},
    ),
    (
        "created_at_before",
        lambda w: {"created_at_before": w.at("alan", "created_at")},
        {"ada", "grace"},
    ),
    (
        "last_active_at_after",
        lambda w: {"last_active_at_after": w.at("grace", "last_active_at")},
        {"ada"},
    ),
    (
        "last_active_at_before",
        lambda w: {"last_active_at_before": w.at("ada", "last_active_at")},
        {"grace"},
    ),
    (
        "last_active_at_since",
        lambda w: {"last_active_at_since": w.at("grace", "last_active_at")},
        {"ada", "grace"},
    ),
    (
        "last_sign_in_at_after",
        lambda w: {"last_sign_in_at_after": w.at("grace", "last_sign_in_at")},
        {"ada"},
    ),
    (
        "last_sign_in_at_before",
        lambda w: {"last_sign_in_at_before": w.at("ada", "last_sign_in_at")},
        {"grace"},
    ),
    (
        "provider",
        lambda w: {"provider": "oauth_google", "provider_user_id": ["g-1", "g-2"]},
        {"alan"},
    ),
    (
        "two filters",
        lambda w: {"email_address_query": "example", "banned": False},
        {"ada", "alan"},
    ),
]


@pytest.mark.parametrize(
    ("case", "expected"), [c[1:] for c in USER_CASES], ids=[c[0] for c in USER_CASES]
)
async def test_user_filters_list_and_count(
    world: World, clerk: Clerk, case: Case, expected: set[str]
) -> None:
    assert 0 < len(expected) < len(USERS)
    params = case(world)
    listed = (await clerk.users.list(limit=100, **params)).data
    assert set(world.named(listed)) == expected
    assert (await clerk.users.count(**params)).total_count == len(expected)


# name -> the expected ascending order; users without the value come last going up
# and first going down, in creation order among themselves.
USER_ORDERS: dict[str, list[str]] = {
    "created_at": ["ada", "grace", "alan", "edsger"],
    "first_name": ["ada", "alan", "edsger", "grace"],
    "last_name": ["edsger", "grace", "ada", "alan"],
    "username": ["ada", "alan", "edsger", "grace"],
    "email_address": ["ada", "alan", "edsger", "grace"],
    "phone_number": ["ada", "grace", "edsger", "alan"],
    "web3wallet": ["ada", "alan", "grace", "edsger"],
    "last_active_at": ["grace", "ada", "alan", "edsger"],
    "last_sign_in_at": ["grace", "ada", "alan", "edsger"],
}


def _descending(ascending: list[str], empties: int) -> list[str]:
    valued, empty = ascending[: len(ascending) - empties], ascending[len(ascending) - empties :]
    return empty + valued[::-1]


@pytest.mark.parametrize("field", [*USER_ORDERS, "updated_at"])
async def test_user_orderings(world: World, clerk: Clerk, field: str) -> None:
    if field == "updated_at":
        ascending = sorted(USERS, key=lambda n: world.at(n, "updated_at"))
    else:
        ascending = USER_ORDERS[field]
    empties = sum(1 for n in USERS if _sort_value(world, n, field) is None)
    up = world.named((await clerk.users.list(order_by=field, limit=10)).data)
    plus = world.named((await clerk.users.list(order_by="+" + field, limit=10)).data)
    down = world.named((await clerk.users.list(order_by="-" + field, limit=10)).data)
    assert up == plus == ascending
    assert down == _descending(ascending, empties)
    # The cursor walk agrees with the offset walk where it applies.
    if field == "created_at":
        walked = [world.names[u.id or ""] async for u in clerk.users.list(order_by=field, limit=1)]
        assert walked == ascending


def _sort_value(world: World, name: str, field: str) -> object:
    user = world.users[name]
    if field == "web3wallet":
        return user.web3_wallets or None
    if field == "phone_number":
        return user.phone_numbers or None
    if field == "email_address":
        return user.email_addresses or None
    return getattr(user, field, None)


async def test_user_filter_errors(world: World, clerk: Clerk) -> None:
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.list(provider="oauth_google")
    assert info.value.errors[0].meta.get("param_name") == "provider_user_id"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.count(provider_user_id=["g-1"])
    assert info.value.errors[0].meta.get("param_name") == "provider"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.list(order_by="-shoe_size")
    assert info.value.errors[0].meta.get("param_name") == "order_by"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.list(user_id=[f"user_{i}" for i in range(101)])
    assert info.value.errors[0].meta.get("param_name") == "user_id"


# -- organizations ------------------------------------------------------------------------

ORG_CASES: list[tuple[str, Case, list[str]]] = [
    ("query name", lambda w: {"query": "ENGINE"}, ["analytical"]),
    ("query slug", lambda w: {"query": "zet"}, ["zeta"]),
    ("query id", lambda w: {"query": w.id("compilers")}, ["compilers"]),
    ("user_id", lambda w: {"user_id": [w.id("edsger")]}, ["compilers"]),
    (
        "user_id any",
        lambda w: {"user_id": [w.id("alan"), "+" + w.id("edsger")]},
        ["compilers", "analytical"],
    ),
    ("user_id excluded", lambda w: {"user_id": ["-" + w.id("grace")]}, ["zeta"]),
    ("organization_id", lambda w: {"organization_id": [w.id("analytical")]}, ["analytical"]),
    (
        "organization_id excluded",
        lambda w: {"organization_id": ["-" + w.id("analytical")]},
        ["compilers", "zeta"],
    ),
    ("order_by default", lambda w: {}, ["compilers", "analytical", "zeta"]),
    (
        "order_by created_at",
        lambda w: {"order_by": "created_at"},
        ["zeta", "analytical", "compilers"],
    ),
    ("order_by name", lambda w: {"order_by": "name"}, ["analytical", "compilers", "zeta"]),
    ("order_by -name", lambda w: {"order_by": "-name"}, ["zeta", "compilers", "analytical"]),
    (
        "order_by members_count",
        lambda w: {"order_by": "+members_count"},
        ["zeta", "compilers", "analytical"],
    ),
    (
        "order_by -members_count",
        lambda w: {"order_by": "-members_count"},
        ["analytical", "compilers", "zeta"],
    ),
]


@pytest.mark.parametrize(
    ("case", "expected"), [c[1:] for c in ORG_CASES], ids=[c[0] for c in ORG_CASES]
)
async def test_organization_filters_and_orderings(
    world: World, clerk: Clerk, case: Case, expected: list[str]
) -> None:
    page = await clerk.organizations.list(**case(world))
    assert world.named(page.data) == expected
    assert page.total_count == len(expected)


# -- memberships ------------------------------------------------------------------------

MEMBER_CASES: list[tuple[str, Case, list[str]]] = [
    ("user_id", lambda w: {"user_id": [w.id("alan")]}, ["alan"]),
    ("user_id excluded", lambda w: {"user_id": ["-" + w.id("ada")]}, ["grace", "alan"]),
    ("email_address", lambda w: {"email_address": ["GRACE@navy.mil"]}, ["grace"]),
    ("phone_number", lambda w: {"phone_number": ["+15550000001"]}, ["ada"]),
    ("username", lambda w: {"username": ["alan_turing"]}, ["alan"]),
    ("web3_wallet", lambda w: {"web3_wallet": [WALLET_A]}, ["ada"]),
    ("role", lambda w: {"role": ["org:admin"]}, ["ada"]),
    ("query", lambda w: {"query": "turing"}, ["alan"]),
    ("email_address_query", lambda w: {"email_address_query": "EXAMPLE"}, ["alan", "ada"]),
    ("phone_number_query", lambda w: {"phone_number_query": "0002"}, ["grace"]),
    ("username_query", lambda w: {"username_query": "HOPP"}, ["grace"]),
    ("name_query", lambda w: {"name_query": "ada lov"}, ["ada"]),
    (
        "last_active_at_after",
        lambda w: {"last_active_at_after": w.at("grace", "last_active_at")},
        ["ada"],
    ),
    (
        "last_active_at_before",
        lambda w: {"last_active_at_before": w.at("ada", "last_active_at")},
        ["grace"],
    ),
    # The users' creation, as documented (they joined in another order).
    ("created_at_after", lambda w: {"created_at_after": w.at("grace", "created_at")}, ["alan"]),
    (
        "created_at_before",
        lambda w: {"created_at_before": w.at("alan", "created_at")},
        ["grace", "ada"],
    ),
    ("order_by created_at", lambda w: {"order_by": "created_at"}, ["ada", "alan", "grace"]),
    ("order_by last_name", lambda w: {"order_by": "last_name"}, ["grace", "ada", "alan"]),
    ("order_by -first_name", lambda w: {"order_by": "-first_name"}, ["grace", "alan", "ada"]),
    ("order_by username", lambda w: {"order_by": "username"}, ["ada", "alan", "grace"]),
    ("order_by -email_address", lambda w: {"order_by": "-email_address"}, ["grace", "alan", "ada"]),
    ("order_by phone_number", lambda w: {"order_by": "phone_number"}, ["ada", "grace", "alan"]),
]


@pytest.mark.parametrize(
    ("case", "expected"), [c[1:] for c in MEMBER_CASES], ids=[c[0] for c in MEMBER_CASES]
)
async def test_membership_filters_and_orderings(
    world: World, clerk: Clerk, case: Case, expected: list[str]
) -> None:
    everyone = await clerk.organization_memberships.list(world.id("analytical"))
    assert [
        world.names[m.public_user_data.user_id or ""] for m in everyone.data if m.public_user_data
    ] == [
        "grace",
        "alan",
        "ada",
    ]
    page = await clerk.organization_memberships.list(world.id("analytical"), **case(world))
    assert [
        world.names[m.public_user_data.user_id or ""] for m in page.data if m.public_user_data
    ] == expected
    assert page.total_count == len(expected)


# -- invitations, sessions ----------------------------------------------------------------

ORG_INVITATION_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("default", {}, ["x", "z", "y"]),
    ("email_address", {"email_address": "Z@Example.com"}, ["z"]),
    ("status", {"status": "revoked"}, ["y"]),
    ("status pending", {"status": "pending"}, ["x", "z"]),
    ("order_by email_address", {"order_by": "email_address"}, ["x", "y", "z"]),
    ("order_by created_at", {"order_by": "+created_at"}, ["y", "z", "x"]),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [c[1:] for c in ORG_INVITATION_CASES],
    ids=[c[0] for c in ORG_INVITATION_CASES],
)
async def test_organization_invitation_filters(
    world: World, clerk: Clerk, params: dict[str, Any], expected: list[str]
) -> None:
    page = await clerk.organization_invitations.list(world.id("analytical"), **params)
    assert [world.names[i.id or ""].removeprefix("org_inv_") for i in page.data] == expected
    assert page.total_count == len(expected)


INVITATION_CASES: list[tuple[str, Case, list[str]]] = [
    ("default", lambda w: {}, ["a", "c", "b"]),
    ("status", lambda w: {"status": "revoked"}, ["c"]),
    ("query email", lambda w: {"query": "A@INV"}, ["a"]),
    ("query id", lambda w: {"query": w.id("inv_b")}, ["b"]),
    ("order_by email_address", lambda w: {"order_by": "email_address"}, ["a", "b", "c"]),
    ("order_by expires_at", lambda w: {"order_by": "expires_at"}, ["c", "b", "a"]),
    ("order_by created_at", lambda w: {"order_by": "created_at"}, ["b", "c", "a"]),
]


@pytest.mark.parametrize(
    ("case", "expected"), [c[1:] for c in INVITATION_CASES], ids=[c[0] for c in INVITATION_CASES]
)
async def test_invitation_filters(
    world: World, clerk: Clerk, case: Case, expected: list[str]
) -> None:
    page = await clerk.invitations.list(**case(world))
    assert [world.names[i.id or ""].removeprefix("inv_") for i in page.data] == expected


SESSION_CASES: list[tuple[str, Case, set[str]]] = [
    ("user_id", lambda w: {"user_id": w.id("ada")}, {"ada_session", "ada_old_session"}),
    (
        "user_id and status",
        lambda w: {"user_id": w.id("ada"), "status": "revoked"},
        {"ada_old_session"},
    ),
    ("client_id", lambda w: {"client_id": w.id("grace_client")}, {"grace_session"}),
    (
        "client_id and status",
        lambda w: {"client_id": w.id("grace_client"), "status": "ended"},
        set(),
    ),
]


@pytest.mark.parametrize(
    ("case", "expected"), [c[1:] for c in SESSION_CASES], ids=[c[0] for c in SESSION_CASES]
)
async def test_session_filters(world: World, clerk: Clerk, case: Case, expected: set[str]) -> None:
    page = await clerk.sessions.list(**case(world))
    assert set(world.named(page.data)) == expected
