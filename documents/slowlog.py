"""A slow-command log for the store, like MongoDB's slow query log, seen from this process.

With `BRIEFING_SLOW_QUERY_MS` above 0 every command that takes longer (from sending to the answer,
queueing in the driver's pool excluded) is logged at WARNING with its collection, duration and the
shape of its filter: field names and the size of `$in` lists, never values.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo import monitoring

log = logging.getLogger("briefing.store.slow")

_TARGETS = ("find", "insert", "update", "delete", "findAndModify", "aggregate", "count", "distinct", "getMore")


def filter_shape(value: Any, *, depth: int = 0) -> Any:
    """The filter with its values replaced by their type (and `$in` lists by their length)."""
    if depth > 4:
        return "…"
    if isinstance(value, dict):
        return {
            key: f"{len(item)} values"
            if key in ("$in", "$nin") and isinstance(item, list)
            else filter_shape(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [filter_shape(item, depth=depth + 1) for item in value[:3]]
    return type(value).__name__


class SlowCommands(monitoring.CommandListener):
    """Logs the commands slower than `threshold_ms`."""

    def __init__(self, *, threshold_ms: float) -> None:
        self._threshold_us = threshold_ms * 1000
        self._started: dict[int, tuple[str, str, Any]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Remember what the command was (only commands on collections)."""
        name = event.command_name
        if name in _TARGETS:
            command = event.command
            shape = filter_shape(command.get("filter", command.get("query", command.get("updates", ""))))
            self._started[event.request_id] = (name, str(command.get(name, "")), shape)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Log the command when it was slow."""
        self._finish(event.request_id, event.duration_micros, failed=False)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Log the command when it was slow (and failed)."""
        self._finish(event.request_id, event.duration_micros, failed=True)

    def _finish(self, request_id: int, micros: int, *, failed: bool) -> None:
        found = self._started.pop(request_id, None)
        if found is not None and micros >= self._threshold_us:
            name, collection, shape = found
            log.warning(
                "slow store command: %s %s %.1f ms%s filter %s",
                name,
                collection,
                micros / 1000,
                " (failed)" if failed else "",
                shape,
            )
