"""meetings-mcp: meeting scheduling for AI agents over MCP, with guardrails.

The repository keeps `server/`, `tools/` and `bookings/` at its top level; the distribution installs
them under this namespace (package-dir mapping in pyproject.toml), so nothing as generic as
`server` or `tools` lands in site-packages. In a checkout the three folders are linked here, so
tools that read the source tree (mypy, pytest) see the installed layout.
"""

__version__ = "0.2.0"
