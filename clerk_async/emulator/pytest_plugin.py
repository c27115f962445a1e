"""pytest plugin: the ``clerk_emulator`` fixture (registered through the ``pytest11`` entry point).

Example::

    async def test_signup(clerk_emulator):
        async with clerk_emulator.client() as clerk:
            user = await clerk.users.create(email_address=["a@example.com"])
            assert await clerk.users.count() == ...

The fixture needs pytest-asyncio; without it the fixture is simply not offered.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator

import pytest

if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def clerk_emulator() -> AsyncIterator[object]:
        """A running :class:`clerk_async.emulator.Emulator` with no data, fresh per test."""
        from . import Emulator

        async with Emulator() as emulator:
            yield emulator


__all__ = ["pytest"]
