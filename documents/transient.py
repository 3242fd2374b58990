"""Retrying store operations that the server refused for a passing reason.

FerretDB on SQLite answers a write that meets another writer's lock with `database is locked
(SQLITE_BUSY)` when it cannot wait (a read transaction upgrading to a write); MongoDB answers
write conflicts with `WriteConflict` or the `TransientTransactionError` label. In every such case
the server did nothing, so running the same operation again is safe whatever it was. Network
errors are not retried here: their outcome is unknown, and PyMongo already retries reads and
retryable writes once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger("briefing.store")
T = TypeVar("T")

ATTEMPTS = 5
_FIRST_BACKOFF_SECONDS = 0.02
_WRITE_CONFLICT = 112
_TRANSIENT_MESSAGES = ("SQLITE_BUSY", "database is locked", "database table is locked")


def is_transient(error: PyMongoError) -> bool:
    """Whether the server refused the operation for a passing reason (it did nothing)."""
    if error.has_error_label("TransientTransactionError"):
        return True
    if isinstance(error, OperationFailure):
        if error.code == _WRITE_CONFLICT:
            return True
        return any(marker in str(error) for marker in _TRANSIENT_MESSAGES)
    return False


WRITES_AT_ONCE = 2
"""Writes one process sends the store at once (the others wait their turn in the process).

SQLite has one writer; FerretDB's other connections wait for its lock by sleeping and retrying
(SQLite's busy handler: up to 100 ms a sleep), so a burst of concurrent writes (two hundred owners
ending their briefings together) left the lock idle between sleeps and queued the worker's briefing
inserts behind them for seconds. Queued in the process instead, the writes go out back to back."""

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(WRITES_AT_ONCE)
    return gate


async def retry_transient(operation: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run `operation` (a write), again after a short jittered backoff (20 ms doubling) while the
    store refuses it transiently, at most ATTEMPTS times; any other error is raised at once. At
    most `WRITES_AT_ONCE` of a process run at once."""
    delay = _FIRST_BACKOFF_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with _gate():
                return await operation()
        except PyMongoError as error:
            if attempt == ATTEMPTS or not is_transient(error):
                raise
            log.info("%s: transient store error (%s); retry %d in %.0f ms", what, error, attempt, delay * 1e3)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
