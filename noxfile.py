"""Developer tasks. ``nox -s tests`` is the test suite; ``nox -l`` lists the rest."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "generate"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
SPEC = "../shared/clerk-bapi/bapi-2026-05-12.yml"


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest arguments after ``--``).

    The shared rate-limit tests start a ``redis-server`` from PATH (``.ci/run`` installs
    it); without one they are skipped, saying so.
    """
    session.install("-e", ".", *_group("test"))
    session.run("python", "-m", "pytest", *(session.posargs or ["-q"]))


@nox.session
def fuzz(session: nox.Session) -> None:
    """The Hypothesis fuzz tests at length (over 10,000 generated cases; the suite runs a
    few hundred): hostile answers through every decoder, path parameters through every
    operation, request bodies and headers into the emulator."""
    session.install("-e", ".", *_group("test"))
    session.run(
        "python", "-m", "pytest", "tests/fuzz", "-q", "-p", "no:cacheprovider",
        *session.posargs, env={"CLERK_FUZZ_PROFILE": "long"},
    )  # fmt: skip


@nox.session
def soak(session: nox.Session) -> None:
    """The soak at length: 20,000 operations from async tasks and a sync client in threads
    against the emulator with faults on; fails on a lost or duplicated write or a leak
    (``-- --ops N --seconds S`` to change the bounds)."""
    session.install("-e", ".", *_group("test"))
    session.run("python", "-m", "tests.hostile.soak", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the demo (against the embedded emulator unless CLERK_SECRET_KEY is set)."""
    session.install("-e", ".")
    session.run("python", "-m", "clerk_async", "demo", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the packages, the tests and the tools."""
    session.install("-e", ".", *_group("typecheck"))
    session.run("mypy")


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the API surface, its sync twin, the webhook events and the emulator's
    route table (``-- --check`` only verifies)."""
    session.install("-e", ".", *_group("generate"))
    args = list(session.posargs)
    session.run("python", "tools/generate_api.py", *args)
    session.run("python", "tools/generate_webhooks.py", *args)
    session.run("python", "tools/generate_emulator.py", *args)


@nox.session
def contract(session: nox.Session) -> None:
    """Every operation of the spec through the SDK against a Prism mock (needs npm)."""
    import json
    import shutil
    from pathlib import Path

    prism_version = "5"  # major version of @stoplight/prism-cli
    if shutil.which("npm") is None:
        session.error("the contract suite needs Node.js and npm to run Prism")
    session.install("-e", ".", *_group("test"))
    manifest = Path(".prism/node_modules/@stoplight/prism-cli/package.json")
    installed = json.loads(manifest.read_text())["version"] if manifest.exists() else ""
    if installed.split(".")[0] != prism_version:
        session.run(
            "npm", "install", "--prefix", ".prism", "--no-audit", "--no-fund",
            f"@stoplight/prism-cli@{prism_version}", external=True,
        )  # fmt: skip
    else:
        session.log(f"@stoplight/prism-cli {installed} already in .prism/")
    session.run(
        "python", "-m", "tests.contract.prism", "--prism", ".prism/node_modules/.bin/prism",
        "--", *(session.posargs or ["-q"]),
    )  # fmt: skip


@nox.session
def conformance(session: nox.Session) -> None:
    """Clerk's own SDKs (clerk-backend-api, @clerk/backend) against the emulator (needs npm).

    Both are installed here only: the Python one into this session, the JS one into
    ``.conformance/`` with npm. pytest runs with a timeout, as an answer the official
    Python SDK does not expect makes it retry for up to an hour.
    """
    import shutil

    if shutil.which("npm") is None:
        session.error("the conformance suite needs Node.js and npm for @clerk/backend")
    session.install("-e", ".", *_group("test"), "clerk-backend-api", "pytest-timeout")
    session.run(
        "npm", "install", "--prefix", ".conformance", "--no-audit", "--no-fund",
        "--no-save", "@clerk/backend@3", external=True,
    )  # fmt: skip
    session.run(
        "python", "-m", "pytest", "tests/conformance", "--timeout", "120",
        *(session.posargs or ["-q"]),
    )  # fmt: skip


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against raw aiohttp and the official SDK (``-- --smoke`` for a short pass).

    Writes benchmarks/results/latest.md and latest.png. The official SDK is installed
    here only, as the peer we measure against.
    """
    session.install(
        "-e", ".[fastapi,redis]", "clerk-backend-api", "matplotlib", "urllib3", "httpx", "uvicorn"
    )
    session.run("python", "-m", "benchmarks.run", *session.posargs)
