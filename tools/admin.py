"""Toolset `admin` (off unless enabled): set-up and configuration from the Wix Meetings sample flows."""

from __future__ import annotations

from tools.spec import ToolSpec

TOOLS: tuple[ToolSpec, ...] = ()
