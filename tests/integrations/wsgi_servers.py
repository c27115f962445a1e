"""Run a WSGI/ASGI server as a child process on 127.0.0.1 for the sync framework tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .conftest import free_port

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def child_server(argv: Sequence[str], env: dict[str, str], ready_path: str) -> Iterator[str]:
    """Start ``argv`` (with ``{port}`` filled in), wait until ``ready_path`` answers, yield
    the URL; the server is stopped (SIGTERM, then killed) on exit."""
    port = free_port()
    command = [part.format(port=port) for part in argv]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(url + ready_path, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # it answered
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def get(url: str, token: str | None = None) -> tuple[int, str]:
    """GET ``url`` (with a bearer token) and return the status and body."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


PYTHON = sys.executable
