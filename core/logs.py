"""Log set-up: plain text (the default) or one JSON object per line (`BRIEFING_LOG_FORMAT=json`).

What a log line is about travels in a context variable, so it reaches every record written while the
work runs, in the task that set it and in the tasks it starts: `request_id` (one HTTP request or one
WebSocket connection; set by the API's middleware, from a client's `X-Request-ID` or made up),
`user_id` (once a token or a legacy username has named the account) and `briefing_request_id` (the
briefing request a tick or a stream works on). JSON lines carry the fields that are known.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime

from core.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
CONTEXT_FIELDS = ("request_id", "user_id", "briefing_request_id")

_context: ContextVar[Mapping[str, str]] = ContextVar("briefing_log_context")


def bind(**fields: str | None) -> Token[Mapping[str, str]]:
    """Add fields to the current context's log fields (a None value removes one); returns the token
    that :func:`reset` takes to restore what was there before."""
    merged = {**_context.get({}), **{key: value for key, value in fields.items() if value is not None}}
    for key in (key for key, value in fields.items() if value is None):
        merged.pop(key, None)
    return _context.set(merged)


def reset(token: Token[Mapping[str, str]]) -> None:
    """Restore the log fields to what they were before the :func:`bind` that gave `token`."""
    _context.reset(token)


def context() -> dict[str, str]:
    """The log fields known in the current context."""
    return dict(_context.get({}))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO 8601), level, logger, message, the
    known context fields, and `exception` / `stack` when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get({}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: Settings) -> None:
    """Route every logger to stderr in the configured format and level (`briefing` CLI start-up)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    logging.captureWarnings(settings.log_format == "json")  # warnings too become JSON lines
