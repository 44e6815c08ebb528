"""The floor: a bare `MCPServer` with one async `echo` tool, served like meetings-mcp.

Every ratio in the benchmarks divides by what this server costs on the same transport, so it
must stay minimal: no lifespan, no settings, no database. Run as a script (`python
bench/echo_server.py [--transport http --port N]`) so that importing it pulls in `mcp` only.
"""

from __future__ import annotations

import argparse

from mcp.server import MCPServer


def build() -> MCPServer:
    server = MCPServer("echo")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="A bare MCP server with one echo tool.")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = build()
    if args.transport == "stdio":
        server.run()
        return
    import uvicorn

    # The same app, bind address and uvicorn options as `meetings-mcp --transport http`.
    app = server.streamable_http_app(host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
