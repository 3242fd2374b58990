"""The arq worker: builds the heavy objects once, runs ticks, and keeps the reconciler going."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq import func
from arq.connections import RedisSettings
from arq.worker import Worker

from core.settings import Settings
from core.time import utcnow
from documents import connect_documents
from inference.cameras import load_camera_registry
from inference.llm import build_llm_client
from inference.service import InferenceService
from workers.batching import ObservationBatcher
from workers.reconcile import reconcile_forever
from workers.scheduling import TICK_FUNCTION
from workers.tick import TickEngine


async def tick(ctx: dict[str, Any], request_id: str, seq: int) -> str:
    """arq job: run one tick (see workers.tick)."""
    engine: TickEngine = ctx["engine"]
    return await engine.run(request_id=request_id, seq=seq, started=utcnow())


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
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "poll_delay": settings.worker_poll_seconds,
        "max_jobs": settings.worker_max_jobs,
        "keep_result": 0,
        "handle_signals": True,
    }
    options.update(overrides)
    return Worker(**options)


def run_worker(settings: Settings) -> None:
    """Run a worker until SIGINT/SIGTERM."""
    worker = build_worker(settings)
    worker.run()
