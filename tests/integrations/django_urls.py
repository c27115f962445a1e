"""Views and URLs of the test Django project (kept apart from its settings, which
Django REST framework reads when its views are imported)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clerk_async.integrations.django import (
    ClerkOrganizationRequiredMixin,
    ClerkRoleRequiredMixin,
    clerk_login_required,
    clerk_permission_required,
    clerk_role_required,
)
from clerk_async.integrations.drf import IsClerkAuthenticated, has_role


def public(request: HttpRequest) -> JsonResponse:
    auth = request.auth  # type: ignore[attr-defined]
    return JsonResponse({"signed_in": auth.is_authenticated, "user_id": auth.user_id})


@clerk_login_required
def me(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user_id": request.auth.user_id})  # type: ignore[attr-defined]


@clerk_role_required("org:admin")
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"org_id": request.auth.org_id})  # type: ignore[attr-defined]


@clerk_permission_required("org:invoices:read")
def invoices(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"org_id": request.auth.org_id})  # type: ignore[attr-defined]


@clerk_login_required
async def me_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user_id": request.auth.user_id, "async": True})  # type: ignore[attr-defined]


@clerk_role_required("org:admin")
async def admin_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"org_id": request.auth.org_id})  # type: ignore[attr-defined]


class OrgView(ClerkOrganizationRequiredMixin, View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"org_id": request.auth.org_id})  # type: ignore[attr-defined]


class AdminView(ClerkRoleRequiredMixin, View):
    clerk_role = "org:admin"

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"org_id": request.auth.org_id})  # type: ignore[attr-defined]


class ApiMe(APIView):
    permission_classes = (IsClerkAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response(
            {"user_id": request.user.pk, "org_id": getattr(request.auth, "org_id", None)}
        )


class ApiAdmin(APIView):
    permission_classes = (has_role("org:admin"),)

    def get(self, request: Request) -> Response:
        return Response({"org_id": getattr(request.auth, "org_id", None)})


urlpatterns = [
    path("public", public),
    path("me", me),
    path("admin", admin),
    path("invoices", invoices),
    path("async/me", me_async),
    path("async/admin", admin_async),
    path("cbv/org", OrgView.as_view()),
    path("cbv/admin", AdminView.as_view()),
    path("api/me", ApiMe.as_view()),
    path("api/admin", ApiAdmin.as_view()),
]
