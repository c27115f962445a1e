"""Fixtures of the rate-limit tests: a real ``redis-server`` started for the session."""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Iterator

import pytest

from benchmarks.bulk import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a throwaway ``redis-server`` (``.ci/run`` installs it when missing)."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on PATH (apt-get install redis-server)")
    with redis_server() as url:
        yield url


@pytest.fixture
def key_prefix() -> str:
    """Redis keys of one test only, so that tests share no budget."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
