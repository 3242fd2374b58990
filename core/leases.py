"""Leases that bound how many subscriptions a user holds open across every API process."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.time import utcnow

LEASE_TTL_SECONDS = 15
"""A lease lapses this long after its process last refreshed it (every third of it): after an API
process is killed, its users' subscriptions stop counting within 15 s, so a reconnect storm is not
refused with RATE_LIMITED for minutes. One pipelined ZADD per held lease every 5 s per process."""


class LeaseLimitReached(Exception):
    """The user already holds as many leases as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} leases")
        self.limit = limit


class SubscriptionLeases:
    """Open subscriptions per user across every API process: a Redis sorted set of leases per user.

    Each process refreshes all of its own leases in one pipeline every third of the lease time,
    so the leases of a process that died simply expire.
    """

    def __init__(self, *, redis: Redis, limit: int) -> None:
        self._redis = redis
        self._limit = limit
        self._held: dict[str, set[str]] = {}
        self._refresher: asyncio.Task[None] | None = None

    async def acquire(self, *, user_id: str) -> str:
        """Take a lease for the user; raises LeaseLimitReached when they already hold `limit`."""
        key, member, now = f"briefing:subs:{user_id}", uuid.uuid4().hex, utcnow().timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now - LEASE_TTL_SECONDS)
            pipe.zadd(key, {member: now})
            pipe.zcard(key)
            pipe.expire(key, LEASE_TTL_SECONDS)
            _, _, open_count, _ = await pipe.execute()
        if int(open_count) > self._limit:
            await self._redis.zrem(key, member)
            raise LeaseLimitReached(self._limit)
        self._held.setdefault(key, set()).add(member)
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_forever())
        return member

    async def release(self, *, user_id: str, member: str) -> None:
        """Give a lease back."""
        key = f"briefing:subs:{user_id}"
        members = self._held.get(key)
        if members is not None:
            members.discard(member)
            if not members:
                del self._held[key]
        with contextlib.suppress(RedisError, OSError):
            await self._redis.zrem(key, member)

    async def _refresh_forever(self) -> None:
        while self._held:
            await asyncio.sleep(LEASE_TTL_SECONDS / 3)
            now = utcnow().timestamp()
            with contextlib.suppress(RedisError, OSError):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, members in list(self._held.items()):
                        pipe.zadd(key, dict.fromkeys(members, now))
                        pipe.expire(key, LEASE_TTL_SECONDS)
                    await pipe.execute()

    async def aclose(self) -> None:
        """Stop refreshing (the process is going away; its leases expire on their own)."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
