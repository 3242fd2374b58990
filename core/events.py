"""The live event transport: Redis Streams, and the per-process hub that fans them out.

The transport moves opaque JSON payloads; what they mean (and their types) belongs to the domain
(`briefings.events`), which hands the hub its parser, so that each event is parsed once per process
however many local subscribers receive it.

One stream per request (`briefing:events:<request_id>`). Producers write the event to MongoDB
first and announce it here second, so a subscriber that replays from MongoDB after registering
with the hub can never miss an event: anything announced after registration reaches its queue,
anything announced before is already stored. Streams (unlike pub/sub) keep entries, so a hub
that reconnects after a Redis hiccup resumes from the last id it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger("briefing.events")

STREAM_MAXLEN = 1000
STREAM_TTL_SECONDS = 7 * 24 * 3600
_BLOCK_MS = 5000


def stream_key(request_id: str) -> str:
    """The Redis stream carrying one request's events."""
    return f"briefing:events:{request_id}"


E = TypeVar("E")


async def publish(*, redis: Redis, request_id: str, payload: str) -> None:
    """Announce an event (serialised by the domain) on the request's stream."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_publish(pipe=pipe, request_id=request_id, payload=payload)
        await pipe.execute()


def queue_publish(*, pipe: Pipeline, request_id: str, payload: str) -> None:
    """Add an announcement to a pipeline (for callers that batch several)."""
    key = stream_key(request_id)
    pipe.xadd(key, {"event": payload}, maxlen=STREAM_MAXLEN, approximate=True)
    pipe.expire(key, STREAM_TTL_SECONDS)


class Overflow(Exception):
    """The subscriber did not keep up and its bounded queue filled."""


@dataclass(eq=False)
class Subscription(Generic[E]):
    """One subscriber's bounded inbox. The hub's `resync` event asks it to re-read the store.

    A deque and one waiter future rather than an `asyncio.Queue` under `asyncio.timeout`: every
    live event passes through every subscriber's inbox, so what it costs to put and to get is paid a
    thousand times per event with a thousand subscribers (and an idle inbox is smaller)."""

    request_id: str
    size: int
    events: deque[E] = field(default_factory=deque)
    overflowed: bool = False
    _waiter: asyncio.Future[None] | None = None

    def put(self, event: E) -> None:
        """Add an event (the hub's side); an inbox already holding `size` events overflows instead."""
        if self.overflowed:
            return
        if len(self.events) >= self.size:
            self.overflowed = True
            self.events.clear()
        else:
            self.events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self, *, wait: float) -> E | None:
        """The next event, None after `wait` seconds of silence; raises Overflow once it fell behind."""
        if self.overflowed:
            raise Overflow
        if not self.events:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            timer = loop.call_later(wait, _wake, waiter)
            self._waiter = waiter
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if self.overflowed:
                raise Overflow
        return self.events.popleft() if self.events else None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass(eq=False)
class _Tail(Generic[E]):
    """One reader task per request stream per process, shared by all local subscribers."""

    request_id: str
    last_id: str
    subscribers: set[Subscription[E]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class EventHub(Generic[E]):
    """Tails request streams on behalf of the subscriptions of this process.

    `parse` turns a payload into an event once per process (a payload it rejects with ValueError
    is skipped); `resync` is the event put in an inbox when events may have been lost.
    """

    def __init__(self, *, redis_url: str, queue_size: int, parse: Callable[[str], E], resync: E) -> None:
        # Blocking XREADs hold a connection each; they get a client of their own so that a slow
        # tail never starves resolvers of connections.
        self._redis: Redis = Redis.from_url(redis_url, decode_responses=True)
        self._queue_size = queue_size
        self._parse = parse
        self._resync = resync
        self._tails: dict[str, _Tail[E]] = {}

    async def subscribe(self, request_id: str) -> Subscription[E]:
        """Register a subscriber; events announced from now on reach its queue."""
        tail = self._tails.get(request_id)
        if tail is None:
            last_id = await self._current_id(request_id)
            # Subscribers of a request arriving together (sockets reconnecting after an API restart)
            # each found no tail before the read above: the first to come back starts it, the others
            # join it. Each starting its own left all but the last tail unreachable by `unsubscribe`,
            # reading the stream for ever for subscribers long gone.
            tail = self._tails.get(request_id)
            if tail is None:
                tail = _Tail[E](request_id=request_id, last_id=last_id)
                self._tails[request_id] = tail
                tail.task = asyncio.create_task(self._run(tail), name=f"tail:{request_id}")
        sub = Subscription[E](request_id=request_id, size=self._queue_size)
        tail.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription[E]) -> None:
        """Forget a subscriber; the tail stops when its last subscriber leaves."""
        tail = self._tails.get(sub.request_id)
        if tail is None:
            return
        tail.subscribers.discard(sub)
        if not tail.subscribers:
            del self._tails[sub.request_id]
            if tail.task is not None:
                tail.task.cancel()

    async def aclose(self) -> None:
        """Stop every tail and close the connection pool."""
        tasks = [t.task for t in self._tails.values() if t.task is not None]
        self._tails.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._redis.aclose()

    async def _current_id(self, request_id: str) -> str:
        try:
            newest = await self._redis.xrevrange(stream_key(request_id), count=1)
        except RedisError:
            return "0-0"
        return str(newest[0][0]) if newest else "0-0"

    async def _run(self, tail: _Tail[E]) -> None:
        key = stream_key(tail.request_id)
        failures = 0
        while True:
            try:
                batches = await self._redis.xread({key: tail.last_id}, block=_BLOCK_MS, count=100)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                failures += 1
                log.warning("tail %s lost Redis (%s); retrying", tail.request_id, error)
                self._fan_out(tail, self._resync)
                await asyncio.sleep(min(2.0, 0.1 * 2**failures))
                continue
            if failures:
                failures = 0
                self._fan_out(tail, self._resync)  # anything announced while we were away is in the store
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    tail.last_id = str(entry_id)
                    try:
                        event = self._parse(fields["event"])
                    except (KeyError, ValueError) as error:
                        log.warning("skipping an unreadable event on %s: %s", key, error)
                        continue
                    self._fan_out(tail, event)

    def _fan_out(self, tail: _Tail[E], event: E) -> None:
        for sub in list(tail.subscribers):
            sub.put(event)  # an inbox that overflows wakes its consumer, which then raises Overflow
