"""Command line: `meetings-mcp` serves stdio; `--transport http` serves streamable HTTP at /mcp;
`meetings-mcp audit` prints the audit trail of write calls."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError

from wix_meetings_mcp.server.app import build_server, system_clock
from wix_meetings_mcp.server.audit import AuditTrail, render
from wix_meetings_mcp.server.http_auth import BearerAuth
from wix_meetings_mcp.server.rate_limit import RateLimit, RateLimiter
from wix_meetings_mcp.server.settings import Settings, unknown_meetings_variables

# The largest legitimate call (book_meeting with 30 notes of 2,000 characters, every character
# escaped as a surrogate pair) stays under 0.8 MiB; the SDK answers 413 above this.
MAX_REQUEST_BODY = 1024 * 1024


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="meetings-mcp", description="Meeting scheduling for AI agents, over MCP."
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    audit = commands.add_parser(
        "audit", help="print who called which write tool, when, and the result (newest first)"
    )
    audit.add_argument("--limit", type=_positive, default=50, help="entries to print (default: 50)")
    return parser.parse_args(argv)


def read_settings() -> Settings:
    typos = unknown_meetings_variables(dict(os.environ))
    if typos:
        sys.exit(f"meetings-mcp: unknown settings {', '.join(typos)} (see the README's configuration table)")
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        sys.exit(f"meetings-mcp: bad configuration: {problems}")


def print_audit(settings: Settings, limit: int) -> None:
    if not settings.db_path.exists():
        print(f"meetings-mcp: no database at {settings.db_path} yet, so no audit entries", file=sys.stderr)
        return
    trail = AuditTrail(settings.db_path, system_clock)
    try:
        for entry in trail.entries(limit):
            print(render(entry))
    finally:
        trail.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # httpx logs every request's full URL at INFO, and a calendar's secret iCal address is a credential.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = read_settings()
    if args.command == "audit":
        print_audit(settings, args.limit)
        return
    if args.transport == "stdio":
        build_server(settings).run()
        return
    server = build_server(settings, allow_file_feeds=False)
    if settings.http_token is None:
        sys.exit(
            "meetings-mcp: MEETINGS_HTTP_TOKEN must be set to serve HTTP (clients send it as a bearer token)"
        )
    import uvicorn
    from starlette.types import ASGIApp

    # Outside in: the token gate, then the per-token rate limit, then the SDK's app (which checks
    # Host and Origin on loopback binds and caps the body size).
    app: ASGIApp = server.streamable_http_app(host=args.host, max_request_body_size=MAX_REQUEST_BODY)
    if settings.http_rate_limit:
        app = RateLimit(app, RateLimiter(settings.http_rate_limit))
    app = BearerAuth(app, settings.http_token.get_secret_value())
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
