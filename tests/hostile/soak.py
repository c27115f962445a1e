"""A bounded soak: async tasks and a sync client shared by threads run a mixed workload
against the emulator with faults on (5xx, 429s, dropped connections, lost answers,
latency); afterwards the emulator's state is checked against what the clients were told.

* every create that reported success exists exactly once, with the id reported;
* no write applied twice: each user holds at most as many sessions as creates were
  sent for it, and at least as many as succeeded;
* no task, thread or file descriptor left behind once the clients are closed.

``python -m tests.hostile.soak --ops 20000`` (what ``nox -s soak`` runs) prints the
figures; the suite runs a short version (tests/hostile/test_soak.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import threading
import time
from collections import Counter
from typing import Any

import attrs

import clerk_sync
from clerk_async import Clerk, RateLimit, Retries
from clerk_async.emulator import Emulator, Faults
from clerk_async.errors import ClerkError

RETRIES = Retries(max_retries=4, backoff_base=0.002, backoff_max=0.02, deadline=20.0)
# A budget far above what the soak reaches: 429s then pause the bucket for their
# Retry-After only. Without one the client would learn a rate from the injected 429s,
# which come at random whatever the pace, and slow down to a crawl, as it should
# against a server that keeps refusing.
BUDGET = RateLimit(requests=1_000_000, per=10.0, endpoints=False)


@attrs.define
class Ledger:
    """What one worker was told."""

    created: dict[str, str] = attrs.field(factory=dict)  # email -> user id (success)
    failed: set[str] = attrs.field(factory=set)  # emails whose create reported failure
    sessions_ok: Counter[str] = attrs.field(factory=Counter)  # user id -> successes
    sessions_sent: Counter[str] = attrs.field(factory=Counter)  # user id -> attempts made
    outcomes: Counter[str] = attrs.field(factory=Counter)


@attrs.define
class Report:
    ops: int
    seconds: float
    outcomes: Counter[str]
    created: int
    create_failures: int
    lost: list[str]
    duplicated: list[str]
    sessions: int
    leaked: list[str]
    faults: Counter[int]

    def summary(self) -> str:
        failures = sum(v for k, v in self.outcomes.items() if k != "ok")
        return (
            f"soak: {self.ops} operations in {self.seconds:.1f}s "
            f"({self.ops / self.seconds:.0f}/s), {failures} reported failures "
            f"({dict(self.outcomes)}); server faults injected {dict(self.faults)}; "
            f"{self.created} users created, {self.create_failures} creates reported failed, "
            f"{self.sessions} sessions; lost writes {len(self.lost)}, "
            f"duplicated writes {len(self.duplicated)}, leaks {self.leaked or 'none'}"
        )


class Workload:
    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.random = random.Random(seed)
        self.ledger = Ledger()
        self.count = 0

    def next_op(self) -> tuple[str, Any]:
        self.count += 1
        users = list(self.ledger.created.values())
        roll = self.random.random()
        if roll < 0.3 or not users:
            return "create", f"soak-{self.name}-{self.count}@example.com"
        user = self.random.choice(users)
        if roll < 0.5:
            return "session", user
        if roll < 0.7:
            return "get", user
        if roll < 0.85:
            return "update", user
        return "list", None

    def record(self, op: str, arg: Any, result: Any, error: BaseException | None) -> None:
        if op == "session":
            self.ledger.sessions_sent[arg] += 1
        if error is not None:
            self.ledger.outcomes[type(error).__name__] += 1
            if op == "create":
                self.ledger.failed.add(arg)
            return
        self.ledger.outcomes["ok"] += 1
        if op == "create":
            self.ledger.created[arg] = result.id
        elif op == "session":
            self.ledger.sessions_ok[arg] += 1


async def run_async(work: Workload, clerk: Clerk, stop: Stop) -> None:
    while stop.more():
        op, arg = work.next_op()
        try:
            if op == "create":
                result: Any = await clerk.users.create(email_address=[arg], first_name="Soak")
            elif op == "session":
                result = await clerk.sessions.create(user_id=arg)
            elif op == "get":
                result = await clerk.users.get(arg)
            elif op == "update":
                result = await clerk.users.update(arg, last_name=f"n{work.count}")
            else:
                result = await clerk.users.list(limit=10)
        except ClerkError as exc:
            work.record(op, arg, None, exc)
        else:
            work.record(op, arg, result, None)


def run_sync(work: Workload, clerk: clerk_sync.Clerk, stop: Stop) -> None:
    while stop.more():
        op, arg = work.next_op()
        try:
            if op == "create":
                result: Any = clerk.users.create(email_address=[arg], first_name="Soak")
            elif op == "session":
                result = clerk.sessions.create(user_id=arg)
            elif op == "get":
                result = clerk.users.get(arg)
            elif op == "update":
                result = clerk.users.update(arg, last_name=f"n{work.count}")
            else:
                result = clerk.users.list(limit=10)
        except ClerkError as exc:
            work.record(op, arg, None, exc)
        else:
            work.record(op, arg, result, None)


class Stop:
    """Counts operations across tasks and threads; says stop at ``ops`` or ``seconds``."""

    def __init__(self, ops: int, seconds: float) -> None:
        self.limit = ops
        self.until = time.monotonic() + seconds
        self.done = 0
        self._lock = threading.Lock()

    def more(self) -> bool:
        with self._lock:
            if self.done >= self.limit or time.monotonic() >= self.until:
                return False
            self.done += 1
            return True


def _fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: not counted
        return 0


def run(ops: int, *, seconds: float = 120.0, tasks: int = 16, threads: int = 3) -> Report:
    faults = Faults(
        latency=0.0005,
        error_rate=0.03,
        rate_limit_rate=0.02,
        retry_after=0.01,
        exact_retry_after=True,
        drop_rate=0.02,
        lost_answer_rate=0.02,
        seed=18,
    )
    stop = Stop(ops, seconds)
    works = [Workload(f"a{i}", i) for i in range(tasks)]
    sync_works = [Workload(f"s{i}", 1000 + i) for i in range(threads)]
    with Emulator(faults=faults).running_in_thread() as emu:
        threads_before = threading.active_count()
        fds_before = _fds()
        started = time.monotonic()

        async def main() -> None:
            async with emu.client(retries=RETRIES, timeout=10, rate_limit=BUDGET) as clerk:
                await asyncio.gather(*(run_async(w, clerk, stop) for w in works))
            await asyncio.sleep(0)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if others:
                leaked.append(f"{len(others)} asyncio tasks")

        leaked: list[str] = []
        with emu.sync_client(retries=RETRIES, timeout=10, rate_limit=BUDGET) as sync_clerk:
            pool = [
                threading.Thread(target=run_sync, args=(w, sync_clerk, stop)) for w in sync_works
            ]
            for t in pool:
                t.start()
            asyncio.run(main())
            for t in pool:
                t.join()
        seconds_taken = time.monotonic() - started
        for _ in range(50):  # closed sockets and the portal thread go within moments
            if threading.active_count() <= threads_before and _fds() <= fds_before:
                break
            time.sleep(0.05)
        if threading.active_count() > threads_before:
            leaked.append(f"{threading.active_count() - threads_before} threads")
        if _fds() > fds_before:
            leaked.append(f"{_fds() - fds_before} file descriptors")
        return _check(emu, [*works, *sync_works], stop.done, seconds_taken, leaked)


def _check(
    emu: Emulator, works: list[Workload], ops: int, seconds: float, leaked: list[str]
) -> Report:
    store = emu.store
    by_email: Counter[str] = Counter()
    for user in store.users.values():
        for address in user["email_addresses"]:
            by_email[address["email_address"]] += 1
    sessions: Counter[str] = Counter(s["user_id"] for s in store.sessions.values())
    lost: list[str] = []
    duplicated: list[str] = []
    outcomes: Counter[str] = Counter()
    created = failures = 0
    for work in works:
        ledger = work.ledger
        outcomes.update(ledger.outcomes)
        created += len(ledger.created)
        failures += len(ledger.failed)
        for email, user_id in ledger.created.items():
            if by_email[email] != 1 or user_id not in store.users:
                lost.append(email)
        duplicated += [email for email in ledger.failed if by_email[email] > 1]
        for user_id, sent in ledger.sessions_sent.items():
            if sessions[user_id] > sent:
                duplicated.append(f"{user_id}: {sessions[user_id]} sessions from {sent} creates")
            if sessions[user_id] < ledger.sessions_ok[user_id]:
                lost.append(f"{user_id}: sessions")
    faults = Counter(status for _, _, status in emu.request_log if status in (0, 429, 502, 503))
    return Report(
        ops, seconds, outcomes, created, failures, lost, duplicated,
        sum(sessions.values()), leaked, faults,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args()
    report = run(args.ops, seconds=args.seconds)
    print(report.summary())
    if report.lost or report.duplicated or report.leaked or report.ops < args.ops:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
