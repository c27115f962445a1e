"""The bulk job under Clerk's rate limits: update the metadata of many users at once.

The emulator enforces an instance budget (``REQUESTS`` per ``PER`` seconds, a 429
closing the endpoint for its whole-second ``Retry-After``), and each client updates
every user once at concurrency 100. Reported per client: failed operations, the
share of requests answered 429, and the rate achieved over the rate allowed, where
the allowed rate is the most a fixed-window server accepts in the job's time ``T``:
``REQUESTS * (1 + T / PER)`` operations.

    python -m benchmarks.bulk                       # every client, the figures
    python -m benchmarks.bulk --users 600 --requests 40 --per 2

It starts its own ``redis-server`` (on PATH) for the shared-budget case. The tests
in ``tests/ratelimit`` run the same job, smaller.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import aiohttp
import attrs

import clerk_async
from clerk_async import Clerk, RateLimit
from clerk_async.emulator import Emulator

CONCURRENCY = 100
ROOT = Path(__file__).resolve().parent.parent  # where the workers import `benchmarks` from


@attrs.frozen
class JobResult:
    """What one client's bulk job did."""

    client: str
    operations: int
    failed: int
    requests: int
    rate_limited: int
    started: float  # wall-clock seconds, so that processes can be put together
    finished: float

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def share_429(self) -> float:
        return self.rate_limited / self.requests if self.requests else 0.0

    def achieved_over_allowed(self, requests: int, per: float) -> float:
        """Operations done (not failed) over the most the budget allowed in the job's time."""
        return (self.operations - self.failed) / (requests * (1 + self.seconds / per))

    @classmethod
    def combine(cls, client: str, parts: Sequence[JobResult]) -> JobResult:
        return cls(
            client,
            sum(p.operations for p in parts),
            sum(p.failed for p in parts),
            sum(p.requests for p in parts),
            sum(p.rate_limited for p in parts),
            min(p.started for p in parts),
            max(p.finished for p in parts),
        )


async def run_pool(
    items: Sequence[str], job: Callable[[str], Awaitable[object]], concurrency: int
) -> int:
    """Run ``job`` on every item with ``concurrency`` workers; the number that raised."""
    queue = iter(items)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for item in queue:
            try:
                await job(item)
            except Exception:
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


async def clerk_job(
    name: str, clerk: Clerk, user_ids: Sequence[str], concurrency: int = CONCURRENCY
) -> JobResult:
    """The bulk job through the SDK's public API."""

    async def update(user_id: str) -> None:
        await clerk.users.update_metadata(user_id, public_metadata={"migrated": True})

    started = time.time()
    failed = await run_pool(user_ids, update, concurrency)
    finished = time.time()
    stats = clerk.rate_limit_stats
    return JobResult(
        name, len(user_ids), failed, stats.requests, stats.rate_limited, started, finished
    )


async def naive_job(
    url: str, secret: str, user_ids: Sequence[str], concurrency: int = CONCURRENCY
) -> JobResult:
    """Raw aiohttp, each task retrying a 429 by itself after ``Retry-After`` (3 times)."""
    requests = rate_limited = 0
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    body = json.dumps({"public_metadata": {"migrated": True}})
    async with aiohttp.ClientSession(headers=headers) as session:

        async def update(user_id: str) -> None:
            nonlocal requests, rate_limited
            for _ in range(4):
                requests += 1
                async with session.patch(f"{url}/v1/users/{user_id}/metadata", data=body) as r:
                    await r.read()
                    if r.status != 429:
                        r.raise_for_status()
                        return
                    rate_limited += 1
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            raise RuntimeError("still rate limited after 3 retries")

        started = time.time()
        failed = await run_pool(user_ids, update, concurrency)
    return JobResult(
        "raw aiohttp, naive retries",
        len(user_ids),
        failed,
        requests,
        rate_limited,
        started,
        time.time(),
    )


async def official_job(
    url: str, secret: str, user_ids: Sequence[str], emulator: Emulator
) -> JobResult | None:
    """The official SDK (``clerk-backend-api``), when installed; 429s read off the
    emulator's log since the SDK counts nothing."""
    try:
        from clerk_backend_api import Clerk as Official
    except ImportError:
        return None
    before = len(emulator.request_log)
    sdk = Official(bearer_auth=secret, server_url=f"{url}/v1")

    async def update(user_id: str) -> None:
        await sdk.users.update_metadata_async(user_id=user_id, public_metadata={"migrated": True})

    started = time.time()
    failed = await run_pool(user_ids, update, CONCURRENCY)
    finished = time.time()
    log = emulator.request_log[before:]
    refused = sum(1 for _, _, status in log if status == 429)
    return JobResult(
        "official clerk-backend-api", len(user_ids), failed, len(log), refused, started, finished
    )


# -- a shared budget across processes -----------------------------------------------------


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway ``redis-server`` on a free port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as where:
        sock_port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(sock_port), "--save", "", "--appendonly", "no", "--dir", where],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(sock_port, proc)
            yield f"redis://127.0.0.1:{sock_port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError("redis-server did not start within 10 s")


async def fleet_job(
    url: str,
    secret: str,
    redis_url: str,
    user_ids: Sequence[str],
    *,
    processes: int,
    requests: int,
    per: float,
) -> JobResult:
    """``processes`` worker processes, each with its share of the users, pacing within
    one budget kept in Redis."""
    start_at = time.time() + 1.5  # every worker imports, then they begin together
    procs = []
    for _ in range(processes):
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.bulk",
                "worker",
                "--api-url",
                url,
                "--redis-url",
                redis_url,
                "--requests",
                str(requests),
                "--per",
                str(per),
                "--start-at",
                str(start_at),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "CLERK_SECRET_KEY": secret},
            )
        )
    for i, proc in enumerate(procs):  # the workers read their user ids, then wait for start_at
        assert proc.stdin is not None
        proc.stdin.write("\n".join(user_ids[i::processes]).encode())
        await proc.stdin.drain()
        proc.stdin.close()
    parts = []
    for proc in procs:
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a bulk worker exited with {proc.returncode}")
        parts.append(JobResult(**json.loads(out)))
    return JobResult.combine(f"RateLimit on Redis, {processes} processes", parts)


async def worker_main(args: argparse.Namespace, user_ids: list[str]) -> None:
    limit = RateLimit(requests=args.requests, per=args.per, redis_url=args.redis_url)
    async with Clerk(api_url=args.api_url, rate_limit=limit) as clerk:
        await clerk.jwks.get_jwks()  # connected before the clock starts (jwks is not limited)
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        result = await clerk_job("worker", clerk, user_ids)
    print(json.dumps(attrs.asdict(result)))


# -- the whole comparison --------------------------------------------------------------


@contextlib.asynccontextmanager
async def limited_emulator(users: int, requests: int, per: float) -> AsyncIterator[Emulator]:
    """The emulator with ``users`` users, enforcing ``requests`` per ``per`` seconds."""
    emulator = Emulator(seed_users=users, rate_limits=RateLimit(requests=requests, per=per))
    async with emulator:
        yield emulator


async def compare(users: int, requests: int, per: float, processes: int) -> list[JobResult]:
    """Every client on the same job, each against a fresh emulator."""
    results: list[JobResult] = []

    async def fresh() -> contextlib.AbstractAsyncContextManager[Emulator]:
        await asyncio.sleep(per)  # let the previous job's window pass
        return limited_emulator(users, requests, per)

    async with await fresh() as emu:
        ids = list(emu.store.users)
        async with emu.client() as clerk:
            results.append(await clerk_job("clerk-async, default", clerk, ids))
    async with (
        await fresh() as emu,
        emu.client(rate_limit=RateLimit(requests=requests, per=per)) as clerk,
    ):
        results.append(await clerk_job("clerk-async, RateLimit", clerk, list(emu.store.users)))
    if shutil.which("redis-server") is None:
        print("no redis-server on PATH: the shared-budget case is left out", flush=True)
    else:
        with redis_server() as redis_url:
            async with await fresh() as emu:
                results.append(
                    await fleet_job(
                        emu.url,
                        emu.secret_key,
                        redis_url,
                        list(emu.store.users),
                        processes=processes,
                        requests=requests,
                        per=per,
                    )
                )
    async with await fresh() as emu:
        results.append(await naive_job(emu.url, emu.secret_key, list(emu.store.users)))
    async with await fresh() as emu:
        official = await official_job(emu.url, emu.secret_key, list(emu.store.users), emu)
        if official is not None:
            results.append(official)
    return results


def table(results: Sequence[JobResult], requests: int, per: float) -> str:
    lines = [
        "| client | operations | failed | requests | answered 429 | achieved / allowed rate |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.client} | {r.operations} | {r.failed} | {r.requests} | "
            f"{r.share_429:.1%} | {r.achieved_over_allowed(requests, per):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker", help="one process of the shared-budget job")
    worker.add_argument("--api-url", required=True)
    worker.add_argument("--redis-url", required=True)
    worker.add_argument("--requests", type=int, required=True)
    worker.add_argument("--per", type=float, required=True)
    worker.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--per", type=float, default=2.0)
    parser.add_argument("--processes", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "worker":
        asyncio.run(worker_main(args, sys.stdin.read().split()))  # the user ids
        return
    print(
        f"clerk-async {clerk_async.__version__}: {args.users} users' metadata at concurrency "
        f"{CONCURRENCY}, the emulator allowing {args.requests} requests per {args.per:g} s",
        flush=True,
    )
    results = asyncio.run(compare(args.users, args.requests, args.per, args.processes))
    print(table(results, args.requests, args.per))


if __name__ == "__main__":
    main()
