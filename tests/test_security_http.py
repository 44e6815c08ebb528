"""Streamable HTTP against hostile callers: loopback by default, DNS rebinding refused, bodies capped,
a rate limit per token, and raw garbage on the wire answered without a crash."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_reliability_contention import TOKEN, Served, servers
from wix_meetings_mcp.server.cli import parse_args
from wix_meetings_mcp.server.http_app import MAX_REQUEST_BODY
from wix_meetings_mcp.server.rate_limit import RateLimiter
from wix_meetings_mcp.server.settings import Settings, unknown_meetings_variables

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def mcp_post(
    served: Served,
    *,
    name: str = "get_account",
    arguments: object = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One 2026-07-28 tools/call, as the official client sends it, with headers to override."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}  # fmt: skip
    if body is None:
        params = {"name": name, "arguments": {} if arguments is None else arguments, "_meta": meta}
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
    sent = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
        **AUTH,
    } | (headers or {})
    return httpx.post(served.url, content=body, headers=sent, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("http-security")
    with servers(tmp, tmp / "security.db", 1) as running:
        yield running[0]
        assert "Traceback" not in running[0].log.read_text()


def test_the_http_transport_binds_loopback_unless_told_otherwise(server: Served) -> None:
    assert parse_args(["--transport", "http"]).host is None  # so the setting decides
    assert Settings.model_fields["http_host"].default == "127.0.0.1"
    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            pytest.skip("this machine has no non-loopback IPv4 address")
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    with pytest.raises(OSError):
        socket.create_connection((address, server.port), timeout=2).close()


def test_a_request_with_the_token_and_local_headers_is_served(server: Served) -> None:
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        response = mcp_post(server, headers={"Host": host, "Origin": f"http://{host}"})
        assert response.status_code == 200, response.text
        assert '"isError":false' in response.text


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example:8000", "localhost.evil.example:1"]
)
def test_a_foreign_host_header_is_refused_as_dns_rebinding(server: Served, host: str) -> None:
    response = mcp_post(server, headers={"Host": host})
    assert response.status_code == 421


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "https://127.0.0.1.evil.example", "null", "http://localhost.evil.example:80"],
)
def test_a_foreign_origin_is_refused(server: Served, origin: str) -> None:
    assert mcp_post(server, headers={"Origin": origin}).status_code == 403


def test_without_the_token_a_foreign_host_learns_nothing_but_401(server: Served) -> None:
    response = mcp_post(server, headers={"Host": "evil.example", "Authorization": "Bearer nope"})
    assert response.status_code == 401 and TOKEN not in response.text


def test_an_oversized_body_is_refused_with_413(server: Served) -> None:
    big = {"meeting_id": "x" * (MAX_REQUEST_BODY + 1)}
    assert mcp_post(server, name="get_meeting", arguments=big).status_code == 413
    chunk = b" " * 65536  # no Content-Length: the cap holds while the body streams in
    body = iter([chunk] * (MAX_REQUEST_BODY // len(chunk) + 2))
    response = httpx.post(server.url, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    # The largest legitimate call still fits: 30 notes of 2,000 characters outside ASCII.
    notes = {f"field{i}": "日本" * 1000 for i in range(30)}
    fits = mcp_post(
        server, name="book_meeting", arguments={"slot_id": "x", "attendee": {"name": "A"}, "notes": notes}
    )
    assert fits.status_code == 200 and "invalid_slot: " in fits.text


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("get_account", b"{not json"),
        ("get_account", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("get_account", b"[" * 100_000 + b"]" * 100_000),
        ("get_account", b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]'),
        ("get_account", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_account","arguments":[1]}}'),
        ("get_meeting", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_meeting","arguments":{"\\udfff":1,"meeting_id":"\\ud800"}}}'),
        ("find_slots", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"find_slots","arguments":{"link_id":"x","limit":NaN}}}'),
        ("find_slots", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"find_slots","arguments":{"link_id":"x","limit":1' + b"0" * 5000 + b"}}}"),
    ],
)  # fmt: skip
def test_garbage_on_the_wire_gets_an_error_answer_and_the_server_serves_on(
    server: Served, name: str, body: bytes
) -> None:
    response = mcp_post(server, name=name, body=body)
    assert response.status_code in {200, 400}, response.text
    answer = json.loads(response.text)
    if "error" in answer:
        assert "Traceback" not in answer["error"]["message"]
    else:
        text = answer["result"]["content"][0]["text"]
        assert answer["result"]["isError"] and text.split(":")[0] in {"invalid_argument", "not_found"}, text
    assert mcp_post(server).status_code == 200


def test_the_rate_limit_answers_429_with_retry_after_per_token(tmp_path: Path) -> None:
    with servers(tmp_path, tmp_path / "limited.db", 1, MEETINGS_HTTP_RATE_LIMIT="5") as (served,):
        assert [mcp_post(served).status_code for _ in range(5)] == [200] * 5
        refused = mcp_post(served)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) == 12  # 5 a minute: one more every 12 seconds
        assert json.loads(refused.text)["error"] == "rate_limited"
        # Strangers are turned away by the token gate before they can spend the token's budget.
        assert mcp_post(served, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_token_bucket_allows_a_burst_then_the_steady_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one a second, bursts of 60
    assert [limiter.wait_for("token:a") for _ in range(60)] == [0.0] * 60
    assert limiter.wait_for("token:a") == pytest.approx(1.0)
    assert limiter.wait_for("token:b") == 0.0  # every token has its own bucket
    now[0] += 1.0
    assert limiter.wait_for("token:a") == 0.0
    assert limiter.wait_for("token:a") > 0
    now[0] += 3600  # a long idle refills to the burst size, not beyond
    assert sum(limiter.wait_for("token:a") == 0.0 for _ in range(100)) == 60


def test_the_rate_limit_setting_is_known_checked_and_on_by_default() -> None:
    assert Settings.model_fields["http_rate_limit"].default == 600
    assert Settings(http_rate_limit=0).http_rate_limit == 0  # 0 turns it off
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(http_rate_limit=-1)
    assert unknown_meetings_variables({"MEETINGS_HTTP_RATE_LIMIT": "120"}) == []
    with pytest.raises(ValueError):
        RateLimiter(0)
