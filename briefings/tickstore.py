"""The tick's store and Redis traffic, group-committed across the ticks of a moment.

Ticks due together (one worker runs them as concurrent tasks) share their round trips:

* **load**: one `MGET` of every tick's chain position and end flag; the requests themselves come
  from a worker-side cache (their schedule never changes) that is re-read from the store in the
  background every `ttl` seconds per request (only a request the worker has not seen yet is read on
  the tick's path), and dropped when Redis says the request ended or when Redis was unreachable (so
  a missed end flag cannot outlive an outage);
* **store**: one `insert_many(ordered=False)` for every briefing (a duplicate key from an arq
  retry is not an error: that briefing is read back);
* **finish**: one pipeline of every announcement (`XADD`) and every next-tick enqueue;
* **visitors**: one unordered bulk write of every request's `$inc` of entries and stays (the
  requests watching one camera all count the person who just came in: one write each, serialised
  by the store's single writer, made the ticks due behind them late).

Skipped slots cost no write of their own: each briefing carries how many slots were skipped just
before it (`skipped_before`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from arq.connections import ArqRedis
from beanie import PydanticObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from briefings.events import BriefingAnnounced, queue_announce
from briefings.lifecycle import ended_key
from briefings.schedule import enqueue_ticks, next_tick_key
from briefings.watch import Totals, queue_totals, totals_key
from core.background import Background
from core.coalesce import Coalescer
from documents import Briefing, BriefingRequest, RequestStatus, get_by_id
from documents.transient import retry_transient

log = logging.getLogger("briefing.tick")
_DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Loaded:
    """What a tick starts from: its request (None if gone), whether Redis says it ended, and the
    tick its chain expects next (None when Redis does not remember)."""

    request: BriefingRequest | None
    ended: bool
    expected: int | None
    totals: Totals | None = None
    """The camera watcher's counters the request's previous briefing was counted against."""


@dataclass(frozen=True)
class Finish:
    """The end of one tick: announce `stored` (if any), then queue tick `next_seq`."""

    request: BriefingRequest
    stored: Briefing | None
    next_seq: int
    totals: Totals | None = None
    """The watcher's counters `stored` was counted against, for the request's next briefing."""


class TickStore:
    """Batched reads and writes of the ticks running in one worker."""

    def __init__(self, *, arq: ArqRedis, window: float, ttl: float) -> None:
        self._arq = arq
        self._ttl = ttl
        self._requests: dict[str, tuple[float, BriefingRequest]] = {}
        self._background = Background[str]()
        self._loads = Coalescer[str, Loaded](flush=self._load_many, window=window)
        self._inserts = Coalescer[Briefing, Briefing | None](flush=self._insert_many, window=window)
        self._finishes = Coalescer[Finish, None](flush=self._finish_many, window=window)
        self._visitors = Coalescer[tuple[PydanticObjectId, dict[str, float]], None](
            flush=self._count_many, window=window
        )

    async def load(self, request_id: str) -> Loaded:
        """The request of a tick, its end flag and its chain position."""
        return await self._loads.submit(request_id)

    async def insert(self, briefing: Briefing) -> Briefing | None:
        """Store a briefing; the stored one when it already existed, None if it vanished."""
        return await self._inserts.submit(briefing)

    async def finish(self, finish: Finish) -> None:
        """Announce a stored briefing and queue the next tick."""
        await self._finishes.submit(finish)

    async def count_visitors(self, *, request_id: PydanticObjectId, increments: dict[str, float]) -> None:
        """Add a stored briefing's entries and completed stays (`$inc` fields) to its request."""
        await self._visitors.submit((request_id, increments))

    def forget(self) -> None:
        """Drop every cached request (Redis was unreachable: end flags may have been missed)."""
        self._requests.clear()

    def forget_request(self, request_id: str) -> None:
        """Drop one cached request (it ended)."""
        self._requests.pop(request_id, None)

    async def _load_many(self, request_ids: list[str]) -> list[Loaded]:
        keys: list[str] = []
        for request_id in request_ids:
            keys += [next_tick_key(request_id=request_id), ended_key(request_id=request_id), totals_key(request_id)]
        try:
            values = await self._arq.mget(keys)
        except Exception:
            self.forget()
            raise
        now = time.monotonic()
        stale = {rid for rid in request_ids if self._age(rid, now=now) >= self._ttl}
        unknown = sorted(rid for rid in stale if rid not in self._requests)
        await self._refresh(unknown)  # a request this worker never saw is read before its tick runs
        self._refresh_later(sorted(stale.difference(unknown)))
        loaded: list[Loaded] = []
        for i, request_id in enumerate(request_ids):
            expected, ended, totals = values[3 * i : 3 * i + 3]
            if ended is not None:
                self._requests.pop(request_id, None)
            cached = self._requests.get(request_id)
            loaded.append(
                Loaded(
                    request=cached[1] if cached is not None else None,
                    ended=ended is not None,
                    expected=int(expected) if expected is not None else None,
                    totals=Totals.model_validate_json(totals) if totals is not None else None,
                )
            )
        return loaded

    async def _refresh(self, request_ids: Sequence[str]) -> None:
        if not request_ids:
            return
        now = time.monotonic()
        # one `_id $in` read for all of them (the batched key reads), not one find each
        fresh = await asyncio.gather(*(get_by_id(BriefingRequest, PydanticObjectId(rid)) for rid in request_ids))
        for request_id, request in zip(request_ids, fresh, strict=True):
            if request is not None and request.status == RequestStatus.ACTIVE:
                self._requests[request_id] = (now, request)
            else:
                self._requests.pop(request_id, None)

    def _refresh_later(self, request_ids: Sequence[str]) -> None:
        """Re-read cached requests off the tick's path: a store read that takes a moment under load
        must not make the tick late, and what it can change is only a missed end (which Redis
        announces anyway), caught by the next tick."""
        self._background.run(request_ids, self._refresh, what="re-reading cached requests")

    def _age(self, request_id: str, *, now: float) -> float:
        cached = self._requests.get(request_id)
        return now - cached[0] if cached is not None else float("inf")

    async def _insert_many(self, briefings: list[Briefing]) -> list[Briefing | None]:
        duplicates: set[int] = set()
        try:
            await retry_transient(lambda: Briefing.insert_many(briefings, ordered=False), what="store briefings")
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                if failure.get("code") != _DUPLICATE_KEY:
                    raise
                duplicates.add(int(failure["index"]))
        results: list[Briefing | None] = list(briefings)
        for index in duplicates:  # an arq retry: the first run stored it
            results[index] = await Briefing.get(briefings[index].id)
        return results

    async def _count_many(self, counts: list[tuple[PydanticObjectId, dict[str, float]]]) -> Sequence[None]:
        updates = [UpdateOne({"_id": request_id}, {"$inc": increments}) for request_id, increments in counts]
        await BriefingRequest.get_pymongo_collection().bulk_write(updates, ordered=False)
        return [None] * len(counts)

    async def _finish_many(self, finishes: list[Finish]) -> Sequence[None]:
        async with self._arq.pipeline(transaction=False) as pipe:
            for finish in finishes:
                if finish.stored is not None:
                    event = BriefingAnnounced.of(finish.stored)
                    queue_announce(pipe=pipe, request_id=str(finish.request.id), event=event)
                if finish.totals is not None:
                    queue_totals(pipe=pipe, request_id=str(finish.request.id), totals=finish.totals)
            await enqueue_ticks(arq=self._arq, ticks=[(f.request, f.next_seq) for f in finishes], pipe=pipe)
            await pipe.execute()
        return [None] * len(finishes)
