"""JWT templates feeding session tokens, through our SDK against the emulator."""

from __future__ import annotations

import jwt
import pytest

from clerk_async import errors
from clerk_async.emulator import Emulator


async def test_template_token_is_signed_and_rendered() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        user = await clerk.users.create(
            email_address=["ada@example.com"],
            first_name="Ada",
            last_name="Lovelace",
            public_metadata={"plan": "pro"},
        )
        await clerk.jwt_templates.create(
            name="hasura",
            claims={
                "name": "{{user.first_name}} {{user.last_name}}",
                "plan": "{{user.public_metadata.plan}}",
                "org": "{{org.id || 'none'}}",
            },
            lifetime=120,
            allowed_clock_skew=10,
        )
        session = await clerk.sessions.create(user_id=user.id or "")
        token = await clerk.sessions.create_token_from_template(session.id or "", "hasura")
        claims = jwt.decode(token.jwt or "", emu.jwt_public_key_pem, algorithms=["RS256"])
        assert claims["name"] == "Ada Lovelace" and claims["plan"] == "pro"
        assert claims["org"] == "none" and claims["sub"] == user.id
        assert claims["exp"] - claims["iat"] == 120 and claims["iat"] - claims["nbf"] == 10
        with pytest.raises(errors.NotFoundError):
            await clerk.sessions.create_token_from_template(session.id or "", "missing")
