"""``python -m clerk_async.emulator --webhook URL`` prints its secret and delivers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from clerk_async import Clerk, webhooks

from ..integrations.conftest import free_port, uvicorn_server
from .test_delivery import Receiver

REPO = Path(__file__).resolve().parents[2]


async def test_cli_webhook_option() -> None:
    receiver = Receiver()
    async with uvicorn_server(receiver.app) as url:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clerk_async", "emulator", "--port", str(port),
            "--webhook", f"{url}/clerk/webhooks",
            cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            printed: dict[str, str] = {}
            while "CLERK_WEBHOOK_SIGNING_SECRET" not in printed:
                line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
                assert line, "the emulator exited"
                name, _, value = line.strip().partition("=")
                printed[name] = value
            receiver.secret = printed["CLERK_WEBHOOK_SIGNING_SECRET"]
            assert receiver.secret.startswith("whsec_")
            async with Clerk(
                printed["CLERK_SECRET_KEY"], api_url=printed["CLERK_API_URL"]
            ) as clerk:
                user = await clerk.users.create(email_address=["cli@example.com"])
            for _ in range(500):
                if receiver.events:
                    break
                await asyncio.sleep(0.01)
        finally:
            process.terminate()
            await process.wait()
    (event,) = receiver.events
    assert isinstance(event, webhooks.UserCreated)
    assert event.data.id == user.id
