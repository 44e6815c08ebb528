"""The public scheduling page over an in-process ASGI client: a visitor books, moves and cancels
through the same guardrails as the agent's tools, and the pages stay safe to put on the internet."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from mcp import Client

from tests.conftest import FakeClock
from wix_meetings_mcp.bookings.model import LinkChange, MeetingQuery, Price
from wix_meetings_mcp.server.app import build_server, open_deps
from wix_meetings_mcp.server.cli import served_url
from wix_meetings_mcp.server.pages import Pages
from wix_meetings_mcp.server.settings import Settings
from wix_meetings_mcp.tools.context import Deps

BASE = "https://meet.example.com"
SLUG = "30-minute-meeting"
ANA = {"name": "Ana Lima", "email": "ana@example.com", "phone": "", "notes": "About the offer"}


class Forms(HTMLParser):
    """Links and forms of a page, as a browser without JavaScript sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (class, href)
        self.forms: list[dict[str, str]] = []  # method, action, then every named field's value
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a":
            self.links.append((a.get("class", ""), a.get("href", "")))
        elif tag == "form":
            self.forms.append({"_method": a.get("method", "get"), "_action": a.get("action", "")})
        elif tag in ("input", "textarea", "select") and self.forms and "name" in a:
            self.forms[-1][a["name"]] = a.get("value", "")

    def times(self) -> list[str]:
        return [href for cls, href in self.links if cls == "time"]

    def post_form(self) -> dict[str, str]:
        return next(f for f in self.forms if f["_method"] == "post")


@dataclass
class Site:
    http: httpx.AsyncClient
    deps: Deps
    settings: Settings
    clock: FakeClock

    async def get(self, url: str) -> httpx.Response:
        return await self.http.get(url)

    async def post(self, form: dict[str, str], **fields: str) -> httpx.Response:
        data = {k: v for k, v in form.items() if not k.startswith("_")} | fields
        return await self.http.post(form["_action"], data=data)

    async def form_for_first_time(self, query: str = "?tz=Europe/Berlin") -> dict[str, str]:
        times = Forms((await self.get(f"/book/{SLUG}{query}")).text).times()
        return Forms((await self.get(times[0])).text).post_form()

    async def book(self, query: str = "?tz=Europe/Berlin", **fields: str) -> httpx.Response:
        return await self.post(await self.form_for_first_time(query), **(ANA | fields))

    async def meetings(self) -> list[object]:
        page = await self.deps.backend.list_meetings(MeetingQuery(status="all", limit=100))
        return list(page.meetings)


async def open_site(db_path: Path, clock: FakeClock, **overrides: object) -> AsyncIterator[Site]:
    settings = Settings(db=db_path, time_zone="Europe/Berlin", public_url=BASE, **overrides)  # type: ignore[arg-type]
    async with open_deps(settings, clock=clock) as deps:
        transport = httpx.ASGITransport(app=Pages(lambda: deps), client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            yield Site(http, deps, settings, clock)


@pytest.fixture
async def site(db_path: Path, clock: FakeClock) -> AsyncIterator[Site]:
    async for s in open_site(db_path, clock):
        yield s


@pytest.fixture
async def premium_site(db_path: Path, clock: FakeClock) -> AsyncIterator[Site]:
    async for s in open_site(db_path, clock, plan="premium"):
        yield s


async def test_the_page_shows_the_link_and_its_free_times_as_plain_links(site: Site) -> None:
    response = await site.get(f"/book/{SLUG}")
    assert response.status_code == 200
    html = response.text
    assert "30 Minute Meeting" in html and "30 minutes" in html and "Host" in html
    times = Forms(html).times()
    # Monday 30 November 2026, 09:00 in Berlin, no JavaScript: the business zone's times.
    assert times and "Europe/Berlin" in html and "Monday 30 November" in html
    assert 'aria-label="Monday 30 November, 9:30 AM"' in html


async def test_a_visitor_zone_shows_the_same_times_in_their_clock(site: Site) -> None:
    html = (await site.get(f"/book/{SLUG}?tz=America/New_York")).text
    assert "Times are shown in America/New York" in html
    assert 'aria-label="Monday 30 November, 3:30 AM"' in html  # 9:30 in Berlin
    unknown = (await site.get(f"/book/{SLUG}?tz=Mars/Olympus")).text
    assert "That time zone is unknown" in unknown and 'aria-label="Monday 30 November, 9:30 AM"' in unknown


async def test_a_visitor_books_and_the_agent_sees_the_meeting(site: Site) -> None:
    done = await site.book()
    assert done.status_code == 303
    confirmation = await site.get(done.headers["location"])
    html = confirmation.text
    assert "You are booked." in html and "Monday 30 November, 9:30 to 10:00 AM, Berlin time" in html
    links = dict((href.rsplit("/", 1)[-1], href) for _, href in Forms(html).links)
    assert "meeting.ics" in links
    own = re.search(r'class="own" href="([^"]+)"', html)
    assert own and own.group(1).startswith(f"{BASE}/m/")
    async with Client(build_server(site.settings, clock=site.clock)) as agent:
        listed = (await agent.call_tool("list_meetings", {})).structured_content
    assert listed is not None
    [meeting] = listed["meetings"]
    assert meeting["attendee"]["name"] == "Ana Lima" and meeting["notes"] == {"notes": "About the offer"}


async def test_a_double_submit_books_once(site: Site) -> None:
    form = await site.form_for_first_time()
    first = await site.post(form, **ANA)
    again = await site.post(form, **ANA)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(await site.meetings()) == 1


async def test_a_post_without_this_page_s_token_or_with_the_honeypot_writes_nothing(site: Site) -> None:
    form = await site.form_for_first_time()
    forged = await site.post(form | {"token": "x.y"}, **ANA)
    assert forged.status_code == 403
    bot = await site.post(form, **ANA, leave_blank="http://spam.example")
    assert bot.status_code == 400
    assert await site.meetings() == []


async def test_missing_contact_details_are_asked_for_beside_the_field(site: Site) -> None:
    response = await site.book(email="", phone="")
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and "email address or a phone number" in response.text
    assert await site.meetings() == []


async def test_text_people_type_is_escaped(site: Site) -> None:
    done = await site.book(name="<script>alert(1)</script>")
    html = (await site.get(done.headers["location"])).text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_the_free_plan_limit_holds_on_the_page(site: Site) -> None:
    for n in range(3):
        form = await site.form_for_first_time()
        assert (await site.post(form, **(ANA | {"email": f"p{n}@example.com"}))).status_code == 303
    refused = await site.book(email="fourth@example.com")
    assert refused.status_code == 409 and "not taking new bookings" in refused.text
    assert len(await site.meetings()) == 3


async def test_a_priced_link_shows_its_price_and_books_as_payment_required(premium_site: Site) -> None:
    site = premium_site
    admin = site.deps.backend.admin
    assert admin is not None
    [link] = await site.deps.backend.list_links()
    await admin.update_scheduling_link(
        link.link_id, LinkChange(price=Price(amount=Decimal("50"), currency="EUR"))
    )
    assert "50 EUR" in (await site.get(f"/book/{SLUG}")).text
    done = await site.book()
    assert "payment is due" in (await site.get(done.headers["location"])).text
    [meeting] = await site.meetings()
    assert meeting.status == "payment_required"  # type: ignore[attr-defined]


async def test_a_deactivated_link_redirects_or_says_it_takes_no_bookings(site: Site) -> None:
    [link] = await site.deps.backend.list_links()
    await site.deps.backend.set_link_active(link.link_id, active=False)
    closed = await site.get(f"/book/{SLUG}")
    assert closed.status_code == 410 and "not taking bookings" in closed.text
    assert Forms(closed.text).times() == [] and Forms(closed.text).forms == []
    await site.deps.backend.set_link_active(
        link.link_id, active=False, redirect_url="https://example.com/moved"
    )
    moved = await site.get(f"/book/{SLUG}")
    assert moved.status_code == 302 and moved.headers["location"] == "https://example.com/moved"


async def test_the_attendee_moves_and_cancels_on_their_own_page(site: Site) -> None:
    home = (await site.book("?tz=Europe/Berlin&from=2026-12-02")).headers["location"].split("?")[0]
    ics = await site.get(f"{home}/meeting.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"DTSTART:20261202T080000Z" in ics.content and b"UID:" in ics.content
    choices = Forms((await site.get(f"{home}/reschedule?tz=Europe/Berlin")).text).times()
    confirm = Forms((await site.get(choices[-1])).text).post_form()  # Friday's last time
    moved = await site.post(confirm)
    assert moved.status_code == 303 and "done=moved" in moved.headers["location"]
    assert "Friday 4 December, 4:30 to 5:00 PM" in (await site.get(moved.headers["location"])).text
    cancel = Forms((await site.get(f"{home}/cancel")).text).post_form()
    gone = await site.post(cancel, reason="Plans changed")
    assert "Your meeting was cancelled." in (await site.get(gone.headers["location"])).text
    [meeting] = await site.meetings()
    assert meeting.status == "cancelled"  # type: ignore[attr-defined]


async def test_the_attendee_page_honours_the_policy_window(site: Site) -> None:
    home = (await site.book("?tz=Europe/Berlin&from=2026-12-01")).headers["location"].split("?")[0]
    cancel = Forms((await site.get(f"{home}/cancel")).text).post_form()
    site.clock.advance(hours=1)  # Tuesday's meeting at 9:00 Berlin is now less than 24 hours away
    html = (await site.get(home)).text
    assert "24 hours before the start" in html and "/cancel" not in html
    refused = await site.post(cancel)
    assert refused.status_code == 409
    [meeting] = await site.meetings()
    assert meeting.status != "cancelled"  # type: ignore[attr-defined]


async def test_a_tampered_meeting_address_finds_nothing(site: Site) -> None:
    home = (await site.book()).headers["location"].split("?")[0]
    tampered = home[:-2] + ("AA" if not home.endswith("AA") else "BB")
    assert (await site.get(tampered)).status_code == 404


async def test_every_page_carries_a_strict_policy_and_no_inline_script(site: Site) -> None:
    done = await site.book()
    for url in (f"/book/{SLUG}", done.headers["location"], "/book/nope", "/m/forged"):
        response = await site.get(url)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None
        assert "Traceback" not in response.text


async def test_posts_are_limited_per_address_and_capped_in_size(site: Site) -> None:
    form = await site.form_for_first_time()
    assert (await site.post(form, name="x" * 20_000)).status_code == 413
    statuses = [(await site.post(form | {"token": "bad"}, **ANA)).status_code for _ in range(12)]
    assert statuses[:9] == [403] * 9 and statuses[-1] == 429


def test_booking_urls_need_an_address_a_browser_can_use() -> None:
    assert served_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert served_url("::1", 8080) == "http://[::1]:8080"
    assert served_url("meet.internal", 80) == "http://meet.internal:80"
    assert served_url("0.0.0.0", 8080) is None and served_url("::", 8080) is None


async def test_list_scheduling_links_gives_the_page_or_says_how_to_serve_it(
    db_path: Path, clock: FakeClock
) -> None:
    served = Settings(db=db_path, public_url=BASE + "/")
    async with Client(build_server(served, clock=clock)) as agent:
        result = (await agent.call_tool("list_scheduling_links", {})).structured_content
    assert result is not None and result["links"][0]["booking_url"] == f"{BASE}/book/{SLUG}"
    async with Client(build_server(Settings(db=db_path), clock=clock)) as agent:
        result = (await agent.call_tool("list_scheduling_links", {})).structured_content
    assert result is not None and result["links"][0].get("booking_url") is None
    assert "MEETINGS_PUBLIC_URL" in result["hint"] and "meetings-mcp pages" in result["hint"]
