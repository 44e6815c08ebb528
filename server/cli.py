"""Command line: `meetings-mcp` serves stdio; `--transport http` serves streamable HTTP at /mcp."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError

from server.app import build_server
from server.http_auth import BearerAuth
from server.settings import Settings, unknown_meetings_variables


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="meetings-mcp", description="Meeting scheduling for AI agents, over MCP."
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    typos = unknown_meetings_variables(dict(os.environ))
    if typos:
        sys.exit(f"meetings-mcp: unknown settings {', '.join(typos)} (see the README's configuration table)")
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        sys.exit(f"meetings-mcp: bad configuration: {problems}")
    if args.transport == "stdio":
        build_server(settings).run()
        return
    server = build_server(settings, allow_file_feeds=False)
    if settings.http_token is None:
        sys.exit(
            "meetings-mcp: MEETINGS_HTTP_TOKEN must be set to serve HTTP (clients send it as a bearer token)"
        )
    import uvicorn

    app = BearerAuth(server.streamable_http_app(host=args.host), settings.http_token.get_secret_value())
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
