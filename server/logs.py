"""Logging on stderr: plain text or one JSON object per line (`MEETINGS_LOG_FORMAT`).

stdout belongs to the MCP protocol on stdio, so nothing logs there. Each tool call logs one line
(tool, code, duration) from `tools/registry.py`; arguments are never logged at info level, since
they hold attendees' personal data.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

# Fields a record may carry through `extra=` that belong in the JSON line.
_EXTRA_FIELDS = ("tool", "code", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(fmt: Literal["text", "json"], level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request's full URL at INFO, and a calendar's secret iCal address is a credential.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # The SDK logs each request it handles at INFO; one line per tool call is ours to write.
    logging.getLogger("mcp").setLevel(max(logging.WARNING, root.level))
