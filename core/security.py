"""Password hashing (argon2id, off the event loop) and opaque bearer tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
