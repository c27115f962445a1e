"""A local, stateful emulator of the Clerk Backend API, for offline development and tests.

It keeps users, organizations, memberships, invitations, allowlist identifiers,
sessions and clients in memory, answers with Clerk-shaped JSON and Clerk-shaped
errors, mints RS256 session tokens and publishes their key at ``GET /v1/jwks``.
Every other operation of the spec is answered by a generic emulation built from the
generated route table and schemas (``_routes.py``, ``_schemas.json``): requests are
validated as Clerk validates them, collections keep what is created in them. Any
``Authorization: Bearer sk_test_…`` key is accepted.

In process::

    from clerk_async.emulator import Emulator

    async with Emulator(seed_users=100) as emu:
        async with emu.client() as clerk:
            page = await clerk.users.list(limit=10)

From a shell: ``python -m clerk_async.emulator --port 8787 --seed-users 1000``.

It stands in for the Frontend API's handshake too (``GET /v1/client/handshake``):
point an app at ``emu.publishable_key`` and a browser carrying
``emu.browser_cookies(user_id, expired=True)`` is sent round and comes back
signed in with fresh cookies (:mod:`clerk_async.emulator._frontend`).
A sign-in or actor token's ``url`` is redeemed there too
(``GET /v1/tickets/accept``), or in process with ``emu.accept_ticket(token)``
(:mod:`clerk_async.emulator._tickets`).

With ``Emulator(webhooks=["http://127.0.0.1:8000/clerk/webhooks"])`` every change it
makes is POSTed there as Clerk's webhooks are, signed with ``emu.webhook_secret``.
From synchronous code: ``with Emulator().running_in_thread() as emu: ...``.

Time is the emulator's own (``emu.clock``, a :class:`Clock`): start it where a test
needs (``Emulator(start_time="2030-01-01T00:00:00Z")``) and move it forward instead
of sleeping. Timestamps, token ``iat``/``nbf``/``exp``, session and invitation expiry
and rate-limit windows follow it; give ``now=emu.clock.now`` to the verifier so that
it judges tokens by the same time::

    token = emu.mint_session_token(user_id, expires_in=60)
    emu.clock.advance(120)
    state = await authenticate_request(request, clerk=clerk, now=emu.clock.now)
    assert state.reason == "expired"
In pytest, the ``clerk_emulator`` fixture gives a running :class:`Emulator` to async
tests, and ``clerk_emulator_in_thread`` one running in a thread to any test.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web
from anyio.from_thread import start_blocking_portal

from ._app import Api, Faults
from ._clock import Clock, TimeLike
from ._frontend import publishable_key_for
from ._ratelimits import RateLimitSetting, enforcer_for
from ._store import ApiError, Store
from ._webhooks import DEFAULT_RETRY_DELAYS, Delivery, WebhookDispatcher

if TYPE_CHECKING:
    import clerk_sync

    from .._client import Clerk

__all__ = ["DEFAULT_SECRET_KEY", "ApiError", "Clock", "Delivery", "Emulator", "Faults"]

DEFAULT_SECRET_KEY = "sk_test_emulator_local_only"


class Emulator:
    """A running emulator on 127.0.0.1.

    Args:
        seed_users: users created at start, deterministically.
        host, port: where to listen (``port=0`` picks a free port).
        seed: seed of the identifiers and of fault injection.
        faults: a :class:`Faults` policy (latency, error rate, 429s, dropped connections).
        rate_limits: enforce Clerk's rate limits: ``"development"`` (100 requests per
            10 s), ``"production"`` (1000 per 10 s) or a :class:`~clerk_async.RateLimit`
            (``RateLimit.development(time_scale=0.1)`` for windows ten times shorter),
            with the stricter endpoint buckets; a request over a limit is answered 429
            with ``Retry-After`` in whole seconds and its bucket refuses requests until
            then. Off by default.
        webhooks: endpoint URLs receiving a signed event for every change.
        webhook_secret: their signing secret (``whsec_…``); a fresh one by default.
        webhook_retry_delays: seconds between the attempts of a failing delivery.
        start_time: where the emulator's clock (:attr:`clock`) starts: an aware
            ``datetime``, a ``date``, epoch seconds or ISO 8601 text
            (``"2030-01-01T00:00:00Z"``); default now.
        freeze_time: start the clock stopped (it then moves only when told).
        authorized_party: the ``azp`` (an origin such as ``"http://localhost:3000"``) of
            the session tokens it mints when nothing more specific names one; by default
            the emulator's own URL. More specific, in order: ``azp=`` given to
            :meth:`mint_session_token` or :meth:`browser_cookies`, the ``Origin`` header
            of the ``POST /v1/sessions`` that created the session, and for the
            handshake the origin of its ``redirect_url``. Test ``authorized_parties``
            with it::

                async with Emulator(authorized_party="http://localhost:3000") as emu:
                    token = emu.mint_session_token(user_id)
                    await verify_token(token, jwt_key=emu.jwt_public_key_pem,
                                       authorized_parties=["http://localhost:3000"])
    """

    def __init__(
        self,
        *,
        seed_users: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        faults: Faults | None = None,
        rate_limits: RateLimitSetting | None = None,
        webhooks: Sequence[str] = (),
        webhook_secret: str | None = None,
        webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        start_time: TimeLike | None = None,
        freeze_time: bool = False,
        authorized_party: str | None = None,
    ) -> None:
        #: the emulated instance's time; ``emu.clock.advance(seconds)`` moves it forward
        self.clock = Clock(start_time, frozen=freeze_time)
        self.store = Store(seed, self.clock)
        self.faults = faults or Faults(seed=seed)
        self.api = Api(self.store, self.faults)
        self.secret_key = DEFAULT_SECRET_KEY
        self.api.rate_limits = enforcer_for(rate_limits, self.secret_key, self.clock.now)
        self._host = host
        self._authorized_party = authorized_party
        self.api.authorized_party = authorized_party
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self.webhooks = WebhookDispatcher(
            self.store, webhooks, secret=webhook_secret, retry_delays=webhook_retry_delays
        )
        if webhooks:
            self.api.on_change = self.webhooks.on_change
        if seed_users:
            self.store.seed_users(seed_users)

    @property
    def webhook_secret(self) -> str:
        """The ``whsec_`` secret the webhook deliveries are signed with."""
        return self.webhooks.secret

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """Every webhook delivery so far, in the order the events happened."""
        return self.webhooks.deliveries

    async def wait_for_webhooks(self) -> None:
        """Return once every queued webhook delivery has succeeded or run out of retries."""
        await self.webhooks.wait_idle()

    @property
    def url(self) -> str:
        """The API origin (``http://127.0.0.1:<port>``); pass it as ``api_url``."""
        if self._url is None:
            raise RuntimeError("the emulator is not running; use `async with` or start()")
        return self._url

    @property
    def publishable_key(self) -> str:
        """A development publishable key whose Frontend API is this emulator."""
        return publishable_key_for(self.url)

    @property
    def handshake_count(self) -> int:
        """Handshakes the Frontend API stand-in answered so far."""
        return self.api.frontend.handshakes

    @property
    def jwt_public_key_pem(self) -> str:
        """The PEM public key of the session tokens, for networkless verification."""
        return self.api.public_pem

    @property
    def request_count(self) -> int:
        """API requests received so far (rejected and faulted ones included)."""
        return self.api.requests

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request; status 0 for a dropped one."""
        return self.api.log

    async def start(self) -> Emulator:
        """Start serving on the host and port given (what ``async with`` does on entry)."""
        runner = web.AppRunner(self.api.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self._port
        self._runner = runner
        self._url = f"http://{self._host}:{port}"
        self.api.issuer = self._url
        self.api.authorized_party = self._authorized_party or self._url
        self.api.frontend.publishable_key = publishable_key_for(self._url)
        await self.webhooks.start()
        return self

    async def stop(self) -> None:
        """Stop the server (what ``async with`` does on exit); the state is kept."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.webhooks.stop()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextmanager
    def running_in_thread(self) -> Iterator[Emulator]:
        """Serve from a thread of its own, for synchronous code and tests::

            with Emulator().running_in_thread() as emu, emu.sync_client() as clerk:
                user = clerk.users.create(email_address=["a@example.com"])

        The server runs on an event loop in that thread until the block ends. Calls made
        from your thread (``mint_session_token``, ``faults.fail_next``...) change the
        state directly: make them between requests, as a sequential test does.
        """
        with start_blocking_portal() as portal:
            portal.call(self.start)
            try:
                yield self
            finally:
                portal.call(self.stop)

    def client(self, **options: Any) -> Clerk:
        """A :class:`clerk_async.Clerk` pointed at this emulator."""
        from .._client import Clerk

        options.setdefault("secret_key", self.secret_key)
        options.setdefault("api_url", self.url)
        return Clerk(**options)

    def sync_client(self, **options: Any) -> clerk_sync.Clerk:
        """A :class:`clerk_sync.Clerk` pointed at this emulator."""
        from clerk_sync import Clerk as SyncClerk

        options.setdefault("secret_key", self.secret_key)
        options.setdefault("api_url", self.url)
        return SyncClerk(**options)

    def mint_session_token(
        self,
        user_id: str,
        *,
        expires_in: int = 60,
        azp: str | None = None,
        status: str = "active",
        fva: tuple[int, int] | None = None,
        organization_id: str | None = None,
    ) -> str:
        """Create a session (and its client) for ``user_id`` and return a session
        token for it.

        ``status="pending"`` makes a pending session (``sts``); ``fva`` puts the
        factor verification ages (minutes, ``-1`` for none) in its tokens;
        ``organization_id`` makes an organization of the user's active.
        """
        self.store.user(user_id)
        session = self.store.start_session(
            user_id, organization_id=organization_id, expire_in_ms=86_400_000
        )
        session["status"] = status
        if fva is not None:
            self.api.frontend.session_claims[session["id"]] = {"fva": list(fva)}
        self._announce(session)
        return self.api.mint(session, expires_in=expires_in, azp=azp)

    def accept_ticket(self, ticket: str, *, expires_in: int = 60) -> str:
        """Sign in with a sign-in or actor token's ticket (its ``token``), as a browser
        following the token's ``url`` does, and return a session token of the new
        session. The token becomes ``accepted``; a ticket signs in once, and a revoked,
        accepted or expired one raises :class:`ApiError` (``ticket_invalid``,
        ``ticket_expired``). An actor token's session tokens carry its actor as the
        ``act`` claim::

            actor = await clerk.actor_tokens.create(user_id=uid, actor={"sub": admin_id})
            claims = await verify_token(emu.accept_ticket(actor.token), jwt_key=...)
            assert claims.act == {"sub": admin_id}
        """
        session, _client = self.api.tickets.redeem(ticket)
        self._announce(session)
        return self.api.mint(session, expires_in=expires_in)

    def _announce(self, session: dict[str, Any]) -> None:
        """Send ``session.created`` for a session started outside the HTTP API."""
        if self.webhooks.urls:
            user = self.store.user(session["user_id"])
            self.webhooks.emit("session.created", {**session, "user": user})

    def link_external_account(
        self,
        user_id: str,
        provider: str,
        provider_user_id: str,
        *,
        email_address: str | None = None,
    ) -> dict[str, Any]:
        """Give ``user_id`` an account at an OAuth provider, as a sign-in through it
        would (the Backend API has no operation creating one), so that
        ``users.list(provider="oauth_google", provider_user_id=[...])`` finds them."""
        return self.api.store.link_external_account(
            user_id, provider, provider_user_id, email_address=email_address
        )

    def browser_cookies(
        self,
        user_id: str,
        *,
        expired: bool = False,
        organization_id: str | None = None,
        status: str = "active",
        fva: tuple[int, int] | None = None,
        azp: str | None = None,
    ) -> dict[str, str]:
        """The cookies of a browser signed in as ``user_id`` on a new session:
        ``__session`` (``expired=True``: a token a minute past its expiry),
        ``__client_uat`` and the ``__client`` the handshake recognises it by.

        Set them on ``127.0.0.1`` in your HTTP client's jar (loopback cookies reach
        every port, so the app and the emulator both see them)::

            client.cookies.update(emu.browser_cookies(user_id, expired=True))
            page = client.get(app_url + "/dashboard", headers={"Accept": "text/html"})
        """
        return self.api.frontend.browser_cookies(
            user_id,
            expired=expired,
            organization_id=organization_id,
            status=status,
            fva=fva,
            azp=azp,
        )

    def mint_m2m_jwt(
        self,
        machine_id: str = "mch_emulator",
        *,
        scopes: Sequence[str] = (),
        expires_in: int = 3600,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """An M2M token in JWT form, signed by the instance key (verified networkless)."""
        return self.api.frontend.m2m_jwt(
            machine_id, scopes=scopes, expires_in=expires_in, claims=claims
        )

    def mint_oauth_jwt(
        self,
        user_id: str,
        *,
        client_id: str = "oauth_client_emulator",
        scopes: Sequence[str] = (),
        expires_in: int = 3600,
    ) -> str:
        """An OAuth access token in JWT form (``typ: at+jwt``), signed by the instance key."""
        return self.api.frontend.oauth_jwt(
            user_id, client_id=client_id, scopes=scopes, expires_in=expires_in
        )

    def issue_oauth_token(
        self,
        application: str,
        user_id: str,
        *,
        scopes: Sequence[str] | None = None,
        expires_in: int = 3600,
        client_secret: str | None = None,
    ) -> str:
        """An opaque OAuth access token (``oat_…``) that an OAuth application made
        with ``POST /v1/oauth_applications`` holds for ``user_id``, as the instance's
        authorization server would grant it; ``POST
        /v1/oauth_applications/access_tokens/verify`` answers it until it expires by
        the emulator's clock, is revoked, or the application is deleted.

        ``application`` is the application's id or client id; ``scopes`` default to
        all the application allows (asking for others raises ``ValueError``). Give
        ``client_secret`` to act as the confidential client's token request: a secret
        that is not the current one (after ``rotate_secret``) raises
        ``PermissionError``. An unknown application or user raises ``LookupError``.

        Example::

            app = await clerk.oauth_applications.create(name="CLI")
            token = emu.issue_oauth_token(app.id, user_id, scopes=["profile"])
            auth = await verify_machine_token(token, clerk=clerk)
        """
        return self.api.oauth_apps.issue(
            application,
            user_id,
            scopes=scopes,
            expires_in=expires_in,
            client_secret=client_secret,
        )

    def mint_template_jwt(self, user_id: str, *, claims: dict[str, Any] | None = None) -> str:
        """A JWT-template token (its ``cat`` says so): never accepted as a session token."""
        return self.api.frontend.template_jwt(user_id, claims=claims)
