"""Per-process services and the per-operation context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from strawberry.dataloader import DataLoader

from briefings.events import Inbound, event_hub
from core.events import EventHub
from core.leases import SubscriptionLeases
from core.openings import Openings
from core.ratelimit import LoginBackoff
from core.security import PasswordService
from core.settings import Settings
from documents import User
from inference.cameras import CameraRegistry
from language.llm import LLMClient, build_llm_client
from resolvers.loaders import BriefingTally, tally_briefings_many

STREAM_OPENINGS_AT_ONCE = 16
"""Streams of this process opening (reading their request, registering, replaying) at once. When a
thousand sockets reconnect together, the rest wait their turn, so that the event loop keeps up with
handshakes and acknowledgements (cheap) rather than queueing them behind a thousand replays."""

HANDSHAKES_FIRST_MAX_WAIT_SECONDS = 2.0
"""How long a new subscription waits for the process's pending WebSocket handshakes (`core.openings`)."""


@dataclass
class Services:
    """What is built once per API process and shared by every request."""

    settings: Settings
    redis: ArqRedis
    hub: EventHub[Inbound]
    cameras: CameraRegistry
    passwords: PasswordService
    login_backoff: LoginBackoff
    leases: SubscriptionLeases
    llm: LLMClient | None
    openings: Openings = field(
        default_factory=lambda: Openings(at_once=STREAM_OPENINGS_AT_ONCE, max_wait=HANDSHAKES_FIRST_MAX_WAIT_SECONDS)
    )

    @classmethod
    def build(cls, *, settings: Settings, redis: ArqRedis, cameras: CameraRegistry) -> Services:
        """Build the services from settings, an open Redis (arq) client and the camera registry."""
        return cls(
            settings=settings,
            redis=redis,
            hub=event_hub(redis_url=settings.redis_url, queue_size=settings.subscriber_queue_size),
            cameras=cameras,
            passwords=PasswordService(concurrency=settings.hash_concurrency),
            login_backoff=LoginBackoff(
                redis=redis,
                free_failures=settings.login_free_failures,
                max_backoff_seconds=settings.login_max_backoff_seconds,
            ),
            leases=SubscriptionLeases(redis=redis, limit=settings.max_subscriptions_per_user),
            llm=build_llm_client(settings, redis),
        )

    async def aclose(self) -> None:
        """Close what the services opened (event tails, LLM client, Redis)."""
        await self.hub.aclose()
        await self.leases.aclose()
        if self.llm is not None:
            await self.llm.aclose()
        await self.redis.aclose()


@dataclass
class Context:
    """The context of one GraphQL operation (HTTP request or WebSocket connection)."""

    services: Services
    request: Any = None
    response: Any = None
    user: User | None = None
    token_hash: str | None = None
    connection_params: dict[str, object] | None = None
    briefing_tallies: DataLoader[str, BriefingTally] = field(
        default_factory=lambda: DataLoader(load_fn=tally_briefings_many)
    )
