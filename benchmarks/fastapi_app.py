"""A minimal FastAPI app for measuring the cost of authentication (see run.py).

The public key comes from ``BENCH_JWT_KEY``; verification is networkless.
"""

import os
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth

clerk_auth = ClerkAuth(
    secret_key="sk_test_benchmark",
    jwt_key=os.environ.get("BENCH_JWT_KEY"),
    authorized_parties=["https://app.example.com"],
)
app = FastAPI(lifespan=clerk_auth.lifespan)


@app.get("/plain")
async def plain() -> dict[str, str | None]:
    return {"user_id": None}


@app.get("/authed")
async def authed(
    auth: Annotated[Auth, Depends(clerk_auth.require_auth())],
) -> dict[str, str | None]:
    return {"user_id": auth.user_id}


async def nothing(request: Request, response: Response) -> None:
    """A dependency of require_auth()'s signature that does nothing: what FastAPI's own
    dependency machinery costs, apart from ours."""


@app.get("/empty-depends")
async def empty_depends(
    auth: Annotated[None, Depends(nothing)],
) -> dict[str, str | None]:
    return {"user_id": None}
