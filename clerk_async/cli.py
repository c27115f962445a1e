"""``clerk-async``: exports, imports and the emulator, from a shell.

    clerk-async users export [--query TEXT] > users.jsonl
    clerk-async organizations export > organizations.jsonl
    clerk-async memberships export > memberships.jsonl
    clerk-async users import users.jsonl [--checkpoint FILE] [--report FILE]
    clerk-async emulator [--port 8787 --seed-users N --webhook URL]

The key comes from ``--secret-key`` or ``CLERK_SECRET_KEY`` (``--api-url`` /
``CLERK_API_URL`` for the API); with neither, the commands run against an embedded
emulator, as the demo does. Exports stream every page as JSON lines (one object per
line, in constant memory). Progress goes to stderr: a bar on a terminal (with the
``[cli]`` extra, which brings ``rich``), plain lines otherwise.

``users import`` reads JSON lines, each either the keyword arguments of
``clerk.users.create`` (``email_address``, ``external_id``, ``password_digest`` with
``password_hasher``, ``public_metadata``...) or a user as ``users export`` writes it.
It is idempotent by ``external_id``: rows are taken in chunks, and a chunk's users
already there (one lookup per chunk) are skipped. It is resumable: the checkpoint file
(``<file>.checkpoint`` by default) records how many rows are done, so a re-run after
Ctrl-C or a crash starts at the unfinished chunk. Rate limits and transient errors are
retried by the client; a row still failing goes to the report file
(``<file>.failed.jsonl``) with the reason, and the import carries on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

from . import _config
from ._client import Clerk
from ._convert import unstructure
from .errors import ClerkAPIError, ClerkError

__all__ = ["main"]

CHUNK = 100
# Fields of an exported user that ``users.create`` takes as they are.
_USER_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "username",
    "public_metadata",
    "private_metadata",
    "unsafe_metadata",
)


class Progress:
    """A progress bar with rate and ETA on a terminal (rich), plain lines otherwise."""

    def __init__(self, label: str, total: int | None, out: IO[str]) -> None:
        self.label, self.total, self.out = label, total, out
        self.done = 0
        self._started = time.monotonic()
        self._last_line = 0.0
        self._bar: Any = None
        if out.isatty():
            with contextlib.suppress(ImportError):
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TaskProgressColumn,
                    TextColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as Bar

                self._bar = Bar(
                    TextColumn(label),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TaskProgressColumn(),
                    # rows per second (rich's own speed column counts bytes)
                    TextColumn("{task.fields[rate]}"),
                    TimeRemainingColumn(),
                    console=Console(file=out),
                    transient=False,
                )
                self._bar.start()
                self._task = self._bar.add_task(label, total=total, rate="")

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            rate = self.done / max(time.monotonic() - self._started, 1e-9)
            self._bar.update(self._task, advance=n, rate=f"{rate:.0f}/s")
            return
        now = time.monotonic()
        if now - self._last_line >= 2.0:
            self._last_line = now
            self._line()

    def _line(self) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self.done / elapsed
        of = f"/{self.total}" if self.total is not None else ""
        eta = ""
        if self.total is not None and rate > 0:
            eta = f", ETA {max(self.total - self.done, 0) / rate:.0f}s"
        print(f"{self.label}: {self.done}{of} ({rate:.0f}/s{eta})", file=self.out, flush=True)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        else:
            self._line()


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[Clerk]:
    if _config.secret_key(args.secret_key) is not None:
        async with Clerk(args.secret_key, api_url=args.api_url) as clerk:
            yield clerk
        return
    from .emulator import Emulator

    async with Emulator() as emu, emu.client() as clerk:
        print(f"No CLERK_SECRET_KEY: using an embedded emulator at {emu.url}", file=sys.stderr)
        yield clerk


def _open_output(path: str | None) -> contextlib.AbstractContextManager[IO[str]]:
    if path is None or path == "-":
        return contextlib.nullcontext(sys.stdout)
    return open(path, "w", encoding="utf-8")


def _write(out: IO[str], obj: Any) -> None:
    out.write(json.dumps(unstructure(obj), separators=(",", ":"), ensure_ascii=False) + "\n")


async def export(args: argparse.Namespace) -> int:
    async with _client(args) as clerk:
        with _open_output(args.output) as out:
            progress = Progress(f"{args.resource} exported", None, sys.stderr)
            if args.resource == "users":
                query: dict[str, Any] = {"query": args.query} if args.query else {}
                async for user in clerk.users.list(**query):
                    _write(out, user)
                    progress.advance()
            elif args.resource == "organizations":
                async for org in clerk.organizations.list():
                    _write(out, org)
                    progress.advance()
            else:
                async for org in clerk.organizations.list():
                    assert org.id is not None
                    async for membership in clerk.organization_memberships.list(org.id):
                        _write(out, membership)
                        progress.advance()
            progress.finish()
    return 0


def create_arguments(row: dict[str, Any]) -> dict[str, Any]:
    """The ``users.create`` arguments of an import row (an exported user is converted)."""
    if row.get("object") != "user":
        return row
    arguments = {k: row[k] for k in _USER_FIELDS if row.get(k) not in (None, {})}
    emails = [
        e["email_address"] for e in row.get("email_addresses") or [] if e.get("email_address")
    ]
    phones = [p["phone_number"] for p in row.get("phone_numbers") or [] if p.get("phone_number")]
    if emails:
        arguments["email_address"] = emails
    if phones:
        arguments["phone_number"] = phones
    return arguments


def _rows(path: Path, start: int) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if number > start and line.strip():
                yield number, line


def _chunks(rows: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count(path: Path, start: int) -> tuple[int, int]:
    """The rows of the file, and how many of them come before line ``start``."""
    total = before = 0
    for number, _ in _rows(path, 0):
        total += 1
        before += number <= start
    return total, before


def _append(path: Path) -> IO[str]:
    return path.open("a", encoding="utf-8")


class Checkpoint:
    """How many lines of the input are done, kept in a file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> int:
        try:
            return int(json.loads(self.path.read_text())["lines_done"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0

    def write(self, lines_done: int) -> None:
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps({"lines_done": lines_done}))
        os.replace(partial, self.path)


async def import_users(args: argparse.Namespace) -> int:
    source = Path(args.file)
    checkpoint = Checkpoint(Path(args.checkpoint or f"{source}.checkpoint"))
    report_path = Path(args.report or f"{source}.failed.jsonl")
    start = checkpoint.read()
    total, done_before = _count(source, start)
    counts = {"created": 0, "skipped": 0, "failed": 0}
    gate = asyncio.Semaphore(args.concurrency)
    async with _client(args) as clerk:
        progress = Progress("users imported", total, sys.stderr)
        progress.advance(done_before)
        with _append(report_path) as report:

            def fail(number: int, external_id: Any, reason: str, code: str | None = None) -> None:
                counts["failed"] += 1
                entry = {"line": number, "external_id": external_id, "error": reason, "code": code}
                report.write(json.dumps(entry) + "\n")
                report.flush()

            async def create(number: int, arguments: dict[str, Any]) -> None:
                async with gate:
                    try:
                        await clerk.users.create(**arguments)
                    except ClerkAPIError as exc:
                        first = exc.errors[0] if exc.errors else None
                        fail(
                            number,
                            arguments.get("external_id"),
                            str(exc),
                            getattr(first, "code", None),
                        )
                    except (ClerkError, TypeError) as exc:
                        fail(number, arguments.get("external_id"), str(exc))
                    else:
                        counts["created"] += 1
                progress.advance()

            for chunk in _chunks(_rows(source, start), CHUNK):
                parsed: list[tuple[int, dict[str, Any]]] = []
                for number, line in chunk:
                    try:
                        row = json.loads(line)
                        if not isinstance(row, dict):
                            raise ValueError("a row is a JSON object")
                    except ValueError as exc:
                        fail(number, None, f"not a JSON object: {exc}")
                        progress.advance()
                        continue
                    parsed.append((number, create_arguments(row)))
                wanted = [
                    a["external_id"] for _, a in parsed if isinstance(a.get("external_id"), str)
                ]
                existing: set[str] = set()
                if wanted:
                    # One lookup per chunk makes a re-run skip the users already there.
                    async for user in clerk.users.list(external_id=wanted, limit=CHUNK):
                        if user.external_id:
                            existing.add(user.external_id)
                jobs = []
                for number, arguments in parsed:
                    if arguments.get("external_id") in existing:
                        counts["skipped"] += 1
                        progress.advance()
                    else:
                        jobs.append(create(number, arguments))
                await asyncio.gather(*jobs)
                checkpoint.write(chunk[-1][0])
        progress.finish()
    print(
        f"{counts['created']} created, {counts['skipped']} already there, "
        f"{counts['failed']} failed" + (f" (see {report_path})" if counts["failed"] else ""),
        file=sys.stderr,
    )
    return 1 if counts["failed"] else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clerk-async", description="Exports, imports and the emulator, from a shell."
    )
    parser.add_argument("--secret-key", default=None, help="default: CLERK_SECRET_KEY")
    parser.add_argument("--api-url", default=None, help="default: CLERK_API_URL or Clerk's")
    commands = parser.add_subparsers(dest="command", required=True)
    for resource in ("users", "organizations", "memberships"):
        sub = commands.add_parser(resource).add_subparsers(dest="action", required=True)
        exporting = sub.add_parser("export", help=f"write every {resource[:-1]} as JSON lines")
        exporting.add_argument("--output", "-o", default=None, help="a file (default: stdout)")
        if resource == "users":
            exporting.add_argument("--query", default=None, help="the users.list query filter")
            importing = sub.add_parser("import", help="create the users of a JSON lines file")
            importing.add_argument("file")
            importing.add_argument("--checkpoint", default=None)
            importing.add_argument("--report", default=None)
            importing.add_argument("--concurrency", type=int, default=8)
        exporting.set_defaults(resource=resource)
    commands.add_parser("emulator", add_help=False, help="run the emulator (its own options)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``clerk-async`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulator"]:
        from .emulator.__main__ import main as emulator

        emulator(argv[1:])
        return 0
    args = _parser().parse_args(argv)
    job = import_users if getattr(args, "action", None) == "import" else export
    try:
        return asyncio.run(job(args))
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
