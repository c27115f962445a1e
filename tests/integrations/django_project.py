"""Settings of a one-file Django project for the integration tests (views: ``django_urls``).

Run with ``DJANGO_SETTINGS_MODULE=tests.integrations.django_project``; the Clerk
settings come from ``TEST_CLERK_API_URL`` / ``TEST_CLERK_SECRET_KEY``.
"""

from __future__ import annotations

import os

SECRET_KEY = "django-insecure-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "tests.integrations.django_urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
DATABASES: dict[str, object] = {}
MIDDLEWARE = ["clerk_async.integrations.django.ClerkAuthMiddleware"]
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["clerk_async.integrations.drf.ClerkAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["clerk_async.integrations.drf.IsClerkAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
CLERK_API_URL = os.environ.get("TEST_CLERK_API_URL")
CLERK_SECRET_KEY = os.environ.get("TEST_CLERK_SECRET_KEY")
# Set by the server-rendered pages test only: the others run without handshakes.
CLERK_PUBLISHABLE_KEY = os.environ.get("TEST_CLERK_PUBLISHABLE_KEY")
