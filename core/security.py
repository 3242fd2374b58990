"""Password hashing (argon2id, off the event loop), opaque bearer tokens, and their revocation reaching
the sockets they opened, on every API process."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.time import as_utc

TOKEN_BYTES = 32  # 256 random bits


class PasswordService:
    """Hashes and verifies passwords in worker threads, at most `concurrency` at a time.

    Argon2id costs tens of milliseconds of CPU and a lot of memory by design, so it never runs on
    the event loop, and the bound keeps a burst of logins from starving everything else.
    """

    def __init__(self, *, concurrency: int) -> None:
        self._hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of a password."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, *, password_hash: str, password: str) -> bool:
        """Whether the password matches; malformed hashes count as a mismatch."""
        async with self._slots:
            return await asyncio.to_thread(self._verify_sync, password_hash, password)

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, so a refusal takes as long whatever its cause."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_hex(16))
        await self.verify(password_hash=self._dummy_hash, password=password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    """A fresh opaque bearer token (URL-safe, 256 bits of entropy)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What is stored for a token: its SHA-256, so a database leak reveals no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- revoked tokens reach open sockets -------------------------------------------------------------

REVOCATION_STREAM = "briefing:revocations"
"""The Redis stream on which every API process announces the digests of tokens it revoked."""
REVOCATION_STREAM_MAXLEN = 10_000
_RECENT_SECONDS = 120.0  # revocations remembered for sockets that register just after one (a race)
_READ_BATCH = 1000

log = logging.getLogger("briefing.security")

OnRevoked = Callable[[], Coroutine[Any, Any, None]]


async def announce_revocation(*, redis: Redis, digests: Iterable[str]) -> None:
    """Tell every API process that these tokens no longer sign anyone in (their sessions are gone).

    Best effort: when Redis is unreachable the sessions are still deleted (new requests fail), but
    sockets already open with those tokens stay open until their token expires; that is logged."""
    names = list(digests)
    if not names:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for digest in names:
                pipe.xadd(REVOCATION_STREAM, {"digest": digest}, maxlen=REVOCATION_STREAM_MAXLEN, approximate=True)
            await pipe.execute()
    except (RedisError, OSError) as error:
        log.warning("could not announce %d revoked token(s) to open sockets: %s", len(names), error)


@dataclass(eq=False)
class _Watch:
    digest: str
    on_revoked: OnRevoked
    timer: asyncio.TimerHandle | None = None
    fired: bool = False


class TokenRevocations:
    """Closes what a token opened (its WebSocket connections) once the token is revoked or expires.

    Each socket signed in with a token registers a callback here (`watch`). Every `poll_seconds` the
    watcher reads the new entries of the revocation stream, which every API process writes to through
    the shared Redis (`announce_revocation`), and calls the callbacks of the tokens named there; a timer
    per socket calls its callback when the token's absolute expiry passes. One Redis read per period,
    however many sockets are open. Stream ids come from the Redis server, so the processes' clocks
    need not agree.
    """

    def __init__(self, *, poll_seconds: float) -> None:
        self._poll_seconds = poll_seconds
        self._watches: dict[str, set[_Watch]] = {}
        self._recent: dict[str, float] = {}  # digest -> monotonic time it was seen revoked
        self._firing: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._cursor: str | None = None

    def start(self, redis: Redis) -> None:
        """Begin following the revocation stream (call once, in the process's event loop)."""
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll_forever(redis))

    def watch(self, *, digest: str, expires_at: datetime | None, on_revoked: OnRevoked) -> Callable[[], None]:
        """Call `on_revoked` (once) when the token is revoked or expires; returns the function that stops watching."""
        entry = _Watch(digest=digest, on_revoked=on_revoked)
        self._watches.setdefault(digest, set()).add(entry)
        if digest in self._recent:
            self._fire(entry)
        elif expires_at is not None:
            delay = max(0.0, (as_utc(expires_at) - datetime.now(UTC)).total_seconds())
            entry.timer = asyncio.get_running_loop().call_later(delay, self._fire, entry)
        return lambda: self._forget(entry)

    @property
    def watched(self) -> int:
        """How many sockets are watched right now."""
        return sum(len(entries) for entries in self._watches.values())

    def _forget(self, entry: _Watch) -> None:
        if entry.timer is not None:
            entry.timer.cancel()
        entries = self._watches.get(entry.digest)
        if entries is not None:
            entries.discard(entry)
            if not entries:
                del self._watches[entry.digest]

    def _fire(self, entry: _Watch) -> None:
        if entry.fired:
            return
        entry.fired = True
        self._forget(entry)
        task = asyncio.get_running_loop().create_task(entry.on_revoked())
        self._firing.add(task)
        task.add_done_callback(self._firing.discard)

    def revoked(self, digests: Iterable[str]) -> None:
        """Act on revocations read from the stream (or known otherwise)."""
        now = time.monotonic()
        for digest in digests:
            self._recent[digest] = now
            for entry in list(self._watches.get(digest, ())):
                self._fire(entry)
        horizon = now - _RECENT_SECONDS
        if self._recent and next(iter(self._recent.values())) < horizon:
            self._recent = {digest: seen for digest, seen in self._recent.items() if seen >= horizon}

    async def _poll_forever(self, redis: Redis) -> None:
        while True:
            try:
                await self._poll(redis)
            except (RedisError, OSError) as error:  # Redis is down: the sessions are, still, checked per request
                log.debug("revocation stream unreadable: %s", error)
            await asyncio.sleep(self._poll_seconds)

    async def _poll(self, redis: Redis) -> None:
        if self._cursor is None:
            seconds, microseconds = await redis.time()
            self._cursor = f"{int(seconds) * 1000 + int(microseconds) // 1000}-0"
        while True:
            answer = await redis.xread({REVOCATION_STREAM: self._cursor}, count=_READ_BATCH)
            entries = answer[0][1] if answer else []
            if not entries:
                return
            self._cursor = _text(entries[-1][0])
            self.revoked(_digest(fields) for _, fields in entries)
            if len(entries) < _READ_BATCH:
                return

    async def aclose(self) -> None:
        """Stop following the stream and cancel the expiry timers (the process is going away)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for entries in self._watches.values():
            for entry in entries:
                if entry.timer is not None:
                    entry.timer.cancel()
        self._watches.clear()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _digest(fields: dict[bytes | str, bytes | str]) -> str:
    return _text(fields.get(b"digest") or fields.get("digest") or b"")
