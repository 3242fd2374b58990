"""Failed-login backoff kept in Redis, so every API process sees the same counts."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

_PREFIX = "login:failures:"
_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class LoginBackoff:
    """After `free_failures` wrong passwords the username waits 1 s, then 2 s, 4 s … up to a cap."""

    redis: Redis
    free_failures: int
    max_backoff_seconds: int

    async def retry_after(self, *, username: str) -> int:
        """Seconds the username must still wait before another attempt (0 when it may try)."""
        ttl = await self.redis.pttl(f"{_PREFIX}{username}:lock")
        return 0 if ttl is None or ttl <= 0 else max(1, (int(ttl) + 999) // 1000)

    async def record_failure(self, *, username: str) -> None:
        """Count one failure and, past the free ones, lock the username for the backoff period."""
        key = f"{_PREFIX}{username}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, _WINDOW_SECONDS)
            failures, _ = await pipe.execute()
        over = int(failures) - self.free_failures
        if over >= 0:
            delay = min(self.max_backoff_seconds, 2**over)
            await self.redis.set(f"{key}:lock", "1", ex=delay)

    async def clear(self, *, username: str) -> None:
        """Forget failures after a successful login."""
        await self.redis.delete(f"{_PREFIX}{username}", f"{_PREFIX}{username}:lock")
