"""A real SMTP server on loopback (aiosmtpd) that keeps what arrives, with STARTTLS or TLS and AUTH.

Its certificate comes from a throwaway CA (trustme); `client_tls` is a context that trusts it.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "pa55-Secret-word"


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)  # user names that tried to log in
    refuse_next: int = 0  # answer this many DATA commands with a temporary failure

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append(data.login.decode())
            return AuthResult(success=data.login.decode() == USER and data.password.decode() == PASSWORD)
        return AuthResult(success=False)


@dataclass
class MailServer:
    port: int
    inbox: Inbox
    client_tls: ssl.SSLContext

    def url(self, *, scheme: str = "smtp", password: str | None = PASSWORD) -> str:
        login = "" if password is None else f"{USER}:{password}@"
        return f"{scheme}://{login}127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mail_server(*, starttls: bool = True, implicit_tls: bool = False) -> Iterator[MailServer]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    inbox = Inbox()
    port = _free_port()
    options: dict[str, Any] = {"authenticator": inbox.authenticate, "auth_require_tls": True}
    if implicit_tls:
        options["auth_require_tls"] = False  # aiosmtpd counts only STARTTLS as TLS; this is TLS throughout
        options["server_hostname"] = "127.0.0.1"
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls, **options)
    else:
        if starttls:
            options["tls_context"] = server_tls
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield MailServer(port=port, inbox=inbox, client_tls=client_tls)
    finally:
        controller.stop()
