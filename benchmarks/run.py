"""The benchmark harness: clerk-async against raw aiohttp (the limit) and the official SDK.

Run with ``nox -s bench`` (``-- --smoke`` for a short pass). In one run it starts a
fixture server in its own process and measures, alternating the clients round by
round so machine drift hits all alike, garbage collected before each sample:

1. get-user throughput at concurrency 1, 8 and 64;
2. listing 10,000 users;
3. sequential sync get-user rate, what handing a call to the loop thread costs (each
   candidate way), and listing through ``clerk_sync`` against a urllib3 offset loop;
4. session token verifications per second;
5. import time;
6. peak RSS while iterating 100,000 users, and holding them all (ours and the
   official SDK's models);
7. the bulk job under a rate limit (:mod:`benchmarks.bulk`): failed operations, share
   of requests answered 429, achieved / allowed rate.

It writes ``benchmarks/results/latest.md`` (median, min-max, ratios) and
``latest.png`` beside it (``-- --only list,sync`` runs some groups, into
``partial.md``). Absolute numbers depend on the machine; the ratios
measured in the same run are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

import clerk_async
import clerk_sync
from clerk_async._http import requester_of

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")
SECRET = "sk_test_benchmark"
USER_ID = "user_00000001"
HAVE_OFFICIAL = True
try:
    import clerk_backend_api
except ImportError:  # the peer is only installed by `nox -s bench`
    HAVE_OFFICIAL = False


# -- the fixture server ------------------------------------------------------------------


#: A listing walk is short (a fraction of a second), so the listing groups run this many
#: times the rounds of the others, for medians as steady.
LISTING_ROUNDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fixture_server(users: int) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.fixture_server",
            "--port",
            str(port),
            "--users",
            str(users),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready"
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


# -- measurement helpers ------------------------------------------------------------------


def in_turns(clients: dict[str, T], rounds: int) -> Iterator[tuple[str, T]]:
    """Every client once a round, back to back: in their order in even rounds, the other
    way round in odd ones. A place in the round (right after a slow client, or late in a
    minute the machine slows down) then weighs on every client alike, not on one."""
    order = list(clients.items())
    for turn in range(rounds):
        yield from order if turn % 2 == 0 else order[::-1]


class Series:
    """Samples of one measurement across rounds."""

    def __init__(self, group: str, name: str, unit: str, higher_is_better: bool = True) -> None:
        self.group, self.name, self.unit = group, name, unit
        self.higher_is_better = higher_is_better
        self.samples: list[float] = []

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")


def settle() -> None:
    """Collect garbage before a sample, so none is timed collecting what the client before
    it left (the official SDK's models, mostly): a full collection of this process's heap
    takes tens of milliseconds, a good part of one listing walk."""
    gc.collect()


async def rate(worker: Callable[[], Awaitable[object]], concurrency: int, seconds: float) -> float:
    """Completed calls per second with ``concurrency`` workers for ``seconds``."""
    settle()
    deadline = time.perf_counter() + seconds
    done = 0

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await worker()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def rate_and_cpu(
    worker: Callable[[], Awaitable[object]], concurrency: int, seconds: float
) -> tuple[float, float]:
    """Like :func:`rate`, plus this process's CPU microseconds per completed call.

    The fixture server runs in another process, so this is the client's own cost."""
    calls = 0

    async def counted() -> object:
        nonlocal calls
        calls += 1
        return await worker()

    cpu = time.process_time()
    per_second = await rate(counted, concurrency, seconds)
    return per_second, (time.process_time() - cpu) / max(calls, 1) * 1e6


def sync_rate(worker: Callable[[], object], seconds: float) -> float:
    settle()
    deadline = time.perf_counter() + seconds
    done = 0
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        worker()
        done += 1
    return done / (time.perf_counter() - started)


def raw_session(headers: dict[str, str]) -> aiohttp.ClientSession:
    """The limit's session, set up as clerk-async sets up its own: the same pool, and the
    headers sent by default rather than merged into every request."""
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=30, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, headers=headers)


# -- 1. get-user throughput ---------------------------------------------------------------


async def bench_get_user(url: str, rounds: int, seconds: float, out: list[Series]) -> None:
    headers = {"Authorization": f"Bearer {SECRET}", "Clerk-API-Version": "2026-05-12"}
    names = ("raw aiohttp", "clerk-async", "clerk-async, answer not decoded", "official SDK")
    for concurrency in (1, 8, 64):
        series = {
            name: Series(f"get-user, concurrency {concurrency}", name, "req/s") for name in names
        }
        out.extend(series.values())
        cpu_group = f"client CPU per get-user, concurrency {concurrency}"
        cpu_series = {name: Series(cpu_group, name, "us", higher_is_better=False) for name in names}
        async with (
            raw_session(headers) as session,
            clerk_async.Clerk(secret_key=SECRET, api_url=url) as ours,
        ):
            user_url = f"{url}/v1/users/{USER_ID}"

            async def raw(user_url: str = user_url) -> object:
                async with session.get(user_url) as resp:
                    return json.loads(await resp.read())

            async def sdk() -> object:
                return await ours.users.get(USER_ID)

            async def undecoded() -> object:
                # The same call stopping at the JSON: what decoding into models costs.
                return await requester_of(ours).request("GET", f"/users/{USER_ID}", cast_to=object)

            workers: dict[str, Callable[[], Awaitable[object]]] = {
                "raw aiohttp": raw,
                "clerk-async": sdk,
                "clerk-async, answer not decoded": undecoded,
            }
            if HAVE_OFFICIAL:
                official = clerk_backend_api.Clerk(bearer_auth=SECRET, server_url=url + "/v1")

                async def peer(official: Any = official) -> object:
                    return await official.users.get_async(user_id=USER_ID)

                workers["official SDK"] = peer
            for worker in workers.values():  # warm-up
                await rate(worker, concurrency, 0.2)
            for name, worker in in_turns(workers, rounds):
                per_second, cpu_us = await rate_and_cpu(worker, concurrency, seconds)
                series[name].samples.append(per_second)
                cpu_series[name].samples.append(cpu_us)
        if concurrency == 64:  # one CPU table is enough; the others add little
            out.extend(cpu_series.values())


# -- 2. listing 10,000 users -----------------------------------------------------------------


async def bench_list(url: str, users: int, rounds: int, out: list[Series]) -> None:
    group = f"list {users:,} users"
    names = [
        "raw aiohttp offset loop",
        "clerk-async offset",
        "clerk-async cursor",
        "clerk-async concurrency=4",
        "official SDK offset loop",
    ]
    series = {n: Series(group, n, "users/s") for n in names}
    out.extend(series.values())
    headers = {"Authorization": f"Bearer {SECRET}", "Clerk-API-Version": "2026-05-12"}
    async with (
        raw_session(headers) as session,
        clerk_async.Clerk(secret_key=SECRET, api_url=url) as ours,
    ):

        async def raw() -> int:
            n, offset = 0, 0
            while True:
                params = {"limit": "500", "offset": str(offset)}
                async with session.get(f"{url}/v1/users", params=params) as resp:
                    page = json.loads(await resp.read())
                n += len(page)
                offset += len(page)
                if len(page) < 500:
                    return n

        async def offset_walk() -> int:
            return sum([1 async for _ in ours.users.list(order_by="-updated_at")])

        async def cursor_walk() -> int:
            return sum([1 async for _ in ours.users.list()])

        async def concurrent() -> int:
            return sum([1 async for _ in ours.users.list(order_by="-updated_at", concurrency=4)])

        jobs: dict[str, Callable[[], Awaitable[int]]] = {
            "raw aiohttp offset loop": raw,
            "clerk-async offset": offset_walk,
            "clerk-async cursor": cursor_walk,
            "clerk-async concurrency=4": concurrent,
        }
        if HAVE_OFFICIAL:
            official = clerk_backend_api.Clerk(bearer_auth=SECRET, server_url=url + "/v1")

            async def peer() -> int:
                n, offset = 0, 0
                while True:
                    page = await official.users.list_async(request={"limit": 500, "offset": offset})
                    n += len(page)
                    offset += len(page)
                    if len(page) < 500:
                        return n

            jobs["official SDK offset loop"] = peer
        for name, job in in_turns(jobs, rounds * LISTING_ROUNDS):
            settle()
            started = time.perf_counter()
            count = await job()
            elapsed = time.perf_counter() - started
            if count != users:
                raise SystemExit(f"{name} listed {count} users, expected {users}")
            series[name].samples.append(count / elapsed)


# -- 3. sync get-user ----------------------------------------------------------------------


def bench_sync(url: str, rounds: int, seconds: float, out: list[Series]) -> None:
    import urllib3

    group = "sync get-user, sequential"
    names = ["raw urllib3", "clerk_sync", "official SDK (sync)"]
    series = {n: Series(group, n, "req/s") for n in names}
    out.extend(series.values())
    pool = urllib3.PoolManager(maxsize=4)
    headers = {"Authorization": f"Bearer {SECRET}"}
    user_url = f"{url}/v1/users/{USER_ID}"
    ours = clerk_sync.Clerk(secret_key=SECRET, api_url=url)

    def raw() -> object:
        return json.loads(pool.request("GET", user_url, headers=headers).data)

    def sdk() -> object:
        return ours.users.get(USER_ID)

    workers: dict[str, Callable[[], object]] = {"raw urllib3": raw, "clerk_sync": sdk}
    if HAVE_OFFICIAL:
        official = clerk_backend_api.Clerk(bearer_auth=SECRET, server_url=url + "/v1")

        def peer() -> object:
            return official.users.get(user_id=USER_ID)

        workers["official SDK (sync)"] = peer
    try:
        for worker in workers.values():
            sync_rate(worker, 0.2)
        for name, worker in in_turns(workers, rounds):
            series[name].samples.append(sync_rate(worker, seconds))
    finally:
        ours.close()
        pool.clear()


def bench_handoff(rounds: int, out: list[Series], calls: int = 5_000) -> None:
    """What one sync call costs before any HTTP: a no-op coroutine run on a loop thread
    and its result waited for from this thread, by each candidate way, on one loop."""
    from anyio.from_thread import BlockingPortal

    from clerk_async._sync_support import PortalRunner

    group = "sync handoff, a no-op coroutine from another thread"
    runner = PortalRunner("bench-handoff")

    async def noop() -> int:
        return 1

    portal: BlockingPortal = runner.portal()
    loop = runner._loop
    assert loop is not None

    def stdlib() -> object:
        return asyncio.run_coroutine_threadsafe(noop(), loop).result()

    ways: dict[str, Callable[[], object]] = {
        "PortalRunner.run (call_soon_threadsafe, a lock)": lambda: runner.run(noop),
        "anyio BlockingPortal.call": lambda: portal.call(noop),
        "asyncio.run_coroutine_threadsafe": stdlib,
    }
    series = {n: Series(group, n, "us", higher_is_better=False) for n in ways}
    out.extend(series.values())
    try:
        for way in ways.values():
            for _ in range(200):
                way()
        for name, way in in_turns(ways, rounds):
            settle()
            started = time.perf_counter()
            for _ in range(calls):
                way()
            series[name].samples.append((time.perf_counter() - started) / calls * 1e6)
    finally:
        runner.close()


# -- 3b. listing through clerk_sync ---------------------------------------------------------


def bench_sync_list(url: str, users: int, rounds: int, out: list[Series]) -> None:
    import urllib3

    group = f"sync list {users:,} users"
    names = ["raw urllib3 offset loop", "clerk_sync offset", "clerk_sync cursor"]
    series = {n: Series(group, n, "users/s") for n in names}
    out.extend(series.values())
    pool = urllib3.PoolManager(maxsize=4)
    headers = {"Authorization": f"Bearer {SECRET}", "Clerk-API-Version": "2026-05-12"}
    ours = clerk_sync.Clerk(secret_key=SECRET, api_url=url)

    def raw() -> int:
        n, offset = 0, 0
        while True:
            fields = {"limit": "500", "offset": str(offset)}
            page = json.loads(
                pool.request("GET", f"{url}/v1/users", fields=fields, headers=headers).data
            )
            n += len(page)
            offset += len(page)
            if len(page) < 500:
                return n

    def offset_walk() -> int:
        return sum(1 for _ in ours.users.list(order_by="-updated_at"))

    def cursor_walk() -> int:
        return sum(1 for _ in ours.users.list())

    jobs: dict[str, Callable[[], int]] = {
        "raw urllib3 offset loop": raw,
        "clerk_sync offset": offset_walk,
        "clerk_sync cursor": cursor_walk,
    }
    try:
        for name, job in in_turns(jobs, rounds * LISTING_ROUNDS):
            settle()
            started = time.perf_counter()
            count = job()
            elapsed = time.perf_counter() - started
            if count != users:
                raise SystemExit(f"{name} listed {count} users, expected {users}")
            series[name].samples.append(count / elapsed)
    finally:
        ours.close()
        pool.clear()


# -- 4. token verification -------------------------------------------------------------------


async def bench_tokens(rounds: int, smoke: bool, out: list[Series]) -> None:
    from benchmarks import bench_auth

    group = "session token verification"
    fixture = bench_auth.setup(fresh=300 if smoke else 1500)
    names = [
        "plain PyJWT decode",
        "clerk-async fresh token",
        "clerk-async repeated token",
        "clerk-async authenticate_request",
        "official authenticate_request",
    ]
    series = {n: Series(group, n, "verif/s") for n in names}
    out.extend(series.values())
    repeated = 2000 if smoke else 20000

    async def pyjwt() -> bench_auth.Result:
        return bench_auth.bench_pyjwt(fixture, count=len(fixture.fresh_tokens))

    async def fresh() -> bench_auth.Result:
        return await bench_auth.bench_ours_fresh(fixture)

    async def again() -> bench_auth.Result:
        return await bench_auth.bench_ours_repeated(fixture, count=repeated)

    async def whole_request() -> bench_auth.Result:
        return await bench_auth.bench_authenticate_request(fixture, count=repeated)

    # Each clears the caches it relies on first, so any order measures the same.
    ways: dict[str, Callable[[], Awaitable[bench_auth.Result]]] = {
        "plain PyJWT decode": pyjwt,
        "clerk-async fresh token": fresh,
        "clerk-async repeated token": again,
        "clerk-async authenticate_request": whole_request,
    }
    if HAVE_OFFICIAL:
        import httpx
        from clerk_backend_api.security import AuthenticateRequestOptions, authenticate_request

        request = httpx.Request(
            "GET",
            "https://api.example.com/me",
            headers={"Authorization": f"Bearer {fixture.repeated_token}"},
        )
        options = AuthenticateRequestOptions(
            jwt_key=fixture.public_pem, authorized_parties=[fixture.azp]
        )

        async def official() -> bench_auth.Result:
            n = len(fixture.fresh_tokens)
            started = time.perf_counter()
            for _ in range(n):
                authenticate_request(request, options)
            return bench_auth.Result("official", n, time.perf_counter() - started)

        ways["official authenticate_request"] = official
    for name, way in in_turns(ways, rounds):
        result = await way()
        series[name].samples.append(result.count / result.seconds)


# -- 4b. FastAPI with and without authentication ----------------------------------------------


def bench_fastapi(rounds: int, seconds: float, out: list[Series]) -> None:
    from benchmarks import bench_auth

    fixture = bench_auth.setup(fresh=1)
    group = "FastAPI endpoint over HTTP, concurrency 16"
    names = (
        "without authentication",
        "an empty Depends() of the same signature",
        "with require_auth()",
    )
    series = {name: Series(group, name, "req/s") for name in names}
    out.extend(series.values())
    port = free_port()
    env = {**os.environ, "BENCH_JWT_KEY": fixture.public_pem}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.fastapi_app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.05)
        token = fixture.repeated_token
        asyncio.run(_fastapi_load(f"http://127.0.0.1:{port}", token, rounds, seconds, series))
    finally:
        proc.terminate()
        proc.wait(10)


async def _fastapi_load(
    base: str, token: str, rounds: int, seconds: float, series: dict[str, Series]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def call(path: str) -> object:
            async with session.get(base + path, headers=headers) as resp:
                if resp.status != 200:
                    raise SystemExit(f"{path} answered {resp.status}: {await resp.text()}")
                return await resp.read()

        async def plain() -> object:
            return await call("/plain")

        async def authed() -> object:
            return await call("/authed")

        async def empty() -> object:
            return await call("/empty-depends")

        workers = {
            "without authentication": plain,
            "an empty Depends() of the same signature": empty,
            "with require_auth()": authed,
        }
        for worker in workers.values():
            await rate(worker, 16, 0.3)
        for name, worker in in_turns(workers, rounds):
            series[name].samples.append(await rate(worker, 16, seconds))


# -- 5. import time ---------------------------------------------------------------------------


def bench_imports(rounds: int, out: list[Series]) -> None:
    group = "import time (fresh interpreter)"
    modules = {
        "aiohttp alone": "import aiohttp",
        "clerk_async": "import clerk_async",
        "clerk_async + first resource": "import clerk_async; clerk_async.Clerk(secret_key='sk_test_x').users",
        "clerk_sync": "import clerk_sync",
        "official SDK": "import clerk_backend_api; clerk_backend_api.Clerk",
    }
    if not HAVE_OFFICIAL:
        del modules["official SDK"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for code in modules.values():  # warm the bytecode caches once
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    series = {n: Series(group, n, "ms", higher_is_better=False) for n in modules}
    out.extend(series.values())
    for name, code in in_turns(modules, max(rounds, 5)):
        timed = f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"
        result = subprocess.run(
            [sys.executable, "-c", timed], env=env, check=True, capture_output=True, text=True
        )
        series[name].samples.append(float(result.stdout.strip()) * 1000)


# -- 6. peak RSS --------------------------------------------------------------------------------

_RSS_SCRIPT = """
import asyncio, os, sys
import clerk_async
url, mode = sys.argv[1], sys.argv[2]
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
async def main():
    async with clerk_async.Clerk(secret_key="sk_test_benchmark", api_url=url) as clerk:
        await clerk.users.get("user_00000001")  # models and session loaded before the baseline
        base = peak = rss()
        n = 0
        held = []
        async for user in clerk.users.list():
            n += 1
            if mode == "hold":
                held.append(user)
            if n % 500 == 0:
                peak = max(peak, rss())
        print(n, (max(peak, rss()) - base) / 2**20)
asyncio.run(main())
"""


# The official SDK's models held the same way: its offset pages, every user kept.
_RSS_OFFICIAL = """
import os, sys
import clerk_backend_api
url = sys.argv[1]
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
clerk = clerk_backend_api.Clerk(bearer_auth="sk_test_benchmark", server_url=url + "/v1")
clerk.users.get(user_id="user_00000001")  # models and session loaded before the baseline
base = peak = rss()
held = []
while True:
    page = clerk.users.list(request={"limit": 500, "offset": len(held)})
    held.extend(page)
    peak = max(peak, rss())
    if len(page) < 500:
        break
print(len(held), (max(peak, rss()) - base) / 2**20)
"""


def bench_memory(url: str, users: int, out: list[Series]) -> None:
    group = f"peak RSS growth, {users:,} users"
    runs = [
        ("iterate", "clerk-async iterate", _RSS_SCRIPT),
        ("hold", "list(...) held in memory", _RSS_SCRIPT),
    ]
    if HAVE_OFFICIAL:
        runs.append(("hold", "official SDK, held in memory", _RSS_OFFICIAL))
    for mode, name, script in runs:
        series = Series(group, name, "MB", higher_is_better=False)
        result = subprocess.run(
            [sys.executable, "-c", script, url, mode],
            check=True,
            capture_output=True,
            text=True,
        )
        count, mb = result.stdout.split()
        if int(count) != users:
            raise SystemExit(f"memory run saw {count} users, expected {users}")
        series.samples.append(float(mb))
        out.append(series)


# -- report --------------------------------------------------------------------------------------

LIMITS = {
    "raw aiohttp",
    "raw aiohttp offset loop",
    "raw urllib3",
    "raw urllib3 offset loop",
    "plain PyJWT decode",
    "aiohttp alone",
    "without authentication",
}
PEERS = {
    "official SDK",
    "official SDK offset loop",
    "official SDK (sync)",
    "official authenticate_request",
    "official SDK, held in memory",
}


def bench_bulk(smoke: bool, out: list[Series]) -> None:
    """One run of the bulk job per client (its figures do not need rounds)."""
    from . import bulk

    users, requests, per = (200, 40, 1.0) if smoke else (600, 40, 2.0)
    title = f"bulk job, {users} metadata updates at concurrency 100, {requests} req / {per:g} s"
    for result in asyncio.run(bulk.compare(users, requests, per, processes=3)):
        for metric, unit, value, better in (
            ("failed operations", "ops", float(result.failed), False),
            ("requests answered 429", "%", 100 * result.share_429, False),
            ("achieved / allowed rate", "x", result.achieved_over_allowed(requests, per), True),
        ):
            series = Series(f"{title}: {metric}", result.client, unit, higher_is_better=better)
            series.samples.append(value)
            out.append(series)


def fmt(value: float) -> str:
    if value != value:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def paired_ratio(m: Series, base: Series) -> float:
    """``m`` against ``base``: the median of the per-round ratios when both have a sample
    in every round (they were measured back to back), else the ratio of the medians."""
    if len(m.samples) == len(base.samples) > 1:
        return statistics.median(x / b for x, b in zip(m.samples, base.samples, strict=True))
    return m.median / base.median


def report(results: list[Series], args: argparse.Namespace, elapsed: float) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# clerk-async benchmarks",
        "",
        f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
        f"{' (smoke mode)' if args.smoke else ''}, {elapsed:.0f} s in all; "
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, clerk-async {clerk_async.__version__}"
        + (f", clerk-backend-api {metadata.version('clerk-backend-api')}" if HAVE_OFFICIAL else "")
        + ".",
        "",
        "Median of the rounds, with min-max. *vs limit*: against the no-SDK baseline in the "
        "same group (raw aiohttp / urllib3 / PyJWT / aiohttp import); *vs peer*: against the "
        "official `clerk-backend-api`. A ratio is the median of the rounds' own ratios (each "
        "round measures every client back to back, in turns that reverse every other round), "
        "so a slow minute of the machine counts once, not against one client, and no client "
        "always has the same place in the round. Higher is better except for ms, us and MB.",
    ]
    groups: dict[str, list[Series]] = {}
    for s in results:
        groups.setdefault(s.group, []).append(s)
    for group, members in groups.items():
        limit = next((m for m in members if m.name in LIMITS), None)
        peer = next((m for m in members if m.name in PEERS), None)
        lines += [
            "",
            f"## {group}",
            "",
            "| client | median | min-max | vs limit | vs peer |",
            "|---|---:|---:|---:|---:|",
        ]
        for m in members:
            spread = f"{fmt(min(m.samples))}-{fmt(max(m.samples))}" if m.samples else "n/a"

            def ratio(base: Series | None, m: Series = m) -> str:
                if base is None or base is m or not base.samples or not m.samples:
                    return ""
                return f"{paired_ratio(m, base):.2f}x"

            lines.append(
                f"| {m.name} | {fmt(m.median)} {m.unit} | {spread} | {ratio(limit)} | {ratio(peer)} |"
            )
    return "\n".join(lines) + "\n"


def chart(results: list[Series], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Series]] = {}
    for s in results:
        if s.samples:
            groups.setdefault(s.group, []).append(s)
    fig, grid = plt.subplots(len(groups), 1, figsize=(9, 2.2 * len(groups)), squeeze=False)
    axes = grid[:, 0]
    for ax, (group, members) in zip(axes, groups.items(), strict=True):
        names = [m.name for m in members]
        values = [m.median for m in members]
        colors = [
            "#888888" if m.name in LIMITS else "#d95f02" if m.name in PEERS else "#1b9e77"
            for m in members
        ]
        ax.barh(names, values, color=colors)
        ax.set_title(f"{group} ({members[0].unit})", fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


GROUPS = ("get-user", "list", "sync", "sync-list", "tokens", "fastapi", "imports", "bulk", "memory")


async def run_async(args: argparse.Namespace, url: str, results: list[Series]) -> None:
    if "get-user" in args.only:
        await bench_get_user(url, args.rounds, args.seconds, results)
    if "list" in args.only:
        await bench_list(url, args.users, args.rounds, results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a short pass (about a minute)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per throughput sample")
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated groups to run (default all: {','.join(GROUPS)})",
    )
    args = parser.parse_args(argv)
    args.only = set(args.only.split(","))
    if unknown := args.only - set(GROUPS):
        parser.error(f"unknown groups {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    args.rounds = args.rounds or (1 if args.smoke else 5)
    args.seconds = args.seconds or (0.5 if args.smoke else 2.0)
    args.users = 2_000 if args.smoke else 10_000
    memory_users = 10_000 if args.smoke else 100_000
    started = time.perf_counter()
    results: list[Series] = []
    only = args.only
    if only & {"get-user", "list", "sync", "sync-list"}:
        with fixture_server(args.users) as url:
            print(f"fixture server with {args.users} users at {url}", flush=True)
            asyncio.run(run_async(args, url, results))
            if "sync" in only:
                bench_sync(url, args.rounds, args.seconds, results)
                bench_handoff(args.rounds, results)
            if "sync-list" in only:
                bench_sync_list(url, args.users, args.rounds, results)
    if "tokens" in only:
        asyncio.run(bench_tokens(args.rounds, args.smoke, results))
    if "fastapi" in only:
        bench_fastapi(args.rounds, args.seconds, results)
    if "imports" in only:
        bench_imports(args.rounds, results)
    if "bulk" in only:
        bench_bulk(args.smoke, results)
    if "memory" in only:
        with fixture_server(memory_users) as url:
            bench_memory(url, memory_users, results)
    RESULTS.mkdir(exist_ok=True)
    text = report(results, args, time.perf_counter() - started)
    # A partial run (--only) does not replace the full table.
    name = "smoke" if args.smoke else "latest" if only == set(GROUPS) else "partial"
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(
        json.dumps(
            [
                {"group": s.group, "name": s.name, "unit": s.unit, "samples": s.samples}
                for s in results
            ],
            indent=1,
        ),
        encoding="utf-8",
    )
    chart(results, RESULTS / f"{name}.png")
    print(text)


if __name__ == "__main__":
    main()
