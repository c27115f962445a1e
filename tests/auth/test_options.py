"""AuthenticateOptions is the one declaration of the options; the overrides follow it."""

from __future__ import annotations

import attrs

from clerk_async.auth import (
    AuthenticateOptions,
    AuthenticateOverrides,
    TokenVerificationErrorReason,
    authenticate_request,
)

from .helpers import claims, mint, public_pem

PEM = public_pem()


def test_the_overrides_are_the_options_fields_with_their_constructor_types() -> None:
    names = [field.name for field in attrs.fields(AuthenticateOptions)]
    assert list(AuthenticateOverrides.__annotations__) == names
    accepted = AuthenticateOptions.__init__.__annotations__
    for name, annotation in AuthenticateOverrides.__annotations__.items():
        text = getattr(annotation, "__forward_arg__", annotation)
        assert text == accepted[name], name


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
