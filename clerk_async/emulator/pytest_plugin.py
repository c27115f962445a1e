"""pytest plugin: the emulator fixtures (registered through the ``pytest11`` entry point).

``clerk_emulator`` serves async tests; it needs pytest-asyncio and is simply not
offered without it::

    async def test_signup(clerk_emulator):
        async with clerk_emulator.client() as clerk:
            user = await clerk.users.create(email_address=["a@example.com"])
            assert await clerk.users.count() == ...

``clerk_emulator_in_thread`` serves any test, sync ones included (``clerk_sync``,
Django, Flask), from a thread of its own::

    def test_signup(clerk_emulator_in_thread):
        with clerk_emulator_in_thread.sync_client() as clerk:
            user = clerk.users.create(email_address=["a@example.com"])

The ``clerk_emulator`` marker passes its keyword arguments to :class:`Emulator`, the
clock's start included; the test then moves time with ``clock.advance``::

    @pytest.mark.clerk_emulator(start_time="2030-01-01T00:00:00Z", seed_users=3)
    async def test_invitation_expiry(clerk_emulator):
        ...
        clerk_emulator.clock.advance(timedelta(days=31))
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from . import Emulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "clerk_emulator(**options): keyword arguments of the Emulator the clerk_emulator "
        "fixtures start (start_time=..., freeze_time=..., seed_users=...)",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("clerk_emulator")
    if marker is None:
        return {}
    if marker.args:
        raise TypeError("@pytest.mark.clerk_emulator takes keyword arguments only")
    return dict(marker.kwargs)


@pytest.fixture
def clerk_emulator_in_thread(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running :class:`clerk_async.emulator.Emulator` in a thread of its own, with no
    data (unless the ``clerk_emulator`` marker says otherwise), fresh per test."""
    from . import Emulator

    with Emulator(**_options(request)).running_in_thread() as emulator:
        yield emulator


if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def clerk_emulator(request: pytest.FixtureRequest) -> AsyncIterator[object]:
        """A running :class:`clerk_async.emulator.Emulator` with no data (unless the
        ``clerk_emulator`` marker says otherwise), fresh per test."""
        from . import Emulator

        async with Emulator(**_options(request)) as emulator:
            yield emulator


__all__ = ["pytest"]
