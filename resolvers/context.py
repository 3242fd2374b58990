"""Per-process services and the per-operation context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from core.ratelimit import LoginBackoff
from core.security import PasswordService
from core.settings import Settings
from documents import User


@dataclass
class Services:
    """What is built once per API process and shared by every request."""

    settings: Settings
    redis: Redis
    passwords: PasswordService
    login_backoff: LoginBackoff
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, *, settings: Settings, redis: Redis) -> Services:
        """Build the services from settings and an open Redis client."""
        return cls(
            settings=settings,
            redis=redis,
            passwords=PasswordService(concurrency=settings.hash_concurrency),
            login_backoff=LoginBackoff(
                redis=redis,
                free_failures=settings.login_free_failures,
                max_backoff_seconds=settings.login_max_backoff_seconds,
            ),
        )


@dataclass
class Context:
    """The context of one GraphQL operation (HTTP request or WebSocket connection)."""

    services: Services
    request: Any = None
    response: Any = None
    user: User | None = None
    token_hash: str | None = None
    connection_params: dict[str, object] | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
