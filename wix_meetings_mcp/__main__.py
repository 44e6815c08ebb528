"""`python -m wix_meetings_mcp` runs the same CLI as the `meetings-mcp` console script."""

from wix_meetings_mcp.server.cli import main

main()
