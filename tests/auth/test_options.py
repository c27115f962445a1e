"""AuthenticateOptions is the one declaration of the options; the overrides follow it."""

from __future__ import annotations

import asyncio
import inspect

import attrs

import clerk_sync
from clerk_async.auth import (
    AuthenticateOptions,
    AuthenticateOverrides,
    RequestState,
    TokenType,
    TokenVerificationErrorReason,
    authenticate_request,
)

from .helpers import SECRET_KEY, ClerkServer, claims, mint, public_pem
from .test_machine import API_KEY, api_key_answer

PEM = public_pem()


def test_the_overrides_are_the_options_fields_with_their_constructor_types() -> None:
    names = [field.name for field in attrs.fields(AuthenticateOptions) if field.init]
    # ``clerk`` is a parameter of its own (the sync twins hand the client over by it).
    assert list(AuthenticateOverrides.__annotations__) == [n for n in names if n != "clerk"]
    accepted = AuthenticateOptions.__init__.__annotations__
    for name, annotation in AuthenticateOverrides.__annotations__.items():
        text = getattr(annotation, "__forward_arg__", annotation)
        assert text == accepted[name], name
    clerk = inspect.signature(authenticate_request).parameters["clerk"]
    assert (clerk.kind, clerk.default) == (inspect.Parameter.KEYWORD_ONLY, None)
    assert clerk.annotation == accepted["clerk"]


async def test_overrides_replace_the_fields_they_name_for_one_call() -> None:
    options = AuthenticateOptions(jwt_key=PEM, authorized_parties=["https://elsewhere.example"])
    token = mint(claims(azp="https://app.example"))
    headers = {"Authorization": f"Bearer {token}"}
    state = await authenticate_request(headers=headers, options=options)
    assert state.reason is TokenVerificationErrorReason.UNAUTHORIZED_PARTY
    state = await authenticate_request(
        headers=headers, options=options, authorized_parties=["https://app.example"]
    )
    assert state.is_signed_in
    # An explicit None is a value like any other: here, "no party check".
    assert (
        await authenticate_request(headers=headers, options=options, authorized_parties=None)
    ).is_signed_in
    # The options object itself is untouched.
    assert options.authorized_parties == ("https://elsewhere.example",)


async def test_the_sync_twin_takes_a_sync_client_and_the_overrides(server: ClerkServer) -> None:
    server.machine_answers[("/api_keys/verify", API_KEY)] = (200, api_key_answer())

    def call() -> RequestState:
        with clerk_sync.Clerk(SECRET_KEY, api_url=server.url) as clerk:
            return clerk_sync.auth.authenticate_request(
                headers={"Authorization": f"Bearer {API_KEY}"}, clerk=clerk, accepts_token="api_key"
            )

    # In a thread: the stand-in server runs on this test's event loop.
    state = await asyncio.to_thread(call)
    assert state.is_signed_in and state.token_type is TokenType.API_KEY
    assert server.counts["/api_keys/verify"] == 1
