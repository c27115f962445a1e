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
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from . import Emulator


@pytest.fixture
def clerk_emulator_in_thread() -> Iterator[Emulator]:
    """A running :class:`clerk_async.emulator.Emulator` in a thread of its own, with no
    data, fresh per test."""
    from . import Emulator

    with Emulator().running_in_thread() as emulator:
        yield emulator


if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def clerk_emulator() -> AsyncIterator[object]:
        """A running :class:`clerk_async.emulator.Emulator` with no data, fresh per test."""
        from . import Emulator

        async with Emulator() as emulator:
            yield emulator


__all__ = ["pytest"]
