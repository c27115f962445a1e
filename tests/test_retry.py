"""The retry policy's decisions, without I/O."""

from __future__ import annotations

import email.utils

import pytest

from clerk_async import Retries
from clerk_async._retry import parse_retry_after


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        ("GET", 503, True),
        ("GET", 500, False),
        ("DELETE", 502, True),
        ("PUT", 504, True),
        ("POST", 503, False),
        ("PATCH", 502, False),
        ("POST", 429, True),
        ("GET", 404, False),
    ],
)
def test_status_rules(method: str, status: int, expected: bool) -> None:
    assert Retries().retry_status(method, status) is expected


def test_connection_rules() -> None:
    policy = Retries()
    assert policy.retry_connection_error("GET", request_sent=True)
    assert not policy.retry_connection_error("POST", request_sent=True)
    assert policy.retry_connection_error("POST", request_sent=False)


def test_backoff_full_jitter_and_cap() -> None:
    policy = Retries(backoff_base=0.5, backoff_max=2.0, retry_after_max=10)
    for retry in range(1, 8):
        delay = policy.backoff(retry, None)
        assert 0 <= delay <= min(2.0, 0.5 * 2 ** (retry - 1))
    assert policy.backoff(1, 3.0) == 3.0
    assert policy.backoff(1, 99.0) == 10


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(30)
    assert parse_retry_after(email.utils.formatdate(0, usegmt=True), now=1_000_000) == 0


def test_coerce() -> None:
    assert Retries.coerce(0).max_retries == 0
    assert Retries.coerce(None).max_retries == 0
    assert Retries.coerce(5).max_retries == 5
    with pytest.raises(ValueError):
        Retries.coerce(-1)


@pytest.mark.parametrize("bad", [{"deadline": 0}, {"deadline": -1.0}, {"max_retries": -1}])
def test_policy_rejects_values_that_cannot_work(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Retries(**bad)  # type: ignore[arg-type]
