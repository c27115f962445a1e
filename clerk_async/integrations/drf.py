"""Django REST framework: an authentication class and permission classes.

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["clerk_async.integrations.drf.ClerkAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["clerk_async.integrations.drf.IsClerkAuthenticated"],
    }

    class Invoices(APIView):
        permission_classes = [has_permission("org:invoices:read")]

        def get(self, request):
            return Response({"org": request.auth.org_id})  # request.auth: an Auth

``request.user`` is a :class:`ClerkUser`, ``request.auth`` the
:class:`~clerk_async.auth.Auth`. Settings are those of
:mod:`clerk_async.integrations.django` (``settings.CLERK_*``), and so is the client.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..auth import Auth, AuthReason
from . import describe, status_for
from ._wsgi import requirement
from .django import request_state

__all__ = [
    "ClerkAuthentication",
    "ClerkUser",
    "HasActiveOrganization",
    "IsClerkAuthenticated",
    "has_permission",
    "has_role",
]

# Signed out without any credential: anonymous, for the permission classes to judge.
_NO_CREDENTIAL = frozenset({AuthReason.SESSION_TOKEN_AND_UAT_MISSING, AuthReason.TOKEN_MISSING})


class ClerkUser:
    """``request.user`` of a request Clerk authenticated."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.id = self.pk = auth.user_id

    def __str__(self) -> str:
        return str(self.id)


class ClerkUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "Clerk could not be reached to verify the credentials."
    default_code = "clerk_unavailable"


class ClerkAuthentication(BaseAuthentication):
    """Authenticates by the session token or machine token of the request.

    No credential gives an anonymous request; a rejected one, 401 (503 when Clerk was
    unreachable).
    """

    def authenticate(self, request: Request) -> tuple[ClerkUser, Auth] | None:
        state = request_state(request._request)
        if state.is_handshake:
            return None  # a page load the middleware redirects; here, anonymous
        if state.is_signed_in:
            auth = state.to_auth()
            return ClerkUser(auth), auth
        if state.reason in _NO_CREDENTIAL:
            return None
        if status_for(state) == 503:
            raise ClerkUnavailable()
        raise exceptions.AuthenticationFailed(describe(state))

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def _auth(request: Request) -> Auth | None:
    auth = request.auth
    return auth if isinstance(auth, Auth) and auth.is_authenticated else None


class IsClerkAuthenticated(BasePermission):
    """Signed in through Clerk."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return _auth(request) is not None


class _Requiring(BasePermission):
    requirement: tuple[Any, str] = (None, "")

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = _auth(request)
        check = self.requirement[0]
        return auth is not None and (check is None or bool(check(auth)))


class HasActiveOrganization(_Requiring):
    """Signed in with an active organization."""

    requirement = requirement(organization=True)


def has_permission(permission: str) -> type[BasePermission]:
    """A permission class: signed in and holding ``permission`` (``org:invoices:read``)."""
    return type(
        f"HasPermission[{permission}]",
        (_Requiring,),
        {"requirement": requirement(permission=permission)},
    )


def has_role(role: str) -> type[BasePermission]:
    """A permission class: signed in with organization role ``role`` (``org:admin``)."""
    return type(f"HasRole[{role}]", (_Requiring,), {"requirement": requirement(role=role)})
