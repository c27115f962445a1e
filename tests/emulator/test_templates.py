"""JWT templates feeding session tokens, through our SDK against the emulator."""

from __future__ import annotations

import json

import aiohttp
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


def _param(exc: errors.ClerkAPIError) -> object:
    return exc.errors[0].meta.get("param_name") if exc.errors else None


async def test_template_with_its_own_key_signs_with_it_and_never_answers_it() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = private.public_key()
    async with Emulator() as emu, emu.client() as clerk:
        user = await clerk.users.create(email_address=["grace@example.com"])
        created = await clerk.jwt_templates.create(
            name="own-key",
            claims={"email": "{{user.primary_email_address}}"},
            custom_signing_key=True,
            signing_algorithm="ES256",
            signing_key=pem,
        )
        assert created.custom_signing_key is True and created.signing_algorithm == "ES256"
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{emu.url}/v1/jwt_templates/{created.id}",
                headers={"Authorization": f"Bearer {emu.secret_key}"},
            ) as resp,
        ):
            text = await resp.text()
        assert resp.status == 200 and "signing_key" not in json.loads(text)
        assert "PRIVATE KEY" not in text
        session = await clerk.sessions.create(user_id=user.id or "")
        token = await clerk.sessions.create_token_from_template(session.id or "", "own-key")
        assert jwt.get_unverified_header(token.jwt or "")["alg"] == "ES256"
        claims = jwt.decode(token.jwt or "", public, algorithms=["ES256"])
        assert claims["email"] == "grace@example.com"
        assert "kid" not in jwt.get_unverified_header(token.jwt or "")
        with pytest.raises(jwt.InvalidKeyError):  # not the instance's RSA key
            jwt.decode(token.jwt or "", emu.jwt_public_key_pem, algorithms=["ES256"])

        # Back to the instance key when the template drops its own.
        await clerk.jwt_templates.update(
            created.id or "", name="own-key", claims={"email": "{{user.primary_email_address}}"}
        )
        token = await clerk.sessions.create_token_from_template(session.id or "", "own-key")
        header = jwt.get_unverified_header(token.jwt or "")
        assert header["alg"] == "RS256" and header["kid"]
        jwt.decode(token.jwt or "", emu.jwt_public_key_pem, algorithms=["RS256"])


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"claims": {"sub": "someone-else"}}, "claims"),
        ({"claims": {"role": "x", "exp": 1}}, "claims"),
        ({"custom_signing_key": True, "signing_algorithm": "HS256"}, "signing_key"),
        ({"custom_signing_key": True, "signing_key": "secret"}, "signing_algorithm"),
        (
            {"custom_signing_key": True, "signing_algorithm": "XS999", "signing_key": "k"},
            "signing_algorithm",
        ),
        (
            {"custom_signing_key": True, "signing_algorithm": "RS256", "signing_key": "no pem"},
            "signing_key",
        ),
        ({"name": "   "}, "name"),
    ],
)
async def test_template_refusals_name_the_parameter(fields: dict[str, object], param: str) -> None:
    body: dict[str, object] = {"name": "t", "claims": {"role": "admin"}, **fields}
    async with Emulator() as emu, emu.client() as clerk:
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            await clerk.jwt_templates.create(**body)  # type: ignore[arg-type]
        assert _param(caught.value) == param
        # Nothing was kept: the same name is free for a valid template.
        assert [t async for t in clerk.jwt_templates.list()] == []
        await clerk.jwt_templates.create(name="t", claims={"role": "admin"})


async def test_template_names_are_unique_and_the_org_claims_follow_the_active_organization() -> (
    None
):
    async with Emulator() as emu, emu.client() as clerk:
        await clerk.jwt_templates.create(
            name="org", claims={"org": "{{org.slug}}", "role": "{{org.role}}"}
        )
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            await clerk.jwt_templates.create(name="org", claims={})
        assert _param(caught.value) == "name"
        user = await clerk.users.create(email_address=["alan@example.com"])
        org = await clerk.organizations.create(name="Bletchley", slug="bletchley")
        await clerk.organization_memberships.create(
            org.id or "", user_id=user.id or "", role="org:admin"
        )
        session = await clerk.sessions.create(user_id=user.id or "")
        token = await clerk.sessions.create_token_from_template(session.id or "", "org")
        claims = jwt.decode(token.jwt or "", emu.jwt_public_key_pem, algorithms=["RS256"])
        assert claims["org"] is None and claims["role"] is None
        session = await clerk.sessions.create(
            user_id=user.id or "", active_organization_id=org.id or ""
        )
        token = await clerk.sessions.create_token_from_template(session.id or "", "org")
        claims = jwt.decode(token.jwt or "", emu.jwt_public_key_pem, algorithms=["RS256"])
        assert claims["org"] == "bletchley" and claims["role"] == "org:admin"
