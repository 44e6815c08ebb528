"""The HTTP transport against clients that hold connections or guess tokens.

Header- and body-drip connections are closed at a deadline, a flood of idle connections cannot
starve an authenticated client (the cap evicts the longest waiting), failed bearer checks are
limited per client address, and X-Forwarded-For counts only from a trusted proxy. Servers run on
loopback: in this process with short deadlines and a small cap, or as the real CLI.
"""

from __future__ import annotations

import json
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.test_reliability_contention import (
    TOKEN,
    Served,
    free_ports,
    server_env,
    stop,
    wait_until_listening,
)
from wix_meetings_mcp.server.app import Readiness, build_server
from wix_meetings_mcp.server.connections import (
    SPARE_FILES,
    ConnectionLimits,
    server_config,
)
from wix_meetings_mcp.server.http_app import build_http_app
from wix_meetings_mcp.server.rate_limit import FailureLimiter
from wix_meetings_mcp.server.settings import Settings, unknown_meetings_variables

CALL = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
     "params": {"name": "get_account", "arguments": {},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                          "io.modelcontextprotocol/clientCapabilities": {}}}}
).encode()  # fmt: skip


def call(port: int, token: str = TOKEN, *, source: str = "127.0.0.1", **headers: str) -> httpx.Response:
    """One tools/call get_account from `source` (any 127.x address is this machine)."""
    sent = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "get_account",
        "Authorization": f"Bearer {token}",
    } | headers
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10) as client:
        return client.post(f"http://127.0.0.1:{port}/mcp", content=CALL, headers=sent)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def serving(
    tmp_path: Path,
    limits: ConnectionLimits | None = None,
    *,
    trusted_proxies: str = "",
    auth_failures: FailureLimiter | None = None,
) -> Iterator[int]:
    """The real HTTP app under the real protocol, in a thread of this process; yields its port."""
    settings = Settings(
        db=tmp_path / "slow.db",
        time_zone="UTC",
        http_token=TOKEN,
        http_rate_limit=0,
        trusted_proxies=trusted_proxies,
    )
    readiness = Readiness()
    app = build_http_app(
        build_server(settings, allow_file_feeds=False, readiness=readiness),
        settings,
        readiness,
        host="127.0.0.1",
        auth_failures=auth_failures,
    )
    proxies = tuple(p for p in settings.trusted_proxies.split(",") if p)
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    config, listener = server_config(app, bound, trusted_proxies=proxies, limits=limits or ConnectionLimits())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closed `sock` within `wait` seconds (EOF or reset)."""
    sock.settimeout(wait)
    try:
        while sock.recv(4096):  # an answer (a 401, a 503) may come before the close
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize(
    ("opening", "drip"),
    [
        (b"", b""),  # connects and never sends a byte
        (b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Drip: 1\r\n"),  # headers that never end
        (
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n",
            b"{",
        ),  # a body that never ends
    ],
    ids=["silent", "header-drip", "body-drip"],
)
def test_a_dripping_client_is_cut_off_at_the_deadline_while_others_are_served(
    tmp_path: Path, opening: bytes, drip: bytes
) -> None:
    limits = ConnectionLimits(header_deadline=1.0, body_deadline=1.0)
    with serving(tmp_path, limits) as port, socket.create_connection(("127.0.0.1", port)) as dripper:
        opened = time.monotonic()
        dripper.sendall(opening)
        served = False
        while time.monotonic() - opened < 5:
            if drip:
                try:
                    dripper.sendall(drip)  # every 0.1 s: uvicorn's own timer would restart each time
                except OSError:
                    break
            if closed_by_server(dripper, 0.1):
                break
            if not served and time.monotonic() - opened > 0.3:
                answer = call(port)
                assert answer.status_code == 200 and '"isError":false' in answer.text, answer.text
                served = True
        cut_after = time.monotonic() - opened
        assert served
        assert 0.9 <= cut_after < 3, f"cut after {cut_after:.1f} s"


def test_idle_connections_beyond_the_cap_do_not_starve_an_authenticated_client(tmp_path: Path) -> None:
    with serving(tmp_path, ConnectionLimits(max_connections=50)) as port, ExitStack() as stack:
        idle = [stack.enter_context(socket.create_connection(("127.0.0.1", port))) for _ in range(200)]
        started = time.monotonic()
        answer = call(port)
        assert answer.status_code == 200 and '"isError":false' in answer.text, answer.text
        assert time.monotonic() - started < 3
        # The server holds at most the cap: the longest waiting idle connections were closed.
        with selectors.DefaultSelector() as watch:
            for sock in idle:
                watch.register(sock, selectors.EVENT_READ)
            closed: set[socket.socket] = set()
            deadline = time.monotonic() + 5
            while len(closed) < 150 and time.monotonic() < deadline:
                closed |= {key.fileobj for key, _ in watch.select(timeout=0.2)}  # type: ignore[misc]  # fileobj is the socket registered
        assert len(closed) >= 150
        assert closed.isdisjoint(idle[-40:])  # the newest were kept


def test_the_served_process_stays_reachable_when_idle_connections_outnumber_its_files(tmp_path: Path) -> None:
    """The real CLI allowed 1,000 files: without a cap, accept() fails and nothing gets in."""

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1000, 1000))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1500:  # this process holds the 1,100 client ends
        if hard != resource.RLIM_INFINITY and hard < 1500:
            pytest.skip("this process may not open 1,500 files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1500, hard))
    (port,) = free_ports(1)
    log = tmp_path / "server.log"
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wix_meetings_mcp", "--transport", "http", "--port", str(port)],
            env=server_env(tmp_path / "few.db"),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=few_files,
        )
    served = Served(proc, port, log)
    try:
        wait_until_listening([served], timeout=30)
        with ExitStack() as stack:
            for _ in range(1100):
                stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            answer = call(port)
            assert answer.status_code == 200 and '"isError":false' in answer.text, answer.text
    finally:
        stop(served)
    written = log.read_text()
    assert "Traceback" not in written, written[-2000:]


@pytest.mark.parametrize(
    ("files", "cap"),
    [
        ((1000, 1000), 1000 - SPARE_FILES),  # cannot raise: fewer connections
        ((400, 4000), 1000),  # the soft limit is raised toward the hard one
    ],
)
def test_the_cap_leaves_room_for_the_process_own_files_and_an_accept_batch(
    files: tuple[int, int], cap: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from wix_meetings_mcp.server.connections import connection_cap; print(connection_cap())"],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, files),
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert int(done.stdout) == cap


def test_wrong_tokens_from_one_address_get_429_then_the_right_token_works_after_the_window(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    with serving(tmp_path, auth_failures=FailureLimiter(10, clock=clock)) as port:
        assert [call(port, "wrong" * 8).status_code for _ in range(10)] == [401] * 10
        refused = call(port, "wrong" * 8)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "6"  # one try back every 6 s
        assert TOKEN not in refused.text
        # Refused before the token is compared: the right token learns nothing from this address now...
        assert call(port).status_code == 429
        # ...while another address with the right token is served, and its own failures are its own.
        assert call(port, source="127.0.0.2").status_code == 200
        assert call(port, "wrong" * 8, source="127.0.0.2").status_code == 401
        clock.now += 60
        assert call(port).status_code == 200


def test_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    with serving(tmp_path, trusted_proxies="127.0.0.1", auth_failures=FailureLimiter(10)) as port:
        # 127.0.0.2 is no proxy of ours: its X-Forwarded-For is ignored, its failures are its own.
        spoofed = [
            call(port, "wrong" * 8, source="127.0.0.2", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(11)
        ]
        assert spoofed == [401] * 10 + [429]
        # Through the trusted proxy, each forwarded client has its own budget.
        behind = {"X-Forwarded-For": "203.0.113.7"}
        assert [call(port, "wrong" * 8, **behind).status_code for _ in range(11)] == [401] * 10 + [429]
        assert call(port, **behind).status_code == 429
        other = {"X-Forwarded-For": "203.0.113.7, 203.0.113.8"}  # the proxy appends what it saw
        assert call(port, **other).status_code == 200
        assert call(port).status_code == 200  # the proxy's own address was never blamed


def test_forwarded_for_from_loopback_is_ignored_by_default(tmp_path: Path) -> None:
    with serving(tmp_path, auth_failures=FailureLimiter(10)) as port:
        rotating = [
            call(port, "wrong" * 8, **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(11)
        ]
        assert rotating == [401] * 10 + [429]


def test_the_failure_limiter_refills_groups_ipv6_ranges_and_stays_bounded() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(10, clock=clock, max_clients=100)
    for _ in range(10):
        assert limiter.wait_for("2001:db8::1") == 0.0
        limiter.failed("2001:db8::1")
    assert limiter.wait_for("2001:db8::ffff") == pytest.approx(6.0)  # the same /64
    assert limiter.wait_for("2001:db8:0:1::1") == 0.0  # the next /64 is someone else
    assert limiter.wait_for("::ffff:192.0.2.1") == 0.0
    clock.now += 6
    assert limiter.wait_for("2001:db8::1") == 0.0
    limiter.failed("2001:db8::1")
    assert limiter.wait_for("2001:db8::1") > 0
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) <= 100


def test_trusted_proxies_is_a_known_checked_setting() -> None:
    assert unknown_meetings_variables({"MEETINGS_TRUSTED_PROXIES": "10.0.0.0/8"}) == []
    assert Settings().trusted_proxies == ""
    assert Settings(trusted_proxies=" 10.0.0.1, 192.168.0.0/16 ,::1").trusted_proxies == (
        "10.0.0.1/32,192.168.0.0/16,::1/128"
    )
    with pytest.raises(ValueError, match="MEETINGS_TRUSTED_PROXIES"):
        Settings(trusted_proxies="proxy.example")
