"""The arq worker: builds the heavy objects once, runs ticks, and keeps the reconciler going."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq import func
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from briefings.schedule import TICK_FUNCTION
from briefings.tick import TickEngine
from core.settings import Settings
from core.time import utcnow
from documents import connect_documents
from inference.batching import ObservationBatcher
from inference.cameras import load_camera_registry
from inference.service import InferenceService
from language.llm import build_llm_client
from workers.reconcile import reconcile_forever

log = logging.getLogger("briefing.worker")
_REDIS_RETRY_SECONDS = 1.0


class ResilientWorker(Worker):
    """arq's worker, riding out Redis outages instead of exiting on the first connection error.

    arq 0.28's poll loop has no error handling: one ConnectionError during a Redis restart ends
    the worker. MongoDB is the source of truth, so the right move is to keep polling until Redis
    is back; the reconciler then restores any tick the outage lost.
    """

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as error:
            log.warning("Redis unavailable (%s); polling again in %.0f s", error, _REDIS_RETRY_SECONDS)
            await asyncio.sleep(_REDIS_RETRY_SECONDS)


async def tick(ctx: dict[str, Any], request_id: str, seq: int) -> str:
    """arq job: run one tick (see briefings.tick)."""
    engine: TickEngine = ctx["engine"]
    return await engine.run(request_id=request_id, seq=seq, started=utcnow(), first_try=ctx.get("job_try", 1) == 1)


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    """An arq Worker configured from settings (tests and `briefing worker` both use this)."""

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["mongo"] = await connect_documents(mongodb_uri=settings.mongodb_uri)
        registry = load_camera_registry(settings)
        service = InferenceService(settings, registry)
        ctx["inference"] = service
        llm = build_llm_client(settings, ctx["redis"])
        ctx["llm"] = llm
        ctx["engine"] = TickEngine(
            settings=settings,
            arq=ctx["redis"],
            cameras=registry,
            batcher=ObservationBatcher(
                service=service,
                window=settings.batch_window_seconds,
                reuse=settings.observation_reuse_seconds,
            ),
            llm=llm,
        )
        ctx["reconciler"] = asyncio.create_task(
            reconcile_forever(arq=ctx["redis"], every=settings.reconcile_interval_seconds)
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        reconciler = ctx.get("reconciler")
        if reconciler is not None:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
        if ctx.get("llm") is not None:
            await ctx["llm"].aclose()
        if ctx.get("inference") is not None:
            await ctx["inference"].aclose()
        if ctx.get("mongo") is not None:
            await ctx["mongo"].close()

    options: dict[str, Any] = {
        "functions": [func(tick, name=TICK_FUNCTION, timeout=settings.tick_timeout_seconds, max_tries=5)],
        "redis_settings": _redis_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "poll_delay": settings.worker_poll_seconds,
        "max_jobs": settings.worker_max_jobs,
        "keep_result": 0,
        "handle_signals": True,
    }
    options.update(overrides)
    return ResilientWorker(**options)


def _redis_settings(url: str) -> RedisSettings:
    """Connection settings that retry briefly, so a Redis blip does not fail a running tick."""
    redis_settings = RedisSettings.from_dsn(url)
    redis_settings.retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), 8)
    redis_settings.retry_on_error = [RedisConnectionError, OSError]
    return redis_settings


def run_worker(settings: Settings) -> None:
    """Run a worker until SIGINT/SIGTERM."""
    worker = build_worker(settings)
    worker.run()
