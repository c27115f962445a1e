"""What the synchronous integrations (Django, Flask) share: settings, one client, checks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, get_type_hints

from ..auth import Auth, AuthenticateOptions, AuthenticateOverrides, RequestState
from ..auth._request import with_overrides

if TYPE_CHECKING:
    import clerk_sync

__all__ = ["SETTING_NAMES", "SyncAppAuth", "requirement", "settings_from"]

#: The settings every integration reads, by their ``CLERK_*`` name.
SETTING_NAMES: dict[str, str] = {
    f"CLERK_{name.upper()}": name
    for name in [*get_type_hints(AuthenticateOverrides), "secret_key", "api_url"]
}


def settings_from(lookup: Callable[[str], Any]) -> dict[str, Any]:
    """The integration keyword arguments found by ``lookup("CLERK_…")`` (``None``: unset)."""
    found = {}
    for setting, name in SETTING_NAMES.items():
        value = lookup(setting)
        if value is not None:
            found[name] = value
    return found


def requirement(
    *, permission: str | None = None, role: str | None = None, organization: bool = False
) -> tuple[Callable[[Auth], bool] | None, str]:
    """The check of a view's requirement and its name (for the 403 body)."""
    if permission is not None:
        return (lambda auth: auth.has(permission=permission)), permission
    if role is not None:
        return (lambda auth: auth.has(role=role)), role
    if organization:
        return (lambda auth: auth.org_id is not None), "an active organization"
    return None, ""


class SyncAppAuth:
    """The options and the one :class:`clerk_sync.Clerk` of a synchronous application.

    Args:
        options: the base options; ``settings`` override their fields.
        settings: as for the async integrations (see
            :class:`~clerk_async.integrations.IntegrationOptions`), ``clerk`` being a
            :class:`clerk_sync.Clerk` of yours (it stays yours).

    The client is opened on first need, once per process (thread-safe), and closed by
    :meth:`close`.
    """

    def __init__(self, options: AuthenticateOptions | None, settings: Mapping[str, Any]) -> None:
        rest = dict(settings)
        self._clerk: clerk_sync.Clerk | None = rest.pop("clerk", None)
        self._owned = self._clerk is None
        self._secret_key = rest.pop("secret_key", None)
        self._api_url = rest.pop("api_url", None)
        self.options = with_overrides(options, rest)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        #: how many clients were opened here (one per process)
        self.clients_opened = 0

    def client(self) -> clerk_sync.Clerk:
        """The process's client, opened on first use."""
        with self._lock:
            if self._clerk is None:
                from clerk_sync import Clerk

                self._clerk = Clerk(self._secret_key, api_url=self._api_url)
                self.clients_opened += 1
            return self._clerk

    def needs_client(self) -> bool:
        """Whether verification needs the API (no local key, machine tokens accepted,
        or handshakes to resolve)."""
        from . import needs_client

        return needs_client(self.options)

    def authenticate(
        self, headers: Mapping[str, str], *, url: str | None = None, method: str | None = None
    ) -> RequestState:
        """Authenticate a request from its headers, URL and method, through the sync twin."""
        from clerk_sync.auth import authenticate_request

        clerk = self.client() if self.needs_client() else None
        return authenticate_request(
            headers=headers, url=url, method=method, options=self.options, clerk=clerk
        )

    def close(self) -> None:
        """Close the client opened here; a client of the caller's stays open."""
        with self._lock:
            clerk, self._clerk = self._clerk, None if self._owned else self._clerk
        if self._owned and clerk is not None:
            clerk.close()
