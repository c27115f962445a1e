"""Run the contract suite against a Prism mock server of the Clerk Backend API spec.

Usage (``nox -s contract`` does this for you)::

    python -m tests.contract.prism --prism .prism/node_modules/.bin/prism [-- PYTEST_ARGS]

Steps: write a copy of the spec whose paths carry the ``/v1`` prefix into a temporary
directory (Prism does not mount the spec under the base path of its server URL), start
``prism mock`` on a free port of 127.0.0.1 in its own process group, wait until it
answers, run pytest on ``tests/contract`` with ``CLERK_CONTRACT_PRISM_URL`` set, and
stop Prism again whatever happened. The exit status is pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO.parent / "shared" / "clerk-bapi" / "bapi-2026-05-12.yml"
DEFAULT_PRISM = REPO / ".prism" / "node_modules" / ".bin" / "prism"
ENV_URL = "CLERK_CONTRACT_PRISM_URL"
BASE_PATH = "/v1"
READY_TIMEOUT = 90.0


def write_prefixed_spec(source: Path, target_dir: Path) -> Path:
    """Copy ``source`` into ``target_dir`` as JSON, every path key prefixed by ``/v1``."""
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with source.open(encoding="utf-8") as fh:
        document: dict[str, Any] = yaml.load(fh, Loader=loader)
    document["paths"] = {BASE_PATH + route: item for route, item in document["paths"].items()}
    target = target_dir / "clerk-bapi-v1.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll until Prism answers any HTTP request (an unknown route gives 404)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prism exited with {process.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url + "/__ready__", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP status means the server is up
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"prism did not answer within {READY_TIMEOUT:.0f}s:\n{tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Prism and its children: the process group we created for it, by id."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--prism", type=Path, default=DEFAULT_PRISM, help="the prism executable")
    parser.add_argument("--spec", type=Path, default=SPEC, help="the OpenAPI spec to mock")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    if not args.spec.exists():  # a clone without the specs beside it
        print(f"skipped: the contract mocks {args.spec}, which is not there")
        return 0
    if not args.prism.exists():
        parser.error(f"{args.prism} not found: npm install --prefix .prism @stoplight/prism-cli@5")

    with tempfile.TemporaryDirectory(prefix="clerk-contract-") as tmp:
        spec = write_prefixed_spec(args.spec, Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "prism.log"
        command = [
            str(args.prism),
            "mock",
            str(spec),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dynamic=false",
        ]
        started = time.monotonic()
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_until_ready(process, url, log)
            print(f"prism is listening on {url} ({time.monotonic() - started:.1f}s)", flush=True)
            env = {**os.environ, ENV_URL: url}
            pytest = [sys.executable, "-m", "pytest", "tests/contract", *args.pytest_args]
            result = subprocess.run(pytest, cwd=REPO, env=env, check=False)
            if result.returncode != 0:
                print(f"--- last lines of the prism log ---\n{tail(log)}", flush=True)
            return result.returncode
        finally:
            stop(process)


if __name__ == "__main__":
    sys.exit(main())
