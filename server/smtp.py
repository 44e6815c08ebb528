"""The mail server: MEETINGS_SMTP_URL read into a target, one message delivered, one harmless probe.

`smtps://` speaks TLS from the first byte; `smtp://` upgrades with STARTTLS when the server offers
it. With a user and password TLS is required: STARTTLS must be offered and succeed before AUTH,
and a server that does not offer it fails the send — credentials never cross in clear. The password
appears in no error, log line or result: errors name the host and what went wrong only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # types only: settings import this module, and start-up time is measured
    import ssl
    from email.message import EmailMessage

    import aiosmtplib

TIMEOUT = 30.0  # seconds for each SMTP step: a stuck server cannot hold a claim past its lease


class MailError(Exception):
    """Delivery failed. `permanent`: retrying the same message cannot help (the server refused it)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool  # smtps://
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        """Where mail goes, fit for logs and doctor lines (never the password)."""
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"


def smtp_target(url: str) -> SmtpTarget:
    """Read `smtp[s]://[user:password@]host[:port]`; ValueError (naming no secret) otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(
            "MEETINGS_SMTP_URL is not a URL like smtp://user:password@mail.example.com:587"
        ) from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(
            "MEETINGS_SMTP_URL must start with smtp:// (STARTTLS when offered) or smtps:// (TLS)"
        )
    if not parts.hostname:
        raise ValueError("MEETINGS_SMTP_URL names no mail server host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("MEETINGS_SMTP_URL takes no path or options: smtp[s]://[user:password@]host[:port]")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (user is None) != (password is None) or password == "":
        raise ValueError("MEETINGS_SMTP_URL needs both a user and a password, or neither")
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        implicit_tls=parts.scheme == "smtps",
        username=user,
        password=password,
    )


def _client(target: SmtpTarget, tls_context: ssl.SSLContext | None) -> aiosmtplib.SMTP:
    import aiosmtplib  # loaded on the first message, not at start-up

    return aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        use_tls=target.implicit_tls,
        start_tls=False,  # decided in _open, where a missing STARTTLS can be named
        tls_context=tls_context,
        timeout=TIMEOUT,
    )


async def _open(smtp: aiosmtplib.SMTP, target: SmtpTarget) -> None:
    """Connect and, on smtp://, upgrade with STARTTLS when offered; required when there is a password."""
    await smtp.connect()
    if target.implicit_tls:
        return
    await smtp.ehlo()
    if smtp.supports_extension("starttls"):
        await smtp.starttls()
    elif target.password is not None:
        raise MailError(f"{target.shown} offers no STARTTLS (no TLS); the password is not sent in clear")


async def send(
    target: SmtpTarget, message: EmailMessage, *, tls_context: ssl.SSLContext | None = None
) -> None:
    """Deliver one message; MailError on failure, its text free of the password."""
    import aiosmtplib

    smtp = _client(target, tls_context)
    try:
        await _open(smtp, target)
        if target.username is not None and target.password is not None:
            # Checked again here, not only trusted to the client: AUTH only over TLS.
            if smtp.get_transport_info("sslcontext") is None:
                raise MailError(f"{target.shown} offered no TLS; the password is not sent in clear")
            await smtp.login(target.username, target.password)
        await smtp.send_message(message)
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError, TimeoutError) as exc:
        raise _unreachable(target, exc) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = {r.code for r in exc.recipients}
        raise MailError(f"{target.shown} refused the recipient ({', '.join(map(str, sorted(codes)))})",
                        permanent=all(500 <= c < 600 for c in codes)) from None  # fmt: skip
    except aiosmtplib.SMTPResponseException as exc:
        raise MailError(f"{target.shown} answered {exc.code}", permanent=False) from None
    except aiosmtplib.SMTPException as exc:
        raise MailError(f"{target.shown}: {_plain(exc)}") from None
    finally:
        await _close(smtp)


async def probe(target: SmtpTarget, *, tls_context: ssl.SSLContext | None = None) -> str:
    """Connect, EHLO, STARTTLS where it applies, NOOP and QUIT: sends no mail and no password.

    Returns how the connection is protected; MailError when the server cannot be used as configured.
    """
    import aiosmtplib

    smtp = _client(target, tls_context)
    try:
        await _open(smtp, target)
        await smtp.noop()
        secured = smtp.get_transport_info("sslcontext") is not None
        if target.password is not None and not secured:
            raise MailError(f"{target.shown} offered no TLS; the password would not be sent")
        return "TLS" if target.implicit_tls else ("STARTTLS" if secured else "no TLS (offered none)")
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError, TimeoutError) as exc:
        raise _unreachable(target, exc) from None
    except aiosmtplib.SMTPException as exc:
        raise MailError(f"{target.shown}: {_plain(exc)}") from None
    finally:
        await _close(smtp)


async def _close(smtp: aiosmtplib.SMTP) -> None:
    import aiosmtplib

    if smtp.is_connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()


def _unreachable(target: SmtpTarget, exc: Exception) -> MailError:
    return MailError(f"{target.shown} could not be reached ({exc.__class__.__name__})")


def _plain(exc: Exception) -> str:
    # aiosmtplib's messages are protocol text and server replies; they never hold our password.
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
