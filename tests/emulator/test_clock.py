"""The emulator's test clock: everything time-dependent follows it, and nothing sleeps."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone

import aiohttp
import jwt
import pytest

from clerk_async import Clerk, RateLimit, errors, webhooks
from clerk_async.auth import (
    AuthenticateOptions,
    TokenVerificationError,
    TokenVerificationErrorReason,
    authenticate_request,
    verify_machine_token,
    verify_token,
)
from clerk_async.emulator import Clock, Emulator
from clerk_async.emulator._clock import to_epoch

from ..conftest import FAST_RETRIES
from ..integrations.conftest import uvicorn_server
from ..webhooks.test_delivery import Receiver

START = datetime(2030, 1, 1, tzinfo=timezone.utc)
START_S = int(START.timestamp())
START_MS = START_S * 1000
DAY = 86_400
EXPIRED = TokenVerificationErrorReason.EXPIRED


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # Frozen: the assertions compare exact times; a running clock is tested below.
    async with Emulator(start_time=START, freeze_time=True) as emulator:
        yield emulator


@pytest.fixture
async def clerk(emu: Emulator) -> AsyncIterator[Clerk]:
    async with emu.client(retries=FAST_RETRIES) as client:
        yield client


async def a_user(clerk: Clerk, name: str = "ada") -> str:
    user = await clerk.users.create(email_address=[f"{name}@example.com"])
    assert isinstance(user.id, str)
    return user.id


# -- the clock itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        START,
        START_S,
        float(START_S),
        "2030-01-01T00:00:00Z",
        "2030-01-01T01:00:00+01:00",
        "2030-01-01",
        date(2030, 1, 1),
    ],
)
def test_every_way_of_naming_the_start(start: object) -> None:
    assert to_epoch(start) == START_S  # type: ignore[arg-type]
    assert Clock(start, frozen=True).now() == START_S  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "start, words",
    [
        (datetime(2030, 1, 1), "naive datetime"),
        ("2030-01-01T00:00:00", "naive datetime"),
        ("next tuesday", "not an ISO 8601 time"),
        (float("nan"), "finite"),
        (True, "must be a datetime"),
        ([2030], "not list"),
    ],
)
def test_an_unreadable_start_is_refused_with_a_typed_error(start: object, words: str) -> None:
    with pytest.raises(errors.InvalidOptionError, match=words):
        Emulator(start_time=start)  # type: ignore[arg-type]


def test_frozen_moves_only_when_told_and_only_forward() -> None:
    clock = Clock(START, frozen=True)
    assert clock.frozen and clock.now() == clock.now() == START_S
    assert clock.advance(90) == START_S + 90
    assert clock.advance(timedelta(minutes=1)) == START_S + 150
    clock.set("2030-01-02T00:00:00Z")
    assert clock.as_datetime() == START + timedelta(days=1)
    assert clock.now_ms() == START_MS + DAY * 1000
    with pytest.raises(errors.InvalidOptionError, match="only forward"):
        clock.advance(-1)
    with pytest.raises(errors.InvalidOptionError, match="move the clock back"):
        clock.set(START)
    with pytest.raises(errors.InvalidOptionError):
        clock.advance(float("inf"))
    assert "2030-01-02T00:00:00Z" in repr(clock) and "frozen" in repr(clock)


def test_a_running_clock_keeps_real_time_from_its_offset() -> None:
    clock = Clock(START)
    first = clock.now()
    assert START_S <= first < START_S + 60
    clock.advance(DAY)
    assert clock.now() >= first + DAY
    clock.freeze()
    held = clock.now()
    assert clock.now() == held
    clock.resume()
    assert not clock.frozen and clock.now() >= held
    # Default: the wall clock.
    assert abs(Clock().now() - datetime.now(tz=timezone.utc).timestamp()) < 60


async def test_a_running_clock_stays_with_real_time_through_bursts_of_changes() -> None:
    # 300 users stamped a millisecond apart at start: the clock is not pushed ahead,
    # so a token it mints verifies by the wall clock (no now= needed).
    async with Emulator(seed_users=300) as emu, emu.client() as clerk:
        assert emu.clock.now() <= time.time() + 0.05  # seeding stamped 300+ changes
        user_id = next(iter(emu.store.users))
        token = emu.mint_session_token(user_id)
        assert (await verify_token(token, clerk=clerk)).user_id == user_id
        assert (await clerk.clients.verify(token=token)).id


# -- timestamps in answers --------------------------------------------------------------


async def test_timestamps_of_answers_follow_the_clock(emu: Emulator, clerk: Clerk) -> None:
    user = await clerk.users.create(email_address=["ada@example.com"])
    assert user.id and user.created_at is not None
    assert START_MS <= user.created_at < START_MS + 1000
    emu.clock.advance(3600)
    updated = await clerk.users.update(user.id, first_name="Ada")
    assert updated.created_at == user.created_at
    assert updated.updated_at is not None and updated.updated_at >= START_MS + 3_600_000
    session = await clerk.sessions.create(user_id=user.id)
    again = await clerk.users.get(user.id)
    assert again.last_active_at == again.last_sign_in_at == session.created_at
    assert session.created_at is not None and session.created_at >= START_MS + 3_600_000
    org = await clerk.organizations.create(name="Acme", created_by=user.id)
    assert org.created_at is not None and org.created_at >= START_MS + 3_600_000
    # The generic store (operations answered from the spec's schemas) stamps with it too.
    emu.clock.advance(DAY)
    made = await clerk.organization_permissions.create(name="Read", key="org:feature:read")
    assert made.created_at is not None
    assert START_MS + (DAY + 3600) * 1000 <= made.created_at < START_MS + (DAY + 3601) * 1000


# -- tokens ------------------------------------------------------------------------------


async def test_session_tokens_expire_when_the_clock_passes_exp(emu: Emulator, clerk: Clerk) -> None:
    user_id = await a_user(clerk)
    token = emu.mint_session_token(user_id, expires_in=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (START_S, START_S - 5, START_S + 60)
    now = emu.clock.now
    assert (await verify_token(token, clerk=clerk, now=now)).user_id == user_id
    # By the wall clock that 2030 token is not even issued yet: the two must agree.
    with pytest.raises(TokenVerificationError) as early:
        await verify_token(token, clerk=clerk)
    assert early.value.reason is TokenVerificationErrorReason.NOT_YET_VALID
    emu.clock.advance(64)  # within clock_skew (5 s) of exp: still good
    assert (await verify_token(token, clerk=clerk, now=now)).session_id == claims["sid"]
    emu.clock.advance(2)
    with pytest.raises(TokenVerificationError) as late:
        await verify_token(token, clerk=clerk, now=now)  # the cached signature too
    assert late.value.reason is EXPIRED


async def test_authenticate_request_takes_the_clock_as_an_option(
    emu: Emulator, clerk: Clerk
) -> None:
    user_id = await a_user(clerk)
    session = await clerk.sessions.create(user_id=user_id)
    assert session.id
    minted = await clerk.sessions.create_token(session.id, expires_in_seconds=120)
    assert minted.jwt
    headers = {"Authorization": f"Bearer {minted.jwt}"}
    options = AuthenticateOptions(clerk=clerk, now=emu.clock.now)
    state = await authenticate_request(headers=headers, options=options)
    assert state.is_signed_in and state.to_auth().user_id == user_id
    emu.clock.advance(126)
    state = await authenticate_request(headers=headers, options=options)
    assert not state.is_signed_in and state.reason is EXPIRED
    # The same as a keyword override (what every integration takes).
    emu2_state = await authenticate_request(headers=headers, clerk=clerk, now=lambda: START_S)
    assert emu2_state.is_signed_in


async def test_machine_and_template_jwts_follow_the_clock(emu: Emulator) -> None:
    key = emu.jwt_public_key_pem
    m2m = emu.mint_m2m_jwt("mch_worker", scopes=["mch_other"], expires_in=600)
    oauth = emu.mint_oauth_jwt("user_1", expires_in=300)
    template = emu.mint_template_jwt("user_1")
    for token, lifetime in ((m2m, 600), (oauth, 300), (template, 60)):
        claims = jwt.decode(token, options={"verify_signature": False})
        assert (claims["iat"], claims["exp"]) == (START_S, START_S + lifetime)
    now = emu.clock.now
    assert (await verify_machine_token(m2m, jwt_key=key, now=now)).subject == "mch_worker"
    assert (await verify_machine_token(oauth, jwt_key=key, now=now)).subject == "user_1"
    emu.clock.advance(306)
    assert (await verify_machine_token(m2m, jwt_key=key, now=now)).subject == "mch_worker"
    with pytest.raises(TokenVerificationError) as oauth_late:
        await verify_machine_token(oauth, jwt_key=key, now=now)
    assert oauth_late.value.reason is EXPIRED
    emu.clock.advance(300)
    with pytest.raises(TokenVerificationError) as m2m_late:
        await verify_machine_token(m2m, jwt_key=key, now=now)
    assert m2m_late.value.reason is EXPIRED


async def test_handshake_tokens_and_cookies_follow_the_clock(emu: Emulator, clerk: Clerk) -> None:
    user_id = await a_user(clerk)
    emu.clock.advance(1000)
    cookies = emu.browser_cookies(user_id, expired=True)
    assert cookies["__client_uat"] == str(START_S + 1000 - 120)
    redirect = "https://app.example/dashboard"
    async with (
        aiohttp.ClientSession(cookies=cookies) as http,
        http.get(
            f"{emu.url}/v1/client/handshake",
            params={"redirect_url": redirect},
            allow_redirects=False,
        ) as answer,
    ):
        assert answer.status == 307
        location = answer.headers["Location"]
    handshake = location.split("__clerk_handshake=")[1]
    payload = jwt.decode(handshake, emu.jwt_public_key_pem, algorithms=["RS256"], options={
        "verify_exp": False, "verify_iat": False, "verify_nbf": False
    })  # fmt: skip
    assert (payload["iat"], payload["exp"]) == (START_S + 1000, START_S + 1060)
    fresh = next(d for d in payload["handshake"] if d.startswith("__session="))
    session_token = fresh.split("=", 1)[1].split(";", 1)[0]
    claims = await verify_token(session_token, clerk=clerk, now=emu.clock.now)
    assert claims.iat == START_S + 1000 and claims.user_id == user_id


# -- session expiry -----------------------------------------------------------------------


async def test_sessions_expire_and_then_mint_no_tokens(emu: Emulator, clerk: Clerk) -> None:
    user_id = await a_user(clerk)
    session = await clerk.sessions.create(user_id=user_id)
    assert session.id and session.created_at is not None
    assert session.expire_at == session.created_at + 7 * DAY * 1000
    assert session.abandon_at is not None and session.abandon_at >= session.expire_at
    assert session.expire_at is not None
    emu.clock.set((session.expire_at - 1) / 1000)
    assert (await clerk.sessions.get(session.id)).status == "active"
    assert (await clerk.sessions.create_token(session.id)).jwt
    emu.clock.set(session.expire_at / 1000)  # the very millisecond
    expired = await clerk.sessions.get(session.id)
    assert expired.status == "expired" and expired.updated_at == session.expire_at
    with pytest.raises(errors.NotFoundError) as refused:
        await clerk.sessions.create_token(session.id)
    assert refused.value.code == "session_not_active"
    listed = await clerk.sessions.list(user_id=user_id, status="expired")
    assert [s.id for s in listed] == [session.id]
    assert [s.id for s in await clerk.sessions.list(user_id=user_id, status="active")] == []
    assert session.client_id
    client = await clerk.clients.get(session.client_id)
    assert [s.status for s in client.sessions or []] == ["expired"]


async def test_a_revoked_session_stays_revoked_past_its_expiry(emu: Emulator, clerk: Clerk) -> None:
    user_id = await a_user(clerk)
    session = await clerk.sessions.create(user_id=user_id)
    assert session.id
    await clerk.sessions.revoke(session.id)
    emu.clock.advance(60 * DAY)
    assert (await clerk.sessions.get(session.id)).status == "revoked"


async def test_a_session_abandoned_before_it_expires(emu: Emulator, clerk: Clerk) -> None:
    user_id = await a_user(clerk)
    session = emu.store.start_session(user_id, expire_in_ms=90 * DAY * 1000)
    session["abandon_at"] = session["created_at"] + 10 * DAY * 1000
    emu.store.at(session["abandon_at"], emu.store._lapse(session))
    emu.clock.advance(10 * DAY)
    assert (await clerk.sessions.get(session["id"])).status == "abandoned"


# -- invitation expiry --------------------------------------------------------------------


async def test_instance_invitations_expire(emu: Emulator, clerk: Clerk) -> None:
    soon = await clerk.invitations.create(email_address="soon@example.com", expires_in_days=1)
    later = await clerk.invitations.create(email_address="later@example.com")
    assert soon.id and later.id and soon.created_at is not None
    assert soon.expires_at == soon.created_at + DAY * 1000
    assert later.expires_at == later.created_at + 30 * DAY * 1000  # type: ignore[operator]
    emu.clock.advance(DAY)
    assert [i.id for i in await clerk.invitations.list(status="expired")] == [soon.id]
    assert [i.id for i in await clerk.invitations.list(status="pending")] == [later.id]
    with pytest.raises(errors.BadRequestError):
        await clerk.invitations.revoke(soon.id)  # only pending ones can be
    # An expired invitation no longer blocks a new one to the same address.
    again = await clerk.invitations.create(email_address="soon@example.com")
    assert again.status == "pending"
    emu.clock.advance(29 * DAY)
    statuses = {i.id: i.status for i in await clerk.invitations.list()}
    assert statuses == {soon.id: "expired", later.id: "expired", again.id: "pending"}


async def test_organization_invitations_expire(emu: Emulator, clerk: Clerk) -> None:
    user_id = await a_user(clerk)
    org = await clerk.organizations.create(name="Acme", created_by=user_id)
    assert org.id
    invitation = await clerk.organization_invitations.create(
        org.id, email_address="new@example.com", role="org:member", expires_in_days=2
    )
    assert invitation.id and invitation.created_at is not None
    assert invitation.expires_at == invitation.created_at + 2 * DAY * 1000
    emu.clock.advance(DAY)
    pending = await clerk.organization_invitations.list(org.id, status="pending")
    assert [i.id for i in pending.data] == [invitation.id]
    emu.clock.advance(DAY)
    expired = await clerk.organization_invitations.list(org.id, status="expired")
    assert [i.id for i in expired.data] == [invitation.id]
    assert expired.data[0].updated_at == invitation.expires_at
    with pytest.raises(errors.BadRequestError):
        await clerk.organization_invitations.revoke(org.id, invitation.id)


# -- rate limits --------------------------------------------------------------------------


async def test_advancing_the_clock_refills_the_rate_limit_buckets() -> None:
    limits = RateLimit(requests=3, per=10)
    async with Emulator(rate_limits=limits, start_time=START, freeze_time=True) as emu:
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        async with aiohttp.ClientSession(headers=headers) as http:

            async def status() -> tuple[int, str | None]:
                async with http.get(f"{emu.url}/v1/users") as answer:
                    return answer.status, answer.headers.get("Retry-After")

            assert [await status() for _ in range(4)][-2:] == [(200, None), (429, "10")]
            emu.clock.advance(9)
            assert await status() == (429, "1")  # the rest of the window
            emu.clock.advance(1)
            assert [(await status())[0] for _ in range(4)] == [200, 200, 200, 429]


# -- webhooks -----------------------------------------------------------------------------


async def test_webhook_events_carry_the_emulated_time_and_still_verify() -> None:
    receiver = Receiver()
    async with (
        uvicorn_server(receiver.app) as url,
        Emulator(webhooks=[f"{url}/clerk/webhooks"], start_time=START, freeze_time=True) as emu,
    ):
        receiver.secret = emu.webhook_secret
        emu.clock.advance(DAY)
        async with emu.client() as clerk:
            await clerk.users.create(email_address=["ada@example.com"])
            await emu.wait_for_webhooks()
    [event] = receiver.events  # verified by verify_webhook against the wall clock
    assert isinstance(event, webhooks.UserCreated)
    assert event.timestamp is not None
    assert START_MS + DAY * 1000 <= event.timestamp < START_MS + DAY * 1000 + 1000
    assert event.data.created_at is not None and event.data.created_at >= START_MS + DAY * 1000


# -- the CLI and the pytest plugin ----------------------------------------------------------


async def test_cli_start_time() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-u", "-m", "clerk_async.emulator", "--port", "0",
        "--start-time", "2030-01-01T00:00:00Z", "--freeze-time",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    try:
        while "CLERK_SECRET_KEY" not in printed:
            line = await asyncio.wait_for(proc.stdout.readline(), 60.0)
            assert line, "the emulator exited before it printed its address"
            key, sep, value = line.decode().strip().partition("=")
            if sep:
                printed[key] = value
        async with Clerk(
            secret_key=printed["CLERK_SECRET_KEY"], api_url=printed["CLERK_API_URL"]
        ) as clerk:
            first = await clerk.users.create(email_address=["ada@example.com"])
            second = await clerk.users.create(email_address=["grace@example.com"])
        # Frozen: the store still ticks a millisecond per change, to keep creation order.
        assert (first.created_at, second.created_at) == (START_MS + 1, START_MS + 2)
    finally:
        if proc.returncode is None:
            proc.terminate()  # this child's PID only
        await proc.communicate()


def test_cli_refuses_an_unreadable_start_time(capsys: pytest.CaptureFixture[str]) -> None:
    from clerk_async.emulator.__main__ import main

    with pytest.raises(SystemExit):
        main(["--start-time", "2030-01-01T00:00:00"])
    assert "naive datetime" in capsys.readouterr().err


@pytest.mark.clerk_emulator(start_time="2030-01-01T00:00:00Z", freeze_time=True)
async def test_the_pytest_marker_sets_the_clock(clerk_emulator: Emulator) -> None:
    assert clerk_emulator.clock.now() == START_S
    async with clerk_emulator.client() as clerk:
        invitation = await clerk.invitations.create(
            email_address="a@example.com", expires_in_days=3
        )
        clerk_emulator.clock.advance(timedelta(days=3))
        assert invitation.id
        [listed] = await clerk.invitations.list(status="expired")
        assert listed.id == invitation.id


@pytest.mark.clerk_emulator(start_time=START_S)
def test_the_pytest_marker_sets_the_threaded_clock(clerk_emulator_in_thread: Emulator) -> None:
    assert START_S <= clerk_emulator_in_thread.clock.now() < START_S + 60
    with clerk_emulator_in_thread.sync_client() as clerk:
        user = clerk.users.create(email_address=["a@example.com"])
        assert user.created_at is not None and user.created_at >= START_MS
