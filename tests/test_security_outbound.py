"""Caller-named URLs cannot reach inside: loopback, private, link-local and metadata addresses are
refused before a packet is sent, redirects are re-checked, and failures all look alike.

Only loopback servers these tests start are ever contacted; every other address is refused before
connecting, which a transport that records each attempt proves.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import Connect
from tests.loopback import loopback, response
from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest, ConnectCalendarResult
from wix_meetings_mcp.bookings.outbound import AllowedHosts

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PUBLIC = "93.184.215.14"
FEED = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260305T100000Z\r\n"
    b"DTEND:20260305T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


class Recorder(httpx.AsyncBaseTransport):
    """Answers like the internet would, and writes down every request that got as far as a socket."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer or (lambda _: httpx.Response(200, content=FEED))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)


class FakeDns:
    def __init__(self, answers: dict[str, Sequence[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return self.answers.get(host, [PUBLIC])


def backend(tmp_path: Path, http: httpx.AsyncClient, **options: Any) -> LocalBackend:
    return LocalBackend(
        db_path=tmp_path / "meetings.db",
        time_zone="Europe/Berlin",
        plan="premium",
        clock=lambda: NOW,
        http=http,
        **options,
    )


async def connect(engine: LocalBackend, url: str) -> ConnectCalendarResult:
    return await engine.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=url))


async def refusal(engine: LocalBackend, url: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        await connect(engine, url)
    return caught.value


LOOPBACK_SPELLINGS = [
    ("127.0.0.1", "refused_address"),
    ("127.1", "refused_address"),
    ("2130706433", "refused_address"),
    ("0x7f000001", "refused_address"),
    ("[::ffff:127.0.0.1]", "refused_address"),
    ("localhost", "refused_address"),
    ("0177.0.0.1", "unreachable"),  # octal: httpx will not even parse it
]


@pytest.mark.parametrize(("host", "reason"), LOOPBACK_SPELLINGS)
async def test_a_feed_on_this_machine_is_refused_in_every_spelling_before_connecting(
    tmp_path: Path, host: str, reason: str
) -> None:
    async with httpx.AsyncClient() as http, loopback({"/cal.ics": response(FEED)}) as server:
        engine = backend(tmp_path, http)
        error = await refusal(engine, server.url("/cal.ics", host=host))
    assert error.context["reason"] == reason
    assert server.connections == 0
    engine.close()


PRIVATE = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "192.0.2.1",
    "198.18.0.1",
    "240.0.0.1",
    "224.0.0.1",
    "[fd00::1]",
    "[fe80::1]",
    "[::]",
    "[::1]",
    "[::ffff:10.0.0.1]",
    "[2002:7f00:1::1]",  # 6to4 wrapping 127.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 wrapping 169.254.169.254
    "metadata.internal",  # a name whose answer is private
    "mixed.example",  # one public and one private answer
]


@pytest.mark.parametrize("host", PRIVATE)
async def test_private_and_reserved_addresses_are_refused_without_a_packet(tmp_path: Path, host: str) -> None:
    recorder = Recorder()
    dns = FakeDns({"metadata.internal": ["169.254.169.254"], "mixed.example": [PUBLIC, "10.1.2.3"]})
    async with httpx.AsyncClient(transport=recorder) as http:
        engine = backend(tmp_path, http, resolver=dns)
        error = await refusal(engine, f"http://{host}/calendar.ics")
    assert error.context["reason"] == "refused_address"
    assert recorder.requests == []
    engine.close()


async def test_the_request_goes_to_the_checked_address_with_the_name_in_host_and_sni(tmp_path: Path) -> None:
    recorder = Recorder()
    # A second lookup would answer with a private address (DNS rebinding); there must be none.
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    async with httpx.AsyncClient(transport=recorder) as http:
        engine = backend(tmp_path, http, resolver=rebinding)
        result = await connect(engine, "https://calendar.example/private-s3cr3t/basic.ics")
    [sent] = recorder.requests
    assert result.status == "connected"
    assert sent.url.host == PUBLIC and sent.url.path == "/private-s3cr3t/basic.ics"
    assert sent.headers["host"] == "calendar.example"
    assert sent.extensions["sni_hostname"] == "calendar.example"  # the certificate is checked by name
    engine.close()


def redirecting(chain: dict[str, str]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        target = chain.get(request.url.path)
        if target is None:
            return httpx.Response(200, content=FEED)
        return httpx.Response(302, headers={"Location": target})

    return answer


async def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed(tmp_path: Path) -> None:
    recorder = Recorder(redirecting({"/cal.ics": "http://169.254.169.254/latest/meta-data/"}))
    async with httpx.AsyncClient(transport=recorder) as http:
        engine = backend(tmp_path, http, resolver=FakeDns())
        error = await refusal(engine, "https://calendar.example/cal.ics")
    assert error.context["reason"] == "refused_address"
    assert [r.url.path for r in recorder.requests] == ["/cal.ics"]
    engine.close()


@pytest.mark.parametrize(("hops", "ok"), [(3, True), (4, False)])
async def test_at_most_three_redirects_are_followed(tmp_path: Path, hops: int, ok: bool) -> None:
    chain = {f"/{i}": f"https://hop{i + 1}.example/{i + 1}" for i in range(hops)}
    recorder = Recorder(redirecting(chain))
    dns = FakeDns()
    async with httpx.AsyncClient(transport=recorder) as http:
        engine = backend(tmp_path, http, resolver=dns)
        if ok:
            assert (await connect(engine, "https://hop0.example/0")).status == "connected"
        else:
            assert (await refusal(engine, "https://hop0.example/0")).context["reason"] == "unreachable"
    assert dns.asked == [f"hop{i}.example" for i in range(min(hops, 3) + 1)]  # every hop looked up
    engine.close()


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.0/8", "127.1"),
        ("localhost", "localhost"),
        ("calendar.lan, 127.0.0.1:9999", "127.0.0.1"),  # ports are ignored
    ],
)
async def test_the_operator_can_allow_a_private_calendar_server(
    tmp_path: Path, allowed: str, host: str
) -> None:
    async with httpx.AsyncClient() as http, loopback({"/cal.ics": response(FEED)}) as server:
        engine = backend(tmp_path, http, allowed_private_hosts=allowed)
        result = await connect(engine, server.url("/cal.ics", host=host))
    assert result.connection is not None and result.connection.busy_intervals == 1
    assert server.requests[0][1] == f"{host}:{server.port}"  # the Host header keeps the URL's name
    engine.close()


async def test_allowing_one_private_range_does_not_open_the_others(tmp_path: Path) -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=recorder) as http:
        engine = backend(tmp_path, http, allowed_private_hosts="10.0.0.0/8,calendar.lan")
        error = await refusal(engine, "http://192.168.1.5/cal.ics")
    assert error.context["reason"] == "refused_address" and recorder.requests == []
    engine.close()


def test_allowed_hosts_read_names_addresses_and_ranges() -> None:
    allowed = AllowedHosts.parse(" Calendar.LAN:8443, 10.1.0.0/16 ,[fd00::5]:443,,192.168.1.7")
    assert allowed.names == frozenset({"calendar.lan"})
    assert [str(n) for n in allowed.networks] == ["10.1.0.0/16", "fd00::5/128", "192.168.1.7/32"]


async def test_a_closed_port_a_non_http_server_a_404_and_a_500_cannot_be_told_apart(tmp_path: Path) -> None:
    async def not_http(writer: Any) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    routes = {
        "/ssh": not_http,
        "/500": response(b"oops", status="500 Internal Server Error"),
        "/html": response(b"<html>sign in</html>", headers={"Content-Type": "text/html"}),
    }
    async with httpx.AsyncClient() as http, loopback(routes) as server:
        engine = backend(tmp_path, http, allowed_private_hosts="127.0.0.1")
        answers = set()
        with anyio.fail_after(20):
            for url in [f"http://127.0.0.1:{closed}/cal.ics", server.url("/ssh"), server.url("/missing"),
                        server.url("/500")]:  # fmt: skip
                error = await refusal(engine, url)
                answers.add((error.message, error.next_step, str(error.context)))
            html = await refusal(engine, server.url("/html"))
    assert len(answers) == 1 and "'reason': 'unreachable'" in next(iter(answers))[2]
    assert html.context["reason"] == "not_icalendar"
    engine.close()


async def test_the_allowed_private_hosts_setting_reaches_the_engine(connect: Connect) -> None:
    async with loopback({"/cal.ics": response(FEED)}) as server:
        async with connect(plan="premium") as call:
            refused = await call.raw("connect_calendar", provider="google", ics_url=server.url("/cal.ics"))
        async with connect(plan="premium", allowed_private_hosts="127.0.0.1") as call:
            allowed = await call("connect_calendar", provider="google", ics_url=server.url("/cal.ics"))
    assert refused.is_error and refused.content[0].text.startswith("invalid_argument:")  # type: ignore[union-attr]
    assert "private" in refused.content[0].text  # type: ignore[union-attr]
    assert allowed["status"] == "connected" and server.connections == 1


def certificate_for(name: str, tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for `name`, client context trusting its issuer)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def build(subject: str, issuer: str, key: Any, signer: Any, *, ca: bool) -> Any:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("test CA", "test CA", ca_key, ca_key, ca=True)
    leaf = build(name, "test CA", leaf_key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "leaf.pem").write_bytes(
        leaf.public_bytes(pem)
        + leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "leaf.pem")
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


@pytest.mark.parametrize(("certificate_name", "ok"), [("calendar.test", True), ("elsewhere.test", False)])
async def test_https_to_the_pinned_address_checks_the_certificate_against_the_name(
    tmp_path: Path, certificate_name: str, ok: bool
) -> None:
    server_tls, client_tls = certificate_for(certificate_name, tmp_path)
    dns = FakeDns({"calendar.test": ["127.0.0.1"]})
    async with (
        httpx.AsyncClient(verify=client_tls) as http,
        loopback({"/cal.ics": response(FEED)}, server_tls) as server,
    ):
        engine = backend(tmp_path, http, resolver=dns, allowed_private_hosts="127.0.0.1")
        url = f"https://calendar.test:{server.port}/cal.ics"
        if ok:
            assert (await connect(engine, url)).status == "connected"
            assert server.requests == [("/cal.ics", f"calendar.test:{server.port}")]
        else:
            assert (await refusal(engine, url)).context["reason"] == "unreachable"
            assert server.requests == []  # the handshake failed: no request was sent
    engine.close()
