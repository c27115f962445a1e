"""Django integration: ``request.auth`` on every request, decorators and mixins requiring it.

Settings (``settings.py``; the keys fall back to the environment)::

    MIDDLEWARE = [..., "clerk_async.integrations.django.ClerkAuthMiddleware"]
    CLERK_SECRET_KEY = ...             # else CLERK_SECRET_KEY from the environment
    CLERK_AUTHORIZED_PARTIES = ["https://app.example.com"]
    # also CLERK_API_URL, CLERK_JWT_KEY, CLERK_AUDIENCE, CLERK_ISSUER,
    # CLERK_ACCEPTS_TOKEN, CLERK_CLOCK_SKEW, CLERK_PUBLISHABLE_KEY

Views::

    from clerk_async.integrations.django import clerk_login_required, clerk_role_required

    @clerk_login_required
    def me(request):
        return JsonResponse({"user_id": request.auth.user_id})

    @clerk_role_required("org:admin")
    async def admin(request):  # async views too
        ...

    class Invoices(ClerkPermissionRequiredMixin, View):
        clerk_permission = "org:invoices:read"

The middleware sets ``request.auth`` (an :class:`~clerk_async.auth.Auth`, signed out or
not) and ``request.clerk_state`` (the :class:`~clerk_async.auth.RequestState`).
Protected views answer 401 (503 when Clerk was unreachable) to signed-out requests and
403 to signed-in ones lacking the requirement, with a JSON body. Sync requests are
verified through :mod:`clerk_sync`, with one client per process (:func:`clerk_client`);
async ones (under ASGI) through :mod:`clerk_async`, with one client per process too.
For Django REST framework see :mod:`clerk_async.integrations.drf`.

Server-rendered pages: with ``CLERK_PUBLISHABLE_KEY`` set, the middleware answers a
page load whose session cookie went stale with the handshake redirect (307) and
adds the cookies a handshake resolved in place sets to the view's response.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, JsonResponse

from ..auth import Auth, RequestState
from . import AppAuth, Refusal, admit
from ._wsgi import SETTING_NAMES, SyncAppAuth, requirement, settings_from

if TYPE_CHECKING:
    import clerk_sync

__all__ = [
    "ClerkAuthMiddleware",
    "ClerkLoginRequiredMixin",
    "ClerkOrganizationRequiredMixin",
    "ClerkPermissionRequiredMixin",
    "ClerkRoleRequiredMixin",
    "clerk_client",
    "clerk_login_required",
    "clerk_organization_required",
    "clerk_permission_required",
    "clerk_role_required",
    "request_state",
]

V = TypeVar("V", bound=Callable[..., Any])

_lock = threading.Lock()
_sync: SyncAppAuth | None = None
_async: AppAuth | None = None


def _settings() -> dict[str, Any]:
    return settings_from(lambda name: getattr(settings, name, None))


def sync_app_auth() -> SyncAppAuth:
    """The process's options and :mod:`clerk_sync` client, from ``settings.CLERK_*``."""
    global _sync
    with _lock:
        if _sync is None:
            _sync = SyncAppAuth(None, _settings())
        return _sync


def async_app_auth() -> AppAuth:
    """The process's options and :mod:`clerk_async` client, for async requests."""
    global _async
    with _lock:
        if _async is None:
            _async = AppAuth(None, cast(Any, _settings()))
        return _async


def clerk_client() -> clerk_sync.Clerk:
    """The process's :class:`clerk_sync.Clerk` (opened on first use), for your views."""
    return sync_app_auth().client()


def _forget(*, setting: str, **_: Any) -> None:
    # A test changing CLERK_* settings (override_settings) gets fresh options.
    global _sync, _async
    if setting in SETTING_NAMES:
        with _lock:
            stale, _sync, _async = _sync, None, None
        if stale is not None:
            stale.close()


setting_changed.connect(_forget)


def _url(request: HttpRequest) -> str | None:
    try:
        return request.build_absolute_uri()
    except Exception:  # DisallowedHost and friends: no URL, so no handshake
        return None


def apply_cookies(response: HttpResponse, directives: tuple[str, ...]) -> None:
    """Add ``Set-Cookie`` directives to a Django response (one header each)."""
    for directive in directives:
        jar = SimpleCookie()
        jar.load(directive)
        for name, morsel in jar.items():
            response.cookies[name] = morsel


def handshake_response(state: RequestState) -> HttpResponse:
    """The 307 of a handshake, with its headers."""
    response = HttpResponse(status=307)
    for name, value in state.headers:
        if name != "Set-Cookie":
            response[name] = value
    apply_cookies(response, state.set_cookies)
    return response


def _attach(request: HttpRequest, state: RequestState) -> RequestState:
    request.clerk_state = state  # type: ignore[attr-defined]
    request.auth = state.to_auth()  # type: ignore[attr-defined]
    return state


def request_state(request: HttpRequest) -> RequestState:
    """The request's :class:`~clerk_async.auth.RequestState` (computed once, in sync code)."""
    state = getattr(request, "clerk_state", None)
    if isinstance(state, RequestState):
        return state
    return _attach(
        request,
        sync_app_auth().authenticate(request.headers, url=_url(request), method=request.method),
    )


async def arequest_state(request: HttpRequest) -> RequestState:
    """:func:`request_state` for async code, through :mod:`clerk_async`."""
    state = getattr(request, "clerk_state", None)
    if isinstance(state, RequestState):
        return state
    return _attach(
        request,
        await async_app_auth().authenticate(
            request.headers, url=_url(request), method=request.method
        ),
    )


class ClerkAuthMiddleware:
    """Sets ``request.auth`` and ``request.clerk_state`` on every request (sync or async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self._acall(request)
        state = request_state(request)
        if state.is_handshake:
            return handshake_response(state)
        response = self.get_response(request)
        apply_cookies(response, state.set_cookies)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        state = await arequest_state(request)
        if state.is_handshake:
            return handshake_response(state)
        response: HttpResponse = await self.get_response(request)
        apply_cookies(response, state.set_cookies)
        return response


def _refusal_response(refusal: Refusal) -> JsonResponse:
    response = JsonResponse(refusal.body, status=refusal.status)
    for name, value in (refusal.headers or {}).items():
        response[name] = value
    return response


def _guard(check: Callable[[Auth], bool] | None, what: str) -> Callable[[V], V]:
    def decorate(view: V) -> V:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def guarded_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                verdict = admit(await arequest_state(request), check, what)
                if isinstance(verdict, Refusal):
                    return _refusal_response(verdict)
                return await view(request, *args, **kwargs)

            return cast(V, guarded_async)

        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            verdict = admit(request_state(request), check, what)
            if isinstance(verdict, Refusal):
                return _refusal_response(verdict)
            return view(request, *args, **kwargs)

        return cast(V, guarded)

    return decorate


def clerk_login_required(view: V) -> V:
    """Decorator: the view runs for signed-in requests only (else 401)."""
    return _guard(None, "")(view)


def clerk_organization_required(view: V) -> V:
    """Decorator: signed in with an active organization (else 401/403)."""
    return _guard(*requirement(organization=True))(view)


def clerk_permission_required(permission: str) -> Callable[[V], V]:
    """Decorator factory: signed in and holding ``permission`` (else 401/403)."""
    return _guard(*requirement(permission=permission))


def clerk_role_required(role: str) -> Callable[[V], V]:
    """Decorator factory: signed in with organization role ``role`` (else 401/403)."""
    return _guard(*requirement(role=role))


class _RequirementMixin:
    """Checks the requirement in ``dispatch`` before the view's handler runs."""

    def _requirement(self) -> tuple[Callable[[Auth], bool] | None, str]:
        return None, ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        check, what = self._requirement()
        verdict = admit(request_state(request), check, what)
        if isinstance(verdict, Refusal):
            return _refusal_response(verdict)
        parent = cast(Callable[..., Any], super().dispatch)  # type: ignore[misc]
        return parent(request, *args, **kwargs)


class ClerkLoginRequiredMixin(_RequirementMixin):
    """Class-based views: signed-in requests only (else 401)."""


class ClerkOrganizationRequiredMixin(_RequirementMixin):
    """Class-based views: signed in with an active organization (else 401/403)."""

    def _requirement(self) -> tuple[Callable[[Auth], bool] | None, str]:
        return requirement(organization=True)


class ClerkPermissionRequiredMixin(_RequirementMixin):
    """Class-based views: signed in and holding ``clerk_permission`` (else 401/403)."""

    clerk_permission: str = ""

    def _requirement(self) -> tuple[Callable[[Auth], bool] | None, str]:
        return requirement(permission=self.clerk_permission)


class ClerkRoleRequiredMixin(_RequirementMixin):
    """Class-based views: signed in with organization role ``clerk_role`` (else 401/403)."""

    clerk_role: str = ""

    def _requirement(self) -> tuple[Callable[[Auth], bool] | None, str]:
        return requirement(role=self.clerk_role)
