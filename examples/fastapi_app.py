"""A FastAPI backend authenticated by Clerk (no ``from __future__ import annotations``:
FastAPI reads the dependency annotations at runtime).

Run: ``CLERK_SECRET_KEY=sk_test_... uvicorn examples.fastapi_app:app``
"""

from typing import Annotated

from fastapi import Depends, FastAPI

from clerk_async import Clerk
from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth


def create_app(clerk_auth: ClerkAuth) -> FastAPI:
    app = FastAPI(lifespan=clerk_auth.lifespan)
    SignedIn = Annotated[Auth, Depends(clerk_auth.require_auth())]
    InOrg = Annotated[Auth, Depends(clerk_auth.require_org())]
    CanReadInvoices = Annotated[Auth, Depends(clerk_auth.require_permission("org:invoices:read"))]
    Admin = Annotated[Auth, Depends(clerk_auth.require_role("org:admin"))]
    ClerkClient = Annotated[Clerk, Depends(clerk_auth.client)]

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/me")
    async def me(auth: SignedIn) -> dict[str, str | None]:
        kind = auth.token_type.value if auth.token_type else None
        return {"user_id": auth.user_id, "token_type": kind}

    @app.get("/org")
    async def org(auth: InOrg) -> dict[str, str | None]:
        return {"org_id": auth.org_id}

    @app.get("/invoices")
    async def invoices(auth: CanReadInvoices) -> dict[str, str | None]:
        return {"org_id": auth.org_id}

    @app.get("/admin")
    async def admin(auth: Admin) -> dict[str, str]:
        return {"role": str(auth.org_role)}

    @app.get("/client")
    async def client(clerk: ClerkClient) -> dict[str, str]:
        return {"api_url": clerk.api_url}

    return app


app = create_app(ClerkAuth(accepts_token=["session_token", "api_key"]))
