"""``python -m clerk_async.emulator``: run the emulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from . import Emulator, Faults
from ._clock import to_epoch
from ._ratelimits import parse_setting


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m clerk_async.emulator", description="A local Clerk Backend API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--seed-users", type=int, default=0, help="users to create at start")
    parser.add_argument("--seed", type=int, default=0, help="seed of ids and faults")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 502/503")
    parser.add_argument("--rate-limit-rate", type=float, default=0.0, help="fraction answered 429")
    parser.add_argument(
        "--retry-after",
        type=float,
        default=1.0,
        help="Retry-After of those 429s (sent in whole seconds, rounded up)",
    )
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, help="fraction of dropped connections"
    )
    parser.add_argument(
        "--rate-limits",
        metavar="LIMITS",
        help="enforce Clerk's rate limits: development, production or N/SECONDS (off by default)",
    )
    parser.add_argument(
        "--rate-limit-scale",
        type=float,
        default=1.0,
        help="multiply the rate-limit windows (0.1: ten times shorter, for tests)",
    )
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="an endpoint receiving a signed event for every change (repeatable)",
    )
    parser.add_argument(
        "--webhook-secret", default=None, help="their whsec_ signing secret (default: a new one)"
    )
    parser.add_argument(
        "--authorized-party",
        default=None,
        metavar="ORIGIN",
        help="the azp of minted session tokens, e.g. http://localhost:3000 "
        "(default: the emulator's own URL)",
    )
    parser.add_argument(
        "--start-time",
        metavar="TIME",
        help="where the emulator's clock starts: ISO 8601 (2030-01-01T00:00:00Z) or epoch "
        "seconds (default: now)",
    )
    parser.add_argument(
        "--freeze-time", action="store_true", help="keep the clock stopped at its start"
    )
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="print which operations are emulated by hand-written behaviour and which by "
        "the generic store (Markdown), and exit",
    )
    args = parser.parse_args(argv)
    if args.coverage:
        from ._coverage import coverage_markdown

        print(coverage_markdown(), end="")
        return
    start_time: float | None = None
    if args.start_time is not None:
        try:
            text = args.start_time
            start_time = to_epoch(float(text) if _is_number(text) else text, "--start-time")
        except ValueError as exc:
            parser.error(str(exc))
    try:
        rate_limits = (
            parse_setting(args.rate_limits, time_scale=args.rate_limit_scale)
            if args.rate_limits
            else None
        )
    except ValueError as exc:
        parser.error(str(exc))
    faults = Faults(
        latency=args.latency,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        retry_after=args.retry_after,
        drop_rate=args.drop_rate,
        seed=args.seed,
    )

    async def serve() -> None:
        emulator = Emulator(
            seed_users=args.seed_users,
            host=args.host,
            port=args.port,
            seed=args.seed,
            faults=faults,
            rate_limits=rate_limits,
            authorized_party=args.authorized_party,
            webhooks=args.webhook,
            webhook_secret=args.webhook_secret,
            start_time=start_time,
            freeze_time=args.freeze_time,
        )
        async with emulator:
            limits = f", rate limits {args.rate_limits}" if args.rate_limits else ""
            print(f"Clerk emulator on {emulator.url} ({args.seed_users} users{limits})")
            if start_time is not None or args.freeze_time:
                print(f"  clock: {emulator.clock!r}")
            print(f"  CLERK_API_URL={emulator.url}")
            print(f"  CLERK_SECRET_KEY={emulator.secret_key}")
            if args.webhook:
                print(f"Webhooks to {', '.join(args.webhook)}")
                print(f"  CLERK_WEBHOOK_SIGNING_SECRET={emulator.webhook_secret}")
            print("Ctrl-C stops it.", flush=True)
            stop = asyncio.Event()
            # SIGTERM (a process manager, a test harness) stops it cleanly too.
            with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    main()
