"""The per-instance JWKS cache, counted at a real local server."""

from __future__ import annotations

import asyncio
import time

import attrs
import pytest

from clerk_async import Clerk, Retries
from clerk_async.auth import (
    TokenVerificationError,
    TokenVerificationErrorReason,
    _jwks,
    authenticate_request,
    verify_token,
)
from clerk_async.errors import ClerkTimeoutError, RateLimitError, ServerError
from clerk_async.integrations import status_for

from .helpers import SECRET_KEY, ClerkServer, claims, jwk, mint

R = TokenVerificationErrorReason


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(_jwks, "_monotonic", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def test_cold_cache_single_flight(clerk: Clerk, server: ClerkServer) -> None:
    server.gate = asyncio.Event()
    tokens = [mint(claims(sid=f"sess_{i}")) for i in range(100)]
    tasks = [asyncio.create_task(verify_token(t, clerk=clerk)) for t in tokens]
    await server.jwks_requested.wait()
    for _ in range(5):
        await asyncio.sleep(0)  # let every verification reach the shared refresh
    server.gate.set()
    results = await asyncio.gather(*tasks)
    assert [r.session_id for r in results] == [f"sess_{i}" for i in range(100)]
    assert server.counts["jwks"] == 1


async def test_cancelled_waiter_does_not_cancel_the_shared_fetch(
    clerk: Clerk, server: ClerkServer
) -> None:
    server.gate = asyncio.Event()
    first = asyncio.create_task(verify_token(mint(), clerk=clerk))
    second = asyncio.create_task(verify_token(mint(claims(sid="sess_b")), clerk=clerk))
    await server.jwks_requested.wait()
    first.cancel()
    server.gate.set()
    assert (await second).session_id == "sess_b"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert server.counts["jwks"] == 1


async def test_ttl(clerk: Clerk, server: ClerkServer, clock: Clock) -> None:
    await verify_token(mint(claims(sid="a")), clerk=clerk)
    clock.advance(_jwks.JWKS_TTL - 1)
    await verify_token(mint(claims(sid="b")), clerk=clerk)
    assert server.counts["jwks"] == 1
    clock.advance(2)
    await verify_token(mint(claims(sid="c")), clerk=clerk)
    assert server.counts["jwks"] == 2


async def test_unknown_kid_refetches_at_most_once_per_cooldown(
    clerk: Clerk, server: ClerkServer, clock: Clock
) -> None:
    await verify_token(mint(), clerk=clerk)
    assert server.counts["jwks"] == 1
    stranger = mint(key="attacker", kid="ins_unknown")
    for _ in range(3):
        with pytest.raises(TokenVerificationError) as info:
            await verify_token(stranger, clerk=clerk)
        assert info.value.reason is R.UNKNOWN_KID
    assert server.counts["jwks"] == 2  # one refetch for the first miss, none after
    clock.advance(_jwks.KID_REFETCH_COOLDOWN + 1)
    with pytest.raises(TokenVerificationError):
        await verify_token(stranger, clerk=clerk)
    assert server.counts["jwks"] == 3


async def test_rotated_key_is_picked_up_by_the_kid_refetch(
    clerk: Clerk, server: ClerkServer
) -> None:
    await verify_token(mint(), clerk=clerk)
    server.jwks = {"keys": [jwk("main"), jwk("rotated")]}
    result = await verify_token(mint(key="rotated"), clerk=clerk)
    assert result.sub == "user_123"
    assert server.counts["jwks"] == 2
    # The unchanged key kept its identity, so its tokens stay in the signature cache.
    token = mint(claims(sid="kept"))
    await verify_token(token, clerk=clerk)
    assert _jwks.jwks_cache_for(_jwks.instance_key(clerk)).lookup("ins_main") is not None


async def test_stale_key_set_used_while_clerk_is_down(
    clerk: Clerk, server: ClerkServer, clock: Clock
) -> None:
    await verify_token(mint(), clerk=clerk)
    clock.advance(_jwks.JWKS_TTL + 1)
    server.jwks_status = 503
    assert (await verify_token(mint(claims(sid="during")), clerk=clerk)).session_id == "during"
    assert server.counts["jwks"] == 2
    # No hammering: while the back-off runs, the stale set is used without asking.
    await verify_token(mint(claims(sid="again")), clerk=clerk)
    assert server.counts["jwks"] == 2
    clock.advance(_jwks.ERROR_BACKOFF + 1)
    await verify_token(mint(claims(sid="later")), clerk=clerk)
    assert server.counts["jwks"] == 3
    server.jwks_status = 200
    clock.advance(_jwks.ERROR_BACKOFF + 1)
    await verify_token(mint(claims(sid="back")), clerk=clerk)
    assert server.counts["jwks"] == 4
    await verify_token(mint(claims(sid="fresh")), clerk=clerk)
    assert server.counts["jwks"] == 4


async def test_stale_set_has_a_limit(clerk: Clerk, server: ClerkServer, clock: Clock) -> None:
    await verify_token(mint(), clerk=clerk)
    clock.advance(_jwks.MAX_STALE + 1)
    server.jwks_status = 503
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(mint(claims(sid="x")), clerk=clerk)
    assert info.value.reason is R.JWKS_UNAVAILABLE


async def test_cold_cache_and_clerk_failing(clerk: Clerk, server: ClerkServer) -> None:
    server.jwks_status = 500
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(mint(), clerk=clerk)
    assert info.value.reason is R.JWKS_UNAVAILABLE
    assert isinstance(info.value.__cause__, Exception)


async def test_cold_cache_and_clerk_unreachable() -> None:
    # A port that was just free: nothing listens there.
    srv = ClerkServer()
    await srv.server.start_server()
    url = srv.url
    await srv.server.close()
    async with Clerk(secret_key=SECRET_KEY, api_url=url, retries=0) as client:
        with pytest.raises(TokenVerificationError) as info:
            await verify_token(mint(), clerk=client)
    assert info.value.reason is R.JWKS_UNAVAILABLE


async def test_garbage_jwks_answer(clerk: Clerk, server: ClerkServer) -> None:
    server.jwks = {"nope": []}
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(mint(), clerk=clerk)
    assert info.value.reason is R.JWKS_UNAVAILABLE


async def test_non_rsa_and_encryption_keys_are_ignored(clerk: Clerk, server: ClerkServer) -> None:
    server.jwks = {
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": "ins_ed"},
            {**jwk("other", kid="ins_enc"), "use": "enc"},
            {"kty": "RSA", "kid": "ins_broken", "n": "!!", "e": "AQAB"},
            jwk("main"),
        ]
    }
    assert (await verify_token(mint(), clerk=clerk)).sub == "user_123"
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(mint(key="other", kid="ins_enc"), clerk=clerk)
    assert info.value.reason is R.UNKNOWN_KID


async def test_one_cache_per_instance(server: ClerkServer) -> None:
    async with (
        Clerk(secret_key=SECRET_KEY, api_url=server.url, retries=0) as a,
        Clerk(secret_key=SECRET_KEY, api_url=server.url + "/v1", retries=0) as b,
        Clerk(secret_key=SECRET_KEY + "x", api_url=server.url, retries=0) as c,
    ):
        await verify_token(mint(claims(sid="1")), clerk=a)
        await verify_token(mint(claims(sid="2")), clerk=b)
        await verify_token(mint(claims(sid="3")), clerk=a.with_options(timeout=5))
        assert server.counts["jwks"] == 1
        await verify_token(mint(claims(sid="4")), clerk=c)
        assert server.counts["jwks"] == 2


async def test_verification_on_another_event_loop_does_not_share_a_foreign_task(
    server: ClerkServer,
) -> None:
    # The sync shim runs a loop per client; a fetch started on one loop must not be
    # awaited from another.
    cache = _jwks.JWKSCache()
    loop_ids: list[int] = []

    async def fetch() -> object:
        loop_ids.append(id(asyncio.get_running_loop()))
        return {"keys": [jwk("main")]}

    def run_in_new_loop() -> None:
        asyncio.run(cache.get_key("ins_main", fetch))

    await asyncio.to_thread(run_in_new_loop)
    cache._fetched_at = -1e9  # make it stale again
    await cache.get_key("ins_main", fetch)
    assert len(loop_ids) == 2 and loop_ids[0] != loop_ids[1]


# -- Clerk failing: bounded fetches and back-off ----------------------------------


async def rejected(token: str, clerk: Clerk | None) -> TokenVerificationError:
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(token, clerk=clerk)
    return info.value


async def test_cold_cache_outage_backs_off(server: ClerkServer, clock: Clock) -> None:
    # The client's default policy (3 retries) is not what a JWKS fetch uses.
    server.jwks_status = 503
    async with Clerk(secret_key=SECRET_KEY, api_url=server.url) as client:
        started = time.monotonic()
        errors = [await rejected(mint(claims(sid=f"s{i}")), client) for i in range(10)]
        elapsed = time.monotonic() - started
        assert {e.reason for e in errors} == {R.JWKS_UNAVAILABLE}
        assert server.counts["jwks"] == 2  # one fetch: a request and one retry, then back-off
        assert elapsed < 5.0  # a retry pause is at most 0.25 s; loose for slow machines
        assert "ServerError (HTTP 503)" in str(errors[0])
        assert "next attempt in" in str(errors[1])
        assert all(isinstance(e.__cause__, ServerError) for e in errors)

        clock.advance(_jwks.UNAVAILABLE_BACKOFF + 0.1)
        assert (await rejected(mint(), client)).reason is R.JWKS_UNAVAILABLE
        assert server.counts["jwks"] == 4

        server.jwks_status = 200
        clock.advance(_jwks.UNAVAILABLE_BACKOFF - 1)
        assert (await rejected(mint(), client)).reason is R.JWKS_UNAVAILABLE  # still waiting
        assert server.counts["jwks"] == 4
        clock.advance(1.1)
        assert (await verify_token(mint(claims(sid="back")), clerk=client)).session_id == "back"
        assert server.counts["jwks"] == 5


async def test_cold_cache_outage_single_flight(server: ClerkServer, clock: Clock) -> None:
    server.jwks_status = 503
    server.gate = asyncio.Event()
    async with Clerk(secret_key=SECRET_KEY, api_url=server.url) as client:
        tasks = [
            asyncio.create_task(verify_token(mint(claims(sid=f"s{i}")), clerk=client))
            for i in range(50)
        ]
        await server.jwks_requested.wait()
        for _ in range(5):
            await asyncio.sleep(0)
        server.gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, TokenVerificationError) for r in results)
    assert {r.reason for r in results if isinstance(r, TokenVerificationError)} == {
        R.JWKS_UNAVAILABLE
    }
    assert len({id(r) for r in results}) == 50  # each waiter raises its own exception
    assert server.counts["jwks"] == 2


async def test_unknown_kid_on_a_fresh_set_while_clerk_is_down(
    clerk: Clerk, server: ClerkServer, clock: Clock
) -> None:
    await verify_token(mint(), clerk=clerk)
    server.jwks_status = 503
    stranger = mint(key="attacker", kid="ins_unknown")
    error = await rejected(stranger, clerk)
    # We hold a fresh key set without this kid: a rejected token (401), not an outage (503).
    assert error.reason is R.UNKNOWN_KID
    assert "refetching the key set failed" in str(error)
    assert isinstance(error.__cause__, TokenVerificationError)
    assert error.__cause__.reason is R.JWKS_UNAVAILABLE
    assert server.counts["jwks"] == 2
    assert (await rejected(stranger, clerk)).reason is R.UNKNOWN_KID
    assert server.counts["jwks"] == 2  # within the kid cooldown: not asked again
    # Tokens of the known key keep working meanwhile.
    assert (await verify_token(mint(claims(sid="ok")), clerk=clerk)).session_id == "ok"

    state = await authenticate_request(
        headers={"Authorization": f"Bearer {mint(key='attacker', kid='ins_other')}"},
        clerk=clerk,
    )
    assert state.reason is R.UNKNOWN_KID
    assert status_for(state) == 401


async def test_too_stale_set_backs_off_like_a_cold_cache(
    clerk: Clerk, server: ClerkServer, clock: Clock
) -> None:
    await verify_token(mint(), clerk=clerk)
    clock.advance(_jwks.MAX_STALE + 1)
    server.jwks_status = 503
    for _ in range(5):
        assert (await rejected(mint(claims(sid="x")), clerk)).reason is R.JWKS_UNAVAILABLE
    assert server.counts["jwks"] == 2
    clock.advance(_jwks.UNAVAILABLE_BACKOFF + 0.1)
    server.jwks_status = 200
    assert (await verify_token(mint(claims(sid="y")), clerk=clerk)).session_id == "y"
    assert server.counts["jwks"] == 3


async def test_fetch_budget_ignores_a_generous_client_policy(
    server: ClerkServer, clock: Clock
) -> None:
    server.jwks_status = 503
    generous = Retries(max_retries=6, backoff_base=4.0, backoff_max=30.0, deadline=None)
    async with Clerk(secret_key=SECRET_KEY, api_url=server.url, retries=generous) as client:
        started = time.monotonic()
        assert (await rejected(mint(), client)).reason is R.JWKS_UNAVAILABLE
        assert time.monotonic() - started < 5.0
        # The client's own policy is untouched for its other calls.
        assert client.retries is generous
    assert server.counts["jwks"] == 2


async def test_client_without_retries_makes_one_request(
    clerk: Clerk, server: ClerkServer, clock: Clock
) -> None:
    server.jwks_status = 503
    assert (await rejected(mint(), clerk)).reason is R.JWKS_UNAVAILABLE
    assert server.counts["jwks"] == 1


async def test_a_long_retry_after_is_not_waited_for(server: ClerkServer, clock: Clock) -> None:
    server.jwks_status = 429
    server.jwks_headers = {"Retry-After": "30"}
    async with Clerk(secret_key=SECRET_KEY, api_url=server.url) as client:
        started = time.monotonic()
        error = await rejected(mint(), client)
        assert time.monotonic() - started < 5.0
    assert error.reason is R.JWKS_UNAVAILABLE
    assert isinstance(error.__cause__, RateLimitError)
    assert "RateLimitError (HTTP 429)" in str(error)
    assert server.counts["jwks"] == 1


async def test_a_hanging_clerk_is_cut_off_by_the_fetch_deadline(
    server: ClerkServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        _jwks, "JWKS_FETCH_RETRIES", attrs.evolve(_jwks.JWKS_FETCH_RETRIES, deadline=0.3)
    )
    server.gate = asyncio.Event()  # never set here: Clerk accepts and never answers
    async with Clerk(secret_key=SECRET_KEY, api_url=server.url, timeout=None) as client:
        started = time.monotonic()
        error = await rejected(mint(), client)
        assert time.monotonic() - started < 5.0
    assert error.reason is R.JWKS_UNAVAILABLE
    assert isinstance(error.__cause__, ClerkTimeoutError)


async def test_instance_from_environment_uses_the_same_budget(
    server: ClerkServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("CLERK_API_URL", server.url)
    server.jwks_status = 502
    for _ in range(3):
        assert (await rejected(mint(), None)).reason is R.JWKS_UNAVAILABLE
    assert server.counts["jwks"] == 2


async def test_a_kid_given_to_two_keys_is_refused(clerk: Clerk, server: ClerkServer) -> None:
    # A key set naming two different keys "ins_main": whichever came last must not win.
    server.jwks = {
        "keys": [jwk("main"), jwk("attacker", kid="ins_main"), jwk("other", kid="ins_o")]
    }
    for key in ("main", "attacker"):
        with pytest.raises(TokenVerificationError) as info:
            await verify_token(mint(key=key, kid="ins_main"), clerk=clerk)
        assert info.value.reason is R.AMBIGUOUS_KID
        assert "two different keys" in str(info.value)
    # The other kids of the same set still verify, and the same JWK twice is no ambiguity.
    assert (await verify_token(mint(key="other", kid="ins_o"), clerk=clerk)).sub == "user_123"
    server.jwks = {"keys": [jwk("main"), jwk("main")]}
    _jwks.clear_caches()
    assert (await verify_token(mint(), clerk=clerk)).sub == "user_123"
