"""A real browser books on the scheduling page: Debian's chromium, headless, driven by Playwright
(pointed at the system browser, nothing downloaded), against `meetings-mcp pages` in its own
process on the database an agent then reads. With an accessibility pass on every page it visits:
labelled fields, keyboard-only choice of a time, a visible focus ring and AA text contrast.

Screenshots of each step land in a temporary folder, or in $PAGES_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from icalendar import Calendar
from mcp import Client

from tests.mail_server import MailServer, mail_server
from tests.test_http_transport import free_port, server_env
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

CHROMIUM = shutil.which("chromium")
# Skipped on a machine without chromium; never in CI, whose .ci/run installs it.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (apt-get install -y chromium)",
)

# Text colour against the nearest opaque background, for every visible element holding text.
CONTRAST = """() => {
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number); return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b); };
  const backdrop = el => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor, parts = c.match(/[\\d.]+/g);
      if (parts && (parts.length < 4 || Number(parts[3]) > 0)) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest(".hp") || !el.getClientRects().length) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const a = lum(getComputedStyle(el).color), b = lum(backdrop(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""
UNLABELLED = """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(el => !el.closest(".hp") && el.labels.length === 0).map(el => el.name)"""


@pytest.fixture
def mail() -> Iterator[MailServer]:
    # Plain SMTP without a login on loopback: the pages process has no way to trust a test CA.
    with mail_server(starttls=False) as running:
        yield running


@pytest.fixture
def pages_server(tmp_path: Path, mail: MailServer) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wix_meetings_mcp", "pages", "--port", str(port)],
        env=server_env(
            tmp_path,
            MEETINGS_SMTP_URL=mail.url(password=None),
            MEETINGS_MAIL_FROM="bookings@example.com",
            MEETINGS_HOST_EMAIL="host@example.com",
        ),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the pages server did not become ready"
        time.sleep(0.05)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def check_accessible(page: Any) -> None:
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(CONTRAST) == []
    assert page.locator("html").get_attribute("lang") == "en"


def test_a_visitor_books_in_a_real_browser_by_keyboard_the_agent_sees_it_and_an_invitation_arrives(
    pages_server: str, mail: MailServer, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    shots = Path(os.environ.get("PAGES_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM or "chromium")
        context = browser.new_context(
            timezone_id="America/New_York", locale="en-US", viewport={"width": 820, "height": 1000}
        )
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        page.goto(f"{pages_server}/book/30-minute-meeting")
        page.wait_for_url("**tz=America%2FNew_York**")  # the script chose the browser's zone
        assert "Times are shown in America/New York" in page.content()
        check_accessible(page)
        page.screenshot(path=shots / "1-scheduling-page.png", full_page=True)

        for _ in range(12):  # skip link, zone picker, its button, then the first time
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.className") == "time":
                break
        focused = page.locator(":focus")
        assert focused.get_attribute("class") == "time"
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.keyboard.press("Enter")

        page.wait_for_url("**/details?**")
        check_accessible(page)
        page.screenshot(path=shots / "2-details-form.png", full_page=True)
        page.get_by_label("Your name").fill("Ana Lima")
        page.get_by_label("Email", exact=True).fill("ana@example.com")
        page.get_by_label("Anything the host should know (optional)").fill("About the offer")
        page.screenshot(path=shots / "3-details-filled.png", full_page=True)
        page.get_by_label("Email", exact=True).press("Enter")  # submitting from the keyboard

        page.wait_for_url("**/m/**")
        assert page.get_by_role("status").inner_text() == "You are booked."
        when = page.locator("p.when").inner_text()
        assert when.endswith("New York time")
        check_accessible(page)
        page.screenshot(path=shots / "4-confirmation.png", full_page=True)
        with page.expect_download() as download:
            page.get_by_text("Add to my calendar (.ics)").click()
        assert Path(download.value.path()).read_text().startswith("BEGIN:VCALENDAR")
        browser.close()
    assert problems == []  # no script error, nothing the Content-Security-Policy blocked

    async def agent_reads() -> dict[str, Any]:
        settings = Settings(db=tmp_path / "http.db")
        async with Client(build_server(settings)) as agent:
            result = await agent.call_tool("list_meetings", {"time_zone": "America/New_York"})
        assert result.structured_content is not None
        return result.structured_content

    [meeting] = anyio.run(agent_reads)["meetings"]
    assert meeting["attendee"]["name"] == "Ana Lima" and meeting["when"] == when

    # The visitor's mail: an iCalendar REQUEST at the booked time, with the meeting's UID.
    deadline = time.monotonic() + 15
    while not any(str(m["To"]) == "ana@example.com" for m in mail.inbox.messages):
        assert time.monotonic() < deadline, "no invitation reached the visitor"
        time.sleep(0.05)
    invitation = next(m for m in mail.inbox.messages if str(m["To"]) == "ana@example.com")
    part = next(p for p in invitation.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    event = next(iter(Calendar.from_ical(part.get_content()).walk("VEVENT")))
    assert str(event["UID"]) == f"{meeting['meeting_id']}@meetings-mcp"
    assert event.decoded("DTSTART") == datetime.fromisoformat(meeting["start"])
