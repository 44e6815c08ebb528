"""Command line: `meetings-mcp` serves stdio; `--transport http` serves streamable HTTP at /mcp
(and the public scheduling pages beside it); `pages` serves only the pages; `doctor`, `migrate`,
`reset`, `audit` and `--version` are the other commands.

Every failure a person can cause (a bad setting, a port in use, a database that cannot be used)
ends with one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sqlite3
import sys
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from wix_meetings_mcp import __version__
from wix_meetings_mcp.server import logs
from wix_meetings_mcp.server.app import Readiness, Running, build_server
from wix_meetings_mcp.server.database import (
    DatabaseUnusable,
    database_files,
    label,
    migrate_database,
    reset_postgres,
)
from wix_meetings_mcp.server.settings import (
    MIN_HTTP_TOKEN,
    Settings,
    dotenv_file,
    unknown_meetings_variables,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp

logger = logging.getLogger("wix_meetings_mcp")
_TOKEN_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"meetings-mcp: {message}", file=sys.stderr)
    sys.exit(code)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1 to 65535)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="meetings-mcp", description="Meeting scheduling for AI agents, over MCP."
    )
    parser.add_argument("--version", action="version", version=f"meetings-mcp {__version__}")
    parser.add_argument(
        "--transport", choices=["stdio", "http"], help="default: MEETINGS_TRANSPORT, else stdio"
    )
    parser.add_argument("--host", help="HTTP bind address (default: MEETINGS_HTTP_HOST, else loopback only)")
    parser.add_argument("--port", type=_port, help="HTTP port (default: MEETINGS_HTTP_PORT, else 8000)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    audit = commands.add_parser(
        "audit", help="print who called which write tool, when, and the result (newest first)"
    )
    audit.add_argument("--limit", type=_positive, default=50, help="entries to print (default: 50)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser("doctor", help="check the configuration, database, backend and time zone")
    pages = commands.add_parser(
        "pages", help="serve only the public scheduling pages (no MCP, no token), e.g. beside a stdio agent"
    )
    # SUPPRESS: unset here keeps a value given before the command (`meetings-mcp --port 8080 pages`).
    pages.add_argument("--host", default=argparse.SUPPRESS, help="bind address (default: MEETINGS_HTTP_HOST)")
    pages.add_argument(
        "--port", type=_port, default=argparse.SUPPRESS, help="port (default: MEETINGS_HTTP_PORT)"
    )
    commands.add_parser(
        "migrate", help="bring the database's schema up to date (the server also does at start)"
    )
    reset = commands.add_parser("reset", help="start the local database over (deletes every meeting in it)")
    reset.add_argument("--yes", action="store_true", help="really delete it")
    return parser.parse_args(argv)


def read_settings() -> Settings:
    typos = unknown_meetings_variables(dict(os.environ))
    if typos:
        fail(f"unknown settings {', '.join(typos)} in the environment (see the README's configuration table)")
    typos = unknown_meetings_variables(dotenv_file())
    if typos:
        fail(f"unknown settings {', '.join(typos)} in .env (see the README's configuration table)")
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        fail(f"bad configuration: {problems}")
    return settings


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except KeyboardInterrupt:  # Ctrl-C in a terminal: stop now, quietly
        sys.exit(130)


def _main(argv: list[str] | None) -> None:
    args = parse_args(argv)
    settings = read_settings()
    logs.configure(settings.log_format, settings.log_level)
    if args.command == "doctor":
        from wix_meetings_mcp.server.doctor import run_doctor

        sys.exit(run_doctor(settings))
    if args.command == "audit":
        from wix_meetings_mcp.server.audit import print_audit

        print_audit(settings, args.limit, as_json_lines=args.json)
        return
    if args.command == "reset":
        reset(settings, confirmed=args.yes)
        return
    if args.command == "pages":
        _migrate(settings)
        serve_pages(settings, host=args.host or settings.http_host, port=args.port or settings.http_port)
        return
    transport = args.transport or settings.transport
    if transport != "http" and (args.port is not None or args.host is not None):
        fail("--host and --port need --transport http (stdio has no address)")
    applied = _migrate(settings)
    if args.command == "migrate":
        for line in applied:
            print(line)
        return
    if transport == "stdio":
        _start_line(settings, "stdio")
        build_server(settings).run()
        return
    serve_http(settings, host=args.host or settings.http_host, port=args.port or settings.http_port)


def _migrate(settings: Settings) -> list[str]:
    try:
        return migrate_database(settings)
    except DatabaseUnusable as exc:
        fail(str(exc))


def served_url(host: str, port: int) -> str | None:
    """The address a browser reaches a concrete bind at; None for a wildcard (which address?)."""
    try:
        if ipaddress.ip_address(host).is_unspecified:
            return None
    except ValueError:
        if not host:
            return None
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve_http(settings: Settings, *, host: str, port: int) -> None:
    token = settings.http_token.get_secret_value() if settings.http_token else ""
    if not token:
        fail(
            f"MEETINGS_HTTP_TOKEN must be set to serve HTTP (clients send it as a bearer token); make one with {_TOKEN_HINT}"
        )
    if len(token) < MIN_HTTP_TOKEN:
        fail(
            f"MEETINGS_HTTP_TOKEN is too short ({len(token)} characters; at least {MIN_HTTP_TOKEN}); make one with {_TOKEN_HINT}"
        )
    listener = _listen(host, port)
    from wix_meetings_mcp.server.http_app import build_http_app

    readiness, running = Readiness(), Running()
    bound = listener.getsockname()[1]
    public_url = settings.public_url or served_url(host, bound)
    server = build_server(
        settings, allow_file_feeds=False, readiness=readiness, public_url=public_url, running=running
    )
    app = build_http_app(server, settings, readiness, host=host, running=running)
    shown = f"[{host}]" if ":" in host else host
    _start_line(settings, f"http://{shown}:{bound}/mcp", public_url)
    _serve(settings, app, listener)


def serve_pages(settings: Settings, *, host: str, port: int) -> None:
    if settings.backend != "local":
        fail(
            f"the scheduling pages serve the local backend's links; with MEETINGS_BACKEND={settings.backend} "
            "people book on that service's own pages"
        )
    listener = _listen(host, port)
    from wix_meetings_mcp.server.http_app import pages_only

    readiness = Readiness()
    public_url = settings.public_url or served_url(host, listener.getsockname()[1])
    app = pages_only(settings, readiness, public_url=public_url)
    _start_line(settings, "the scheduling pages only", public_url)
    _serve(settings, app, listener)


def _serve(settings: Settings, app: ASGIApp, listener: socket.socket) -> None:
    import uvicorn

    from wix_meetings_mcp.server.connections import ConnectionLimits, connection_cap, server_config

    limits = ConnectionLimits(max_connections=connection_cap())
    proxies = tuple(p for p in settings.trusted_proxies.split(",") if p)
    config, gated = server_config(app, listener, trusted_proxies=proxies, limits=limits)
    uvicorn.Server(config).run(sockets=[gated])


def _listen(host: str, port: int) -> socket.socket:
    """Bind before anything else starts, so a busy port is one clear line, not a traceback."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP, and
        # without it each answer waits about 40 ms on Nagle and delayed ACKs.
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except socket.gaierror:
        fail(f"cannot listen on {host!r}: no such address")
    except OSError as exc:
        if exc.errno == 98:  # EADDRINUSE
            fail(f"port {port} on {host} is already in use; stop the other server or choose another --port")
        fail(f"cannot listen on {host} port {port}: {exc.strerror}")
    listener.set_inheritable(True)
    return listener


def reset_shared(settings: Settings, url: str, *, confirmed: bool) -> None:
    """PostgreSQL: drop this server's tables (no other), under the migrations' lock."""
    if settings.backend != "local":
        fail(
            f"reset starts the local engine's database over; with MEETINGS_BACKEND={settings.backend} the meetings live there, not here"
        )
    if not confirmed:
        fail(
            f"reset drops every meeting, link and setting in {label(settings)}; run `meetings-mcp reset --yes` to do it (stop the replicas first)"
        )
    try:
        reset_postgres(url)
    except Exception as exc:  # psycopg's errors: unreachable, refused
        fail(f"cannot reset {label(settings)} ({exc.__class__.__name__}); check that PostgreSQL runs there")
    print(f"meetings-mcp: reset {label(settings)}; the next start provisions it afresh", file=sys.stderr)


def _start_line(settings: Settings, where: str, public_url: str | None = None) -> None:
    """One line naming where, which backend, plan and database (never a secret)."""
    plan = f" · plan {settings.plan}" if settings.backend == "local" else ""
    pages = f" · scheduling pages at {public_url}/book/" if public_url and settings.backend == "local" else ""
    logger.info(
        "meetings-mcp %s serving %s · backend %s%s · database %s%s",
        __version__,
        where,
        settings.backend,
        plan,
        label(settings),
        pages,
    )


def reset(settings: Settings, *, confirmed: bool) -> None:
    if settings.db_url is not None:
        reset_shared(settings, settings.db_url, confirmed=confirmed)
        return
    if settings.backend != "local":
        fail(
            f"reset starts the local engine's database over; with MEETINGS_BACKEND={settings.backend} the meetings live there, not here"
        )
    files = [f for f in database_files(settings.db_path) if f.exists()]
    if not files:
        print(f"meetings-mcp: no database at {settings.db_path}; nothing to reset", file=sys.stderr)
        return
    if not confirmed:
        fail(
            f"reset deletes every meeting, link and setting in {settings.db_path}; run `meetings-mcp reset --yes` to do it (stop running servers first)"
        )
    try:
        with sqlite3.connect(settings.db_path, timeout=1) as db:  # a running server holds it: refuse
            db.execute("BEGIN EXCLUSIVE")
            db.execute("ROLLBACK")
    except sqlite3.Error:
        fail(f"{settings.db_path} is in use by a running server; stop it first")
    for f in files:
        f.unlink()
    print(f"meetings-mcp: deleted {settings.db_path}; the next start provisions a fresh one", file=sys.stderr)
