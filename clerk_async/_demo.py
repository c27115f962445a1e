"""``python -m clerk_async demo``: the SDK's main jobs, end to end, in under a minute.

Without ``CLERK_SECRET_KEY`` it runs against the embedded emulator and does
everything (seeding, listing, organizations, invitations, session tokens, a
rate-limited call). With a key it runs read-only against the real API.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import attrs

from ._client import Clerk
from ._retry import Retries

SEED_USERS = 1_200


@attrs.define
class Step:
    name: str
    detail: str
    requests: int
    seconds: float


class Progress:
    """A one-line progress bar (redrawn on a terminal, printed once otherwise)."""

    def __init__(self, label: str, total: int, out: TextIO) -> None:
        self.label, self.total, self.out = label, max(total, 1), out
        self.done = 0
        self.tty = out.isatty()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.tty:
            self._draw("\r")

    def finish(self) -> None:
        self._draw("\r" if self.tty else "")
        self.out.write("\n")

    def _draw(self, prefix: str) -> None:
        width = 30
        filled = min(width, width * self.done // self.total)
        bar = "#" * filled + "." * (width - filled)
        self.out.write(f"{prefix}  {self.label} [{bar}] {self.done}/{self.total}")
        self.out.flush()


class Demo:
    def __init__(self, clerk: Clerk, count_requests: Callable[[], int], out: TextIO) -> None:
        self.clerk = clerk
        self.count_requests = count_requests
        self.out = out
        self.steps: list[Step] = []

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def step(self, name: str, job: Callable[[], Awaitable[str]]) -> None:
        self.say(f"- {name}")
        before, started = self.count_requests(), time.perf_counter()
        detail = await job()
        self.steps.append(
            Step(name, detail, self.count_requests() - before, time.perf_counter() - started)
        )
        self.say(f"  {detail}")

    def summary(self) -> None:
        rows = [("step", "result", "requests", "seconds")]
        rows += [(s.name, s.detail, str(s.requests), f"{s.seconds:.2f}") for s in self.steps]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        self.say("")
        for index, row in enumerate(rows):
            self.say("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                self.say("  ".join("-" * w for w in widths))


async def run_emulated(out: TextIO) -> None:
    from .auth import verify_token
    from .emulator import Emulator

    async with Emulator(seed=42) as emu, emu.client(retries=Retries(max_retries=3)) as clerk:
        demo = Demo(clerk, lambda: emu.request_count, out)
        demo.say(f"No CLERK_SECRET_KEY: running against the embedded emulator at {emu.url}\n")

        async def seed() -> str:
            progress = Progress("creating users", SEED_USERS, out)
            limit = asyncio.Semaphore(16)

            async def create(i: int) -> None:
                async with limit:
                    await clerk.users.create(
                        email_address=[f"person{i}@example.com"],
                        first_name=f"Person{i}",
                        last_name="Demo",
                        public_metadata={"cohort": i % 4},
                    )
                progress.advance()

            await asyncio.gather(*(create(i) for i in range(SEED_USERS)))
            progress.finish()
            return f"created {SEED_USERS} users, 16 requests in flight"

        await demo.step("seed users", seed)

        async def list_all() -> str:
            total = (await clerk.users.count()).total_count or 0
            progress = Progress("listing users", total, out)
            seen: set[str] = set()
            async for page in clerk.users.list().pages():
                seen.update(u.id for u in page.data if u.id)
                progress.advance(len(page.data))
            progress.finish()
            if len(seen) != total:
                raise SystemExit(f"listed {len(seen)} users, expected {total}")
            return f"listed all {len(seen)} users once each, 500 per page, cursor pagination"

        await demo.step("list every user", list_all)

        state: dict[str, Any] = {}

        async def organization() -> str:
            people = (await clerk.users.list(limit=4)).data
            owner, *members = [p.id or "" for p in people]
            org = await clerk.organizations.create(name="Demo Rockets", created_by=owner)
            for user_id in members:
                await clerk.organization_memberships.create(
                    org.id or "", user_id=user_id, role="org:member"
                )
            count = (await clerk.organization_memberships.list(org.id or "")).total_count
            state.update(org=org.id, owner=owner)
            return f"organization {org.slug} with {count} members (1 admin)"

        await demo.step("create an organization", organization)

        async def invite() -> str:
            invitation = await clerk.invitations.create(email_address="newcomer@example.com")
            org_invite = await clerk.organization_invitations.create(
                state["org"],
                email_address="partner@example.com",
                role="org:member",
                inviter_user_id=state["owner"],
            )
            return f"invitation {invitation.status}, organization invitation {org_invite.status}"

        await demo.step("send invitations", invite)

        async def token() -> str:
            session = await clerk.sessions.create(user_id=state["owner"])
            minted = await clerk.sessions.create_token(session.id or "")
            before = emu.request_count
            claims = await verify_token(minted.jwt or "", jwt_key=emu.jwt_public_key_pem)
            if emu.request_count != before or claims.user_id != state["owner"]:
                raise SystemExit("networkless verification failed")
            return f"minted a session token and verified it offline (sub={claims.user_id})"

        await demo.step("verify a session token", token)

        async def rate_limited() -> str:
            # Clerk's Retry-After is whole seconds; the demo asks its emulator for a
            # quarter of a second so that the two retries stay quick.
            emu.faults.exact_retry_after = True
            emu.faults.fail_next(429, count=2, retry_after=0.25)
            started = time.perf_counter()
            count = (await clerk.users.count()).total_count
            waited = time.perf_counter() - started
            statuses = [status for _, path, status in emu.request_log[-3:]]
            return f"answers {statuses}: retried after Retry-After, {waited:.2f}s, count={count}"

        await demo.step("survive rate limiting", rate_limited)
        demo.summary()


async def run_live(out: TextIO) -> None:
    requests = 0

    async with Clerk() as clerk:
        demo = Demo(clerk, lambda: requests, out)
        demo.say(f"CLERK_SECRET_KEY is set: read-only run against {clerk.api_url}\n")

        async def count() -> str:
            nonlocal requests
            total = (await clerk.users.count()).total_count
            requests += 1
            return f"{total} users"

        await demo.step("count users", count)

        async def list_some() -> str:
            nonlocal requests
            progress = Progress("listing users", 200, out)
            n = 0
            async for page in clerk.users.list(max_items=200, limit=100).pages():
                requests += 1
                n += len(page.data)
                progress.advance(len(page.data))
            progress.finish()
            return f"listed {n} users (at most 200)"

        await demo.step("list users", list_some)

        async def jwks() -> str:
            nonlocal requests
            keys = await clerk.jwks.get_jwks()
            requests += 1
            return f"{len(keys.keys or [])} signing key(s) published"

        await demo.step("fetch JWKS", jwks)
        demo.say("\nWrites are skipped against a real instance.")
        demo.summary()


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    if os.environ.get("CLERK_SECRET_KEY"):
        asyncio.run(run_live(out))
    else:
        asyncio.run(run_emulated(out))
    out.write("\ndemo finished\n")
    return 0
