"""The public pages: each link's scheduling page (`/book/{slug}`) and each attendee's own meeting
(`/m/{token}`: its `.ics`, reschedule, cancel), served without a bearer token.

They are another transport of the same tools: a booking, a move or a cancellation made here goes
through the very functions the MCP tools call (`book`, `reschedule`, `cancel`, `free_slots`), so
every guardrail applies and the agent sees the result. Everything works without JavaScript: times
are links, choices are forms; the script only picks the visitor's own time zone. Posts are
limited per client address, carry a signed form token and a honeypot field, and are capped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from wix_meetings_mcp.bookings.errors import BookingError, InvalidArgument, NotFound, PolicyViolation
from wix_meetings_mcp.bookings.model import Link, Meeting
from wix_meetings_mcp.server import calendar_file
from wix_meetings_mcp.server.page_kit import (
    SECURITY_HEADERS,
    STATIC,
    BodyTooLarge,
    FormTokens,
    client_address,
    for_people,
    form_fields,
    notice,
    page,
    submission_key,
    zone_names,
)
from wix_meetings_mcp.server.rate_limit import FailureLimiter
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.booking import AttendeeIn, book
from wix_meetings_mcp.tools.calendars import finish_authorization
from wix_meetings_mcp.tools.context import Deps
from wix_meetings_mcp.tools.meetings import cancel, reschedule
from wix_meetings_mcp.tools.public import PublicPages
from wix_meetings_mcp.tools.results import View
from wix_meetings_mcp.tools.slots import free_slots

logger = logging.getLogger(__name__)

PREFIXES = ("/book/", "/m/", "/feeds/", "/oauth/", "/pages-static/")
DAYS_SHOWN = 7
POSTS_PER_MINUTE = 10  # per client address: a person books, moves or cancels a few times at most
_FIELD_NAMES = {"name": "name", "email": "email", "phone": "phone", "time_zone": "tz"}

Handler = Callable[[Request], Awaitable[Response]]


class Pages:
    """The pages' routes over the tools' dependencies (`deps()` is None until they are open)."""

    def __init__(
        self,
        deps: Callable[[], Deps | None],
        *,
        limiter: FailureLimiter | None = None,
        lifespan: Callable[[object], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self._deps = deps
        self._posts = limiter or FailureLimiter(per_minute=POSTS_PER_MINUTE)
        self.router = Router(
            routes=[
                Route("/book/{slug}", self._guard(self.scheduling_page)),
                Route("/book/{slug}/details", self._guard(self.details), methods=["GET", "POST"]),
                Route("/m/{token}", self._guard(self.meeting_page)),
                Route("/m/{token}/meeting.ics", self._guard(self.meeting_ics)),
                Route("/m/{token}/reschedule", self._guard(self.move), methods=["GET", "POST"]),
                Route("/m/{token}/cancel", self._guard(self.cancel), methods=["GET", "POST"]),
                Route("/feeds/{name}", self._guard(self.export_feed)),
                Route("/oauth/{provider}/callback", self._guard(self.oauth_callback)),
                Route("/pages-static/{name}", static),
            ],
            lifespan=lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)

    def _guard(self, handler: Handler) -> Handler:
        """Refusals in people's words; anything unexpected is logged and shown as one calm line."""

        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            if request.method == "POST":
                address = client_address(request)
                wait = self._posts.wait_for(address)
                if wait > 0:
                    response = notice("Too many requests", "Please wait a minute and try again.", 429)
                    response.headers["retry-after"] = str(max(1, round(wait)))
                    return response
                self._posts.failed(address)  # every post spends from its address's bucket
            try:
                return await handler(request)
            except _Unavailable:
                return notice("Not available", "These pages are not available right now.", 503)
            except BodyTooLarge:
                return notice("Too much text", "That form was too long. Please shorten it.", 413)
            except BookingError as exc:
                status, message = for_people(exc)
                return notice("Not possible", message, status)
            except Exception:
                logger.exception("page %s failed", request.url.path)
                return notice(
                    "Something went wrong", "Something went wrong on our side. Please try again.", 500
                )

        return guarded

    def _open(self) -> tuple[Deps, PublicPages]:
        d = self._deps()
        if d is None or d.pages is None:
            raise _Unavailable
        return d, d.pages

    # --- the scheduling page ----------------------------------------------------------------------

    async def scheduling_page(self, request: Request) -> Response:
        d, _ = self._open()
        link = await _link(d, request.path_params["slug"])
        if not link.active:
            return inactive(link)
        view, zone_error = await _visitor_view(d, request)
        duration = _int(request.query_params.get("d"))
        duration = duration if duration in link.durations_minutes else link.duration_minutes
        first = max(_date(request.query_params.get("from")) or view.today, view.today)
        times = await free_slots(
            d,
            link_id=link.link_id,
            from_date=first,
            to_date=first + timedelta(days=DAYS_SHOWN - 1),
            time_zone=view.tz.key,
            duration_minutes=duration,
            limit=100,
            cursor=_short(request.query_params.get("after"), 20),
        )
        base = f"/book/{quote(link.slug, safe='')}"
        keep = {"tz": view.tz.key, "d": str(duration)}
        days: dict[str, list[tuple[str, str]]] = {}
        for slot in times.slots:
            day, _, clock = slot.when.rpartition(", ")
            days.setdefault(day, []).append(
                (clock, f"{base}/details?" + urlencode({"slot": slot.slot_id} | keep))
            )
        later = first + timedelta(days=DAYS_SHOWN)
        return page(
            "book.html",
            link=link,
            facts=_facts(link),
            days=list(days.items()),
            zone=view.tz.key,
            zone_chosen="tz" in request.query_params,
            zone_error=zone_error,
            zones=zone_names(),
            duration=duration,
            action=base,
            first=first.isoformat(),
            more=f"{base}?" + urlencode(keep | {"from": first.isoformat(), "after": times.next_cursor})
            if times.next_cursor
            else None,
            later=f"{base}?" + urlencode(keep | {"from": later.isoformat()}),
            earlier=f"{base}?" + urlencode(keep | {"from": (first - timedelta(days=DAYS_SHOWN)).isoformat()})
            if first > view.today
            else None,
        )

    async def details(self, request: Request) -> Response:
        """The short form for one chosen time (GET), and its submission (POST)."""
        d, pages = self._open()
        link = await _link(d, request.path_params["slug"])
        if not link.active:
            return inactive(link)
        fields = await form_fields(request) if request.method == "POST" else dict(request.query_params)
        slot_id = _short(fields.get("slot"), 64) or ""
        ref = await d.slot_ref(slot_id)
        if ref.link_id != link.link_id:
            raise NotFound("that time belongs to another page")
        view, _ = await _visitor_view(d, request, fields.get("tz"))
        forms = _forms(d, pages)
        target = f"book:{link.link_id}:{slot_id}"
        back = f"/book/{quote(link.slug, safe='')}?" + urlencode({"tz": view.tz.key})
        shown = {"link": link, "facts": _facts(link), "when": view.when(ref.start, ref.end), "slot": slot_id,
                 "zone": view.tz.key, "back": back,
                 "action": f"/book/{quote(link.slug, safe='')}/details"}  # fmt: skip
        if request.method == "GET":
            return page(
                "details.html", token=forms.issue(target), values={}, errors={}, problem=None, **shown
            )
        token = fields.get("token", "")
        if not forms.check(token, target):
            return notice(
                "Please start again", "This form has expired or did not come from this page.", 403, back=back
            )
        if fields.get("leave_blank"):
            return notice("Not sent", "This form could not be sent.", 400, back=back)
        values = {k: fields.get(k, "").strip() for k in ("name", "email", "phone", "notes")}
        attendee, errors = _attendee(values, view.tz.key)
        if attendee is None:
            return page("details.html", 422, token=token, values=values, errors=errors, problem=None, **shown)
        try:
            result = await book(
                d,
                slot_id,
                attendee,
                time_zone=view.tz.key,
                notes={"notes": values["notes"]} if values["notes"] else None,
                idempotency_key=submission_key(token),
            )
        except BookingError as exc:
            status, message = for_people(exc)
            return page(
                "details.html", status, token=token, values=values, errors={}, problem=message, **shown
            )
        assert result.meeting is not None  # not a dry run
        where = f"/m/{pages.meeting_token(result.meeting.meeting_id)}?"
        return _see_other(where + urlencode({"tz": view.tz.key, "done": "booked"}))

    # --- an attendee's own meeting ----------------------------------------------------------------

    async def _meeting(self, request: Request) -> tuple[Deps, PublicPages, Meeting, str]:
        d, pages = self._open()
        token = _short(request.path_params["token"], 512) or ""
        meeting_id = pages.meeting_id(token)
        if meeting_id is None:
            raise NotFound("no such meeting page")
        return d, pages, await d.backend.get_meeting(meeting_id), token

    async def meeting_page(self, request: Request) -> Response:
        d, pages, meeting, token = await self._meeting(request)
        view, _ = await _visitor_view(d, request, default=meeting.attendee.time_zone)
        closed = await _closed(d, meeting)
        keep = "?" + urlencode({"tz": view.tz.key})
        return page(
            "meeting.html",
            meeting=meeting,
            when=view.when(meeting.start, meeting.end),
            where=_location(meeting.location.kind, meeting.location.address),
            done=request.query_params.get("done"),
            closed=closed,
            own_url=pages.meeting_url(meeting.meeting_id),
            home=f"/m/{token}",
            keep=keep,
        )

    async def meeting_ics(self, request: Request) -> Response:
        _, pages, meeting, _ = await self._meeting(request)
        body = calendar_file.meeting_ics(meeting, manage_url=pages.meeting_url(meeting.meeting_id))
        headers = SECURITY_HEADERS | {"content-disposition": 'attachment; filename="meeting.ics"'}
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    # --- a host's export feed ---------------------------------------------------------------------

    async def export_feed(self, request: Request) -> Response:
        """The host's meetings for their calendar app to subscribe to; the secret is the only key."""
        d, _ = self._open()
        name = _short(request.path_params["name"], 128) or ""
        found = None
        if d.feeds is not None and name.endswith(".ics"):
            found = await d.feeds.export_feed(name.removesuffix(".ics"))
        if found is None:
            raise NotFound("no such feed")
        host, meetings = found
        body = calendar_file.host_feed_ics(host, meetings, now=d.clock())
        return Response(body, media_type="text/calendar; charset=utf-8", headers=SECURITY_HEADERS)

    # --- a calendar's OAuth callback -----------------------------------------------------------------

    async def oauth_callback(self, request: Request) -> Response:
        """Where Google or Microsoft sends the host back after sign-in (the redirect URI to register)."""
        d, _ = self._open()
        provider = request.path_params["provider"]
        if provider not in ("google", "outlook"):
            raise NotFound("no such provider")
        query = request.query_params
        try:
            outcome = await finish_authorization(
                d, provider, state=_short(query.get("state"), 1024), code=_short(query.get("code"), 4096),
                error=_short(query.get("error"), 64) or (None if "error" not in query else "unknown"),
            )  # fmt: skip
        except InvalidArgument:
            return notice(
                "Not connected",
                "This sign-in link is not valid any more (it was used already, or it expired). "
                "Please ask for a new one.",
                400,
            )
        connection = outcome.connection
        if outcome.redirect_url:
            back = urlencode({"connection_id": connection.connection_id, "status": connection.status})
            joiner = "&" if "?" in outcome.redirect_url else "?"
            return RedirectResponse(
                f"{outcome.redirect_url}{joiner}{back}", status_code=303, headers=SECURITY_HEADERS
            )
        if connection.status == "connected":
            return notice("Calendar connected", "Your calendar is connected. You can close this page.", 200)
        if connection.error_reason == "access_denied":
            return notice("Not connected", "Access was not allowed, so the calendar is not connected.", 200)
        if connection.error_reason == "authorization_failed":
            return notice(
                "Not connected", "The sign-in could not be completed. Please ask for a new link.", 200
            )
        return notice(  # access was granted; reading the calendar failed and is tried again later
            "Calendar connected",
            "Your calendar is connected; it could not be read yet and will be tried again.",
            200,
        )

    async def move(self, request: Request) -> Response:
        d, pages, meeting, token = await self._meeting(request)
        fields = await form_fields(request) if request.method == "POST" else dict(request.query_params)
        view, _ = await _visitor_view(d, request, fields.get("tz"), default=meeting.attendee.time_zone)
        home = f"/m/{token}?" + urlencode({"tz": view.tz.key})
        closed = await _closed(d, meeting)
        if closed:
            return notice("Cannot be moved", closed, 409, back=home)
        slot_id = _short(fields.get("slot"), 64)
        if slot_id is None:
            times = await free_slots(
                d, link_id=meeting.link_id, time_zone=view.tz.key, limit=100,
                duration_minutes=round((meeting.end - meeting.start).total_seconds() / 60),
                from_date=view.today, to_date=view.today + timedelta(days=DAYS_SHOWN - 1),
            )  # fmt: skip
            days: dict[str, list[tuple[str, str]]] = {}
            for slot in times.slots:
                day, _, clock = slot.when.rpartition(", ")
                days.setdefault(day, []).append(
                    (clock, f"/m/{token}/reschedule?" + urlencode({"slot": slot.slot_id, "tz": view.tz.key}))
                )
            return page("move.html", meeting=meeting, when=view.when(meeting.start, meeting.end),
                        days=list(days.items()), zone=view.tz.key, zones=zone_names(),
                        action=f"/m/{token}/reschedule", home=home)  # fmt: skip
        ref = await d.slot_ref(slot_id)
        forms = _forms(d, pages)
        target = f"move:{meeting.meeting_id}:{slot_id}"
        if request.method == "GET":
            return page("confirm.html", title="Move your meeting", home=home, action=f"/m/{token}/reschedule",
                        question=f"Move your meeting to {view.when(ref.start, ref.end)}?",
                        was=view.when(meeting.start, meeting.end), button="Move my meeting",
                        hidden={"slot": slot_id, "tz": view.tz.key, "token": forms.issue(target)}, reason=False)  # fmt: skip
        if not forms.check(fields.get("token", ""), target):
            return notice(
                "Please start again", "This form has expired or did not come from this page.", 403, back=home
            )
        await reschedule(d, meeting.meeting_id, slot_id, time_zone=view.tz.key,
                         idempotency_key=submission_key(fields["token"]))  # fmt: skip
        return _see_other(f"/m/{token}?" + urlencode({"tz": view.tz.key, "done": "moved"}))

    async def cancel(self, request: Request) -> Response:
        d, pages, meeting, token = await self._meeting(request)
        fields = await form_fields(request) if request.method == "POST" else dict(request.query_params)
        view, _ = await _visitor_view(d, request, fields.get("tz"), default=meeting.attendee.time_zone)
        home = f"/m/{token}?" + urlencode({"tz": view.tz.key})
        if meeting.status == "cancelled":
            return _see_other(home)
        closed = await _closed(d, meeting)
        if closed:
            return notice("Cannot be cancelled", closed, 409, back=home)
        forms = _forms(d, pages)
        target = f"cancel:{meeting.meeting_id}"
        if request.method == "GET":
            return page("confirm.html", title="Cancel your meeting", home=home, action=f"/m/{token}/cancel",
                        question=f"Cancel your meeting on {view.when(meeting.start, meeting.end)}?",
                        was=None, button="Cancel my meeting", reason=True,
                        hidden={"tz": view.tz.key, "token": forms.issue(target)})  # fmt: skip
        if not forms.check(fields.get("token", ""), target):
            return notice(
                "Please start again", "This form has expired or did not come from this page.", 403, back=home
            )
        reason = fields.get("reason", "").strip()[:500] or None
        await cancel(d, meeting.meeting_id, reason=reason, time_zone=view.tz.key,
                     idempotency_key=submission_key(fields["token"]))  # fmt: skip
        return _see_other(f"/m/{token}?" + urlencode({"tz": view.tz.key, "done": "cancelled"}))


class _Unavailable(Exception):
    """The tools' dependencies are not open yet (the server is starting) or serve no pages."""


def inactive(link: Link) -> Response:
    """A deactivated link sends visitors to its redirect URL, else says it takes no bookings."""
    if link.redirect_url:
        return RedirectResponse(link.redirect_url, status_code=302, headers=SECURITY_HEADERS)
    return notice(link.name, "This scheduling link is not taking bookings at the moment.", 410)


async def static(request: Request) -> Response:
    found = STATIC.get(request.path_params["name"])
    if found is None:
        return notice("Not found", "This page does not exist.", 404)
    media, path = found
    return Response(path.read_bytes(), media_type=media, headers={"x-content-type-options": "nosniff",
                                                                   "cache-control": "public, max-age=3600"})  # fmt: skip


def _see_other(location: str) -> Response:
    # Post, then redirect, then get: a reload of the result page never posts again.
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


def _forms(d: Deps, pages: PublicPages) -> FormTokens:
    return FormTokens(pages.signer("form"), clock=lambda: d.clock().timestamp())


async def _link(d: Deps, slug: str) -> Link:
    for link in await d.backend.list_links(include_inactive=True):
        if link.slug == slug:
            return link
    raise NotFound("no scheduling link has this address")


async def _visitor_view(
    d: Deps, request: Request, posted: str | None = None, *, default: str | None = None
) -> tuple[View, str | None]:
    """The zone the visitor picked (or their stored one, or the business zone); a bad pick is said."""
    asked = _short(posted or request.query_params.get("tz"), 64) or default
    try:
        return await d.view(asked), None
    except InvalidArgument:
        return await d.view(None), "That time zone is unknown; times are shown in the business time zone."


async def _closed(d: Deps, meeting: Meeting) -> str | None:
    """Why the attendee can no longer change this meeting here, or None if they can."""
    if meeting.status == "cancelled":
        return "This meeting was cancelled."
    if meeting.start <= d.clock():
        return "This meeting has already started."
    try:
        guards.change_window(meeting, await d.backend.get_link(meeting.link_id), d.clock(), action="changed",
                             override=False)  # fmt: skip
    except PolicyViolation as exc:
        return f"{exc.message[:1].upper()}{exc.message[1:]}. Please contact {meeting.host.name}."
    return None


def _attendee(values: dict[str, str], zone: str) -> tuple[AttendeeIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if not values["email"] and not values["phone"]:
        errors["email"] = "Please give an email address or a phone number."
    if len(values["notes"]) > 2000:
        errors["notes"] = "Please keep notes under 2,000 characters."
    try:
        attendee = AttendeeIn(name=values["name"], email=values["email"] or None,
                              phone=values["phone"] or None, time_zone=zone)  # fmt: skip
    except ValidationError as exc:
        for err in exc.errors(include_input=False):
            field = _FIELD_NAMES.get(str(err["loc"][0]), "name")
            errors.setdefault(field, _FIELD_PROBLEMS.get(field, "Please check this field."))
        return None, errors
    return (None, errors) if errors else (attendee, errors)


_FIELD_PROBLEMS = {
    "name": "Please give your name (up to 200 characters).",
    "email": "Please give an email address such as ana@example.com.",
    "phone": "Please give a phone number such as +49 30 1234567.",
}


def _facts(link: Link) -> list[tuple[str, str]]:
    minutes = " or ".join(str(m) for m in link.durations_minutes)
    facts = [("Host", link.host.name), ("Duration", f"{minutes} minutes"),
             ("Where", _location(link.location.kind, link.location.address))]  # fmt: skip
    if link.price is not None:
        price = f"{link.price.amount} {link.price.currency}"
        if link.price.deposit is not None:
            price += f" (deposit {link.price.deposit} {link.price.currency})"
        facts.append(("Price", price + "; the host will contact you about payment"))
    return facts


def _location(kind: str, address: str | None) -> str:
    return {
        "video": "Video call (the link comes with the confirmation)",
        "phone": "Phone call",
        "business_address": f"In person at {address}" if address else "In person at the business",
        "custom_address": f"In person at {address}" if address else "In person",
        "customer_address": "At your address",
    }.get(kind, kind)


def _short(value: str | None, limit: int) -> str | None:
    return value if value and len(value) <= limit else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 5 else None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


class Beside:
    """Routes the pages' paths to the pages (no token) and everything else to `app`."""

    def __init__(self, app: ASGIApp, pages: ASGIApp) -> None:
        self._app = app
        self._pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIXES):
            await self._pages(scope, receive, send)
        else:
            await self._app(scope, receive, send)
