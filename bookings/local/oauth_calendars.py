"""Google and Outlook calendars by OAuth on the local engine: connect, the callback, and each sync.

`connect` makes a pending connection and the authorization URL the host opens; the callback
(`finish`) checks the signed one-time state, exchanges the code with the PKCE verifier, stores the
tokens and runs the first import; the background refresher then calls `refresh` for each due
connection whose owner signed in (it holds a refresh token), in any process with the provider's
OAuth client: refreshing and exporting need the stored tokens and the client, not the public
address or the state signer that signing in needs. A round is incremental from the stored cursor,
and full when there is none, when the provider dropped it, or every `RESYNC_EVERY` (the window
moves forward; a full round covers it again). A revoked grant turns the connection `error` (reason
`revoked`) and keeps its busy times.

`client` gives the export worker a connection's provider client (create, update, delete, find).
Their state lives on either store (oauth_store.py); a disconnect drops the tokens with the
connection (the store's `disconnect`).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Protocol, TypeVar

import anyio

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound, NotSupported
from wix_meetings_mcp.bookings.local.calendar_api import AccessRevoked, CalendarClient, SyncExpired
from wix_meetings_mcp.bookings.local.google_calendar import GoogleCalendar
from wix_meetings_mcp.bookings.local.graph_calendar import GraphCalendar
from wix_meetings_mcp.bookings.local.oauth import (
    STATE_LIFETIME,
    BadState,
    OAuthApp,
    OAuthProvider,
    OAuthSetup,
    StateSigner,
    pkce_pair,
)
from wix_meetings_mcp.bookings.local.oauth_store import OAuthAccount, OAuthStore
from wix_meetings_mcp.bookings.local.oauth_tokens import ACCESS_MARGIN, TokenEndpoint, TokenRefused
from wix_meetings_mcp.bookings.local.provider_http import ProviderHttp, ProviderLimits, Sleep
from wix_meetings_mcp.bookings.model import (
    AuthorizationOutcome,
    CalendarConnection,
    CalendarErrorReason,
    ConnectCalendarRequest,
    ConnectCalendarResult,
    Host,
)
from wix_meetings_mcp.bookings.outbound import Outbound, OutboundError

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
logger = logging.getLogger(__name__)

RESYNC_EVERY = timedelta(days=7)
PAST = timedelta(days=1)  # busy times are imported from a day back, as iCal feeds are
_NAMES: dict[OAuthProvider, tuple[str, str]] = {
    "google": ("Google", "GOOGLE"),
    "outlook": ("Microsoft", "MICROSOFT"),
}


class Run(Protocol):
    """Runs blocking store work off the event loop (the engine's worker threads)."""

    async def __call__(self, fn: Callable[[], T], /) -> T: ...


class OAuthCalendars:
    def __init__(
        self,
        *,
        setup: OAuthSetup | None,
        store: OAuthStore,
        run: Run,
        clock: Callable[[], datetime],
        http: Callable[[], httpx.AsyncClient | None],
        outbound: Outbound,
        zone: Callable[[], tzinfo],
        horizon: Callable[[str], Awaitable[timedelta]],
        host_limit: int,
        limits: ProviderLimits | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self._setup = setup
        self._store = store
        self._run = run
        self._clock = clock
        self._http = http
        self._outbound = outbound
        self._zone = zone
        self._horizon = horizon
        self._host_limit = host_limit
        self._limits = limits or ProviderLimits()
        self._sleep = sleep or anyio.sleep

    def missing(self, provider: OAuthProvider) -> str | None:
        """What the operator must set before `provider` connects by OAuth here; None: nothing."""
        name, key = _NAMES[provider]
        if self._setup is None or provider not in self._setup.apps:
            return f"an OAuth client registered with {name}: set MEETINGS_{key}_CLIENT_ID and MEETINGS_{key}_CLIENT_SECRET"
        if self._setup.public_url is None:
            return (
                "an address the owner's browser can come back to: set MEETINGS_PUBLIC_URL (the pages are "
                "served by the HTTP transport or by meetings-mcp pages)"
            )
        return None

    async def connect(self, host: Host, request: ConnectCalendarRequest) -> ConnectCalendarResult:
        provider = _provider(request.provider)
        if request.calendar_id is not None and provider != "outlook":
            raise InvalidArgument("calendar_id is for Outlook; Google imports the primary calendar.")
        app, store = self._ready(provider)
        now = self._clock()
        connection = CalendarConnection(
            connection_id=uuid.uuid4().hex,
            host_id=host.host_id,
            provider=provider,
            status="pending",
            busy_intervals=0,
        )
        nonce, (verifier, challenge) = secrets.token_urlsafe(16), pkce_pair()
        until = now + STATE_LIFETIME
        await self._run(
            lambda: store.create_pending(
                connection, calendar_id=request.calendar_id, redirect_url=request.redirect_url,
                nonce=nonce, verifier=verifier, until=until, now=now,
            )
        )  # fmt: skip
        assert self._setup is not None
        state = StateSigner(self._setup.secret).sign(connection.connection_id, nonce, until)
        redirect_uri = self._setup.redirect_uri(provider)
        assert redirect_uri is not None
        minutes = int(STATE_LIFETIME.total_seconds() // 60)
        return ConnectCalendarResult(
            status="authorization_required",
            connection=connection,
            authorization_url=app.authorization_request(
                redirect_uri=redirect_uri, state=state, challenge=challenge
            ),
            next_step=f"Give authorization_url to the host to open within {minutes} minutes and allow calendar "
            f"access at {_NAMES[provider][0]}; the connection then turns connected and meetings are written to "
            "that calendar (list_calendar_connections).",
        )

    async def finish(
        self, provider: OAuthProvider, *, state: str | None, code: str | None, error: str | None
    ) -> AuthorizationOutcome:
        """The callback: InvalidArgument for a state that is bad, expired or already used (nothing
        is stored then); otherwise the connection is connected, or `error` with the reason."""
        app, store = self._ready(provider)
        assert self._setup is not None
        now = self._clock()
        try:
            connection_id, nonce = StateSigner(self._setup.secret).verify(state or "", now)
        except BadState:
            raise InvalidArgument("this sign-in link is not valid or has expired") from None
        pending = await self._run(lambda: store.take_pending(connection_id, provider, nonce, now))
        if pending is None:
            raise InvalidArgument("this sign-in was already completed, or has expired")
        reason: CalendarErrorReason
        if error is not None or not code:
            reason = "access_denied" if error == "access_denied" else "authorization_failed"
        else:
            redirect_uri = self._setup.redirect_uri(provider)
            assert redirect_uri is not None
            try:
                tokens = await self._tokens(app).exchange(
                    code, verifier=pending.verifier, redirect_uri=redirect_uri
                )
            except (TokenRefused, OutboundError):  # the code is spent either way: a new sign-in is needed
                reason = "authorization_failed"
            else:
                if tokens.refresh_token is not None:  # without one the calendar could not be read later
                    await self._run(lambda: store.authorized(connection_id, tokens, now))
                    account = await self._run(lambda: store.account(connection_id))
                    assert account is not None
                    return AuthorizationOutcome(
                        connection=await self._import(account, now, claim=None),
                        redirect_url=pending.redirect_url,
                    )
                reason = "authorization_failed"
        logger.warning("calendar %s not authorized: %s", connection_id, reason)
        failed = await self._run(lambda: store.failed(connection_id, reason, now))
        assert failed is not None
        return AuthorizationOutcome(connection=failed, redirect_url=pending.redirect_url)

    async def refresh(self, connection_id: str, claim: str, now: datetime) -> bool:
        """One due connection's sync round if it is an OAuth one (False: it is not). Only connections
        whose owner signed in are claimed (calendar_sync.REFRESHABLE); one without a refresh token
        is left as it is, its reason (a declined sign-in, say) kept."""
        store = self._store
        account = await self._run(lambda: store.account(connection_id))
        if account is None:
            return False
        if account.refresh_token is not None:
            await self._import(account, now, claim=claim)
        return True

    async def client(self, connection_id: str) -> CalendarClient:
        """The provider calendar of a connected OAuth connection, for the export worker."""
        store = self._store
        account = await self._run(lambda: store.account(connection_id))
        if account is None or account.refresh_token is None:
            raise NotFound(
                f"Calendar connection {connection_id} is not a connected Google or Outlook calendar."
            )
        return self._client(account)

    async def _import(self, account: OAuthAccount, now: datetime, *, claim: str | None) -> CalendarConnection:
        store = self._store
        horizon = await self._horizon(account.host_id)
        window = (now - PAST, now + horizon)
        reach = window[1] + RESYNC_EVERY  # what a full round reads, so the window stays covered
        fresh = now.timestamp() - account.full_sync_at < RESYNC_EVERY.total_seconds()
        reason: CalendarErrorReason
        try:
            client = self._client(account)
            try:
                changes = await client.changes(account.cursor if fresh else None, window[0], reach)
            except SyncExpired:
                await self._run(lambda: store.forget_cursor(account.connection_id))
                changes = await client.changes(None, window[0], reach)
            held = await self._run(
                lambda: store.imported(
                    account.connection_id, changes, window=window, now=now, claim=claim,
                    max_events=self._limits.max_events, host_limit=self._host_limit,
                )
            )  # fmt: skip
            if held or claim is not None:
                return await self._run(lambda: store.connection(account.connection_id))
            reason = "unreachable"  # disconnected meanwhile: nothing was written
        except (AccessRevoked, TokenRefused) as exc:
            reason = (
                "authorization_failed"
                if isinstance(exc, TokenRefused) and exc.error != "invalid_grant"
                else "revoked"
            )
        except OutboundError as exc:
            reason = exc.reason
        logger.warning("calendar %s not refreshed: %s", account.connection_id, reason)
        failed = await self._run(lambda: store.failed(account.connection_id, reason, now, claim=claim))
        return (
            failed if failed is not None else await self._run(lambda: store.connection(account.connection_id))
        )

    def _client(self, account: OAuthAccount) -> CalendarClient:
        app = self._app(account.provider)
        provider_http = self._provider_http()
        bearer = self._bearer(app, account)
        if account.provider == "google":
            return GoogleCalendar(http=provider_http, api_url=app.api_url, bearer=bearer, zone=self._zone())
        return GraphCalendar(
            http=provider_http, api_url=app.api_url, bearer=bearer, calendar_id=account.calendar_id
        )

    def _bearer(self, app: OAuthApp, account: OAuthAccount) -> Callable[[bool], Awaitable[str]]:
        """The stored access token while it is good, else one got with the refresh token (and stored)."""
        store = self._store
        held = {"access": account.access_token, "refresh": account.refresh_token}
        expires = [account.access_expires]

        async def bearer(fresh: bool) -> str:
            access, refresh = held["access"], held["refresh"]
            if not fresh and access and expires[0] > (self._clock() + ACCESS_MARGIN).timestamp():
                return access
            if not refresh:
                raise AccessRevoked
            tokens = await self._tokens(app).refresh(refresh)
            await self._run(lambda: store.save_tokens(account.connection_id, tokens))
            held["access"], expires[0] = tokens.access_token, tokens.expires_at.timestamp()
            held["refresh"] = tokens.refresh_token or refresh
            return tokens.access_token

        return bearer

    def _tokens(self, app: OAuthApp) -> TokenEndpoint:
        return TokenEndpoint(app, self._provider_http(), self._clock)

    def _provider_http(self) -> ProviderHttp:
        http = self._http()
        if http is None:
            raise OutboundError("unreachable")  # this process has no HTTP client
        return ProviderHttp(
            outbound=self._outbound, http=http, limits=self._limits, clock=self._clock, sleep=self._sleep
        )

    def _app(self, provider: OAuthProvider) -> OAuthApp:
        """The provider's OAuth client: all a refresh or an export needs besides the tokens."""
        if self._setup is None or provider not in self._setup.apps:
            raise NotSupported(f"{_NAMES[provider][0]} calendars need {self.missing(provider)}.")
        return self._setup.apps[provider]

    def _ready(self, provider: OAuthProvider) -> tuple[OAuthApp, OAuthStore]:
        missing = self.missing(provider)
        if missing is not None:
            raise NotSupported(f"Connecting {_NAMES[provider][0]} calendars needs {missing}.")
        assert self._setup is not None
        return self._setup.apps[provider], self._store


def _provider(value: str) -> OAuthProvider:
    if value == "google":
        return "google"
    if value == "outlook":
        return "outlook"
    raise InvalidArgument(f"{value} does not connect by OAuth.")
