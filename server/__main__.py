"""`python -m server` runs the same CLI as the `meetings-mcp` console script."""

from server.cli import main

main()
