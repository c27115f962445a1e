"""What authentication costs a FastAPI endpoint: requests/s with and without ClerkAuth.

Run it directly for a table::

    python -m benchmarks.bench_integrations [--rounds 3] [--count 5000] [--seconds 3]

or import the pieces (``run_all``, ``format_table``, ``Row``). One uvicorn server
in a subprocess serves a minimal app; an aiohttp client loads it with 16
concurrent workers, each round loading every endpoint in turn (the order reversed
every other round, as in run.py) so machine drift hits all of them alike. Each measurement stops after ``count`` requests or ``seconds``,
whichever comes first; the table shows the median round. The cases:

* ``no authentication``: the endpoint alone (same request, token included), the baseline;
* ``a no-op dependency (control)``: what FastAPI's dependency machinery costs by
  itself, to tell it from the work of authentication;
* ``require_auth(), same token``: one signed-in caller (the usual case: a client
  reuses its session token for a minute), so the signature cache answers;
* ``require_auth(), new token each request``: every request pays the RSA check;
* ``require_permission()``: an organization permission on top.

Keys come from a PEM public key (``jwt_key``), so no request leaves the machine;
with JWKS the key set is fetched once and cached, and the per-request work is the same.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint annotations
# of create_app() at runtime, and they name local aliases.

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import aiohttp
import attrs

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["Row", "create_app", "format_table", "main", "run_all"]

ROOT = Path(__file__).resolve().parent.parent
PARTY = "https://app.example.com"
BASELINE = "no authentication"
CONTROL = "a no-op dependency (control)"
SAME_TOKEN = "require_auth(), same token"
NEW_TOKENS = "require_auth(), new token each request"
PERMISSION = "require_permission()"


@attrs.frozen
class Row:
    """The median round of one case."""

    case: str
    requests: int
    seconds: float
    #: CPU seconds the server process spent (None where /proc is not available)
    server_cpu: float | None = None

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else float("inf")

    @property
    def microseconds(self) -> float:
        """Wall time per request (all workers together)."""
        return self.seconds / self.requests * 1e6 if self.requests else float("inf")

    @property
    def server_cpu_microseconds(self) -> float | None:
        """Server CPU time per request: the cost itself, whatever the client takes."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1e6


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_app() -> "FastAPI":
    """The measured app (``uvicorn --factory``); the key comes from ``BENCH_JWT_KEY``."""
    from fastapi import Depends, FastAPI, Request

    from clerk_async.auth import Auth
    from clerk_async.integrations.fastapi import ClerkAuth

    clerk_auth = ClerkAuth(
        secret_key="sk_test_benchmark",
        jwt_key=os.environ["BENCH_JWT_KEY"],
        authorized_parties=[PARTY],
    )
    app = FastAPI(lifespan=clerk_auth.lifespan)
    SignedIn = Annotated[Auth, Depends(clerk_auth.require_auth())]
    CanRead = Annotated[Auth, Depends(clerk_auth.require_permission("org:dashboard:read"))]

    @app.get("/plain")
    async def plain() -> dict[str, str | None]:
        return {"user_id": None}

    async def noop(request: Request) -> Request:
        return request

    @app.get("/noop")
    async def with_noop(request: Annotated[Request, Depends(noop)]) -> dict[str, str | None]:
        return {"user_id": None}

    @app.get("/authed")
    async def authed(auth: SignedIn) -> dict[str, str | None]:
        return {"user_id": auth.user_id}

    @app.get("/permission")
    async def permission(auth: CanRead) -> dict[str, str | None]:
        return {"user_id": auth.user_id}

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(public_pem: str) -> Iterator[tuple[str, int]]:
    """Run :func:`create_app` under uvicorn in a subprocess; yield its base URL and pid."""
    port = _free_port()
    env = {**os.environ, "BENCH_JWT_KEY": public_pem}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bench_integrations:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def _measure(
    session: aiohttp.ClientSession,
    url: str,
    tokens: Iterator[str | None],
    *,
    count: int,
    seconds: float,
    concurrency: int,
) -> tuple[int, float]:
    """``(requests, seconds)`` for up to ``count`` requests or ``seconds``, whichever is first."""
    started = time.perf_counter()
    deadline = started + seconds
    claimed = done = 0

    async def worker() -> None:
        nonlocal claimed, done
        while claimed < count and time.perf_counter() < deadline:
            claimed += 1  # before the await, so no more than ``count`` are sent
            token = next(tokens)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with session.get(url, headers=headers) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{url} answered {resp.status}: {body!r}")
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - started


async def _load(
    base: str,
    pid: int,
    same_token: str,
    new_tokens: Iterator[str],
    *,
    rounds: int,
    count: int,
    fresh: int,
    seconds: float,
    concurrency: int,
) -> list[Row]:
    cases: dict[str, tuple[str, Iterator[str | None], int]] = {
        # The same header everywhere, so only the dependency differs between cases.
        BASELINE: ("/plain", itertools.repeat(same_token), count),
        CONTROL: ("/noop", itertools.repeat(same_token), count),
        SAME_TOKEN: ("/authed", itertools.repeat(same_token), count),
        NEW_TOKENS: ("/authed", new_tokens, fresh),
        PERMISSION: ("/permission", itertools.repeat(same_token), count),
    }
    # Here, not at the top: the server process imports this module for create_app().
    from benchmarks.run import in_turns

    samples: dict[str, list[Row]] = {name: [] for name in cases}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm up: connections, the app's first calls, the signature cache.
        for path, tokens, _ in (cases[BASELINE], cases[SAME_TOKEN], cases[CONTROL]):
            await _measure(
                session, base + path, tokens, count=200, seconds=5, concurrency=concurrency
            )
        for name, (path, tokens, limit) in in_turns(cases, rounds):
            cpu_before = _cpu_seconds(pid)
            done, elapsed = await _measure(
                session,
                base + path,
                tokens,
                count=limit,
                seconds=seconds,
                concurrency=concurrency,
            )
            cpu_after = _cpu_seconds(pid)
            cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
            samples[name].append(Row(name, done, elapsed, cpu))
    medians = []
    for runs in samples.values():
        runs.sort(key=lambda run: run.per_second)
        medians.append(runs[(len(runs) - 1) // 2])
    return medians


def run_all(
    *,
    rounds: int = 3,
    count: int = 5000,
    fresh: int = 1000,
    seconds: float = 3.0,
    concurrency: int = 16,
) -> list[Row]:
    """Start the server, load every case ``rounds`` times, return the median rounds.

    ``fresh`` bounds the new-token case per round (each of its tokens is signed
    here beforehand, one RSA signature each).
    """
    from benchmarks import bench_auth

    fixture = bench_auth.setup(fresh=fresh * rounds)
    claims_token = fixture.repeated_token  # org:dashboard:read among its permissions
    with serve(fixture.public_pem) as (base, pid):
        return asyncio.run(
            _load(
                base,
                pid,
                claims_token,
                iter(fixture.fresh_tokens),
                rounds=rounds,
                count=count,
                fresh=fresh,
                seconds=seconds,
                concurrency=concurrency,
            )
        )


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table: throughput, and server CPU per request over the baseline's."""
    base = next((r for r in rows if r.case == BASELINE), None)
    lines = [
        "| FastAPI endpoint | requests | req/s | vs baseline | server CPU µs/request | added |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cpu = r.server_cpu_microseconds
        base_cpu = None if base is None else base.server_cpu_microseconds
        ratio = "-" if base is None else f"{r.per_second / base.per_second:.2f}x"
        added = "-" if cpu is None or base_cpu is None or r is base else f"{cpu - base_cpu:+.0f}"
        shown = "n/a" if cpu is None else f"{cpu:.0f}"
        lines.append(
            f"| {r.case} | {r.requests} | {r.per_second:,.0f} | {ratio} | {shown} | {added} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=5000, help="max requests per measurement")
    parser.add_argument("--fresh", type=int, default=1000, help="max new-token requests per round")
    parser.add_argument("--seconds", type=float, default=3.0, help="max seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    rows = run_all(
        rounds=args.rounds,
        count=args.count,
        fresh=args.fresh,
        seconds=args.seconds,
        concurrency=args.concurrency,
    )
    print(format_table(rows))


if __name__ == "__main__":
    main()
