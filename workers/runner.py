"""The arq worker: builds the heavy objects once, runs ticks, and keeps the reconciler going."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from arq import func
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from briefings.schedule import (
    TICK_FUNCTION,
    WAKE_CHANNEL,
    WORKER_HEALTH_INTERVAL_SECONDS,
    WORKER_HEALTH_TTL_SECONDS,
)
from briefings.tick import TickEngine
from briefings.tickstore import TickStore
from briefings.watch import WatchReader
from core import logs, metrics
from core.runtime import tune_garbage_collector
from core.settings import Settings
from core.time import utcnow
from documents import connect_documents
from inference.batching import ObservationBatcher
from inference.cameras import load_camera_registry
from inference.service import InferenceService
from language.llm import build_llm_client
from workers.alerting import WatchAlerts
from workers.reconcile import reconcile_forever
from workers.watcher import CameraWatchers
from workers.webhooks import WEBHOOK_JOB

log = logging.getLogger("briefing.worker")
_CLAIM_SCRIPT = """
local queue, prefix, timeout_ms, now_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local claimed = {}
for i = 5, #ARGV do
  local job_id = ARGV[i]
  if redis.call('EXISTS', prefix .. job_id) == 0 then
    local score = redis.call('ZSCORE', queue, job_id)
    if score and tonumber(score) <= now_ms then
      redis.call('PSETEX', prefix .. job_id, timeout_ms, '1')
      claimed[#claimed + 1] = job_id
      claimed[#claimed + 1] = score
    end
  end
end
return claimed
"""
_REDIS_RETRY_SECONDS = 1.0


class ResilientWorker(Worker):
    """arq's worker, riding out Redis outages and sleeping until the next job is due.

    arq 0.28's poll loop has no error handling: one ConnectionError during a Redis restart ends
    the worker. MongoDB is the source of truth, so the right move is to keep polling until Redis
    is back; the reconciler then restores any tick the outage lost.

    arq polls its queue every `poll_delay`; at the 5 ms that punctual ticks need, an idle worker
    burns CPU for nothing. Instead, after each poll this worker reads the earliest score still to
    come and sleeps until then, at most `idle_check` seconds, waking early when an enqueuer
    announces a sooner job on `WAKE_CHANNEL` or when one of its own jobs frees a slot.
    """

    def __init__(self, *, idle_check: float, on_redis_lost: Callable[[], None] | None = None, **options: Any) -> None:
        super().__init__(**options, poll_delay=0)
        self._idle_check = idle_check
        self._on_redis_lost = on_redis_lost
        self._wake = asyncio.Event()
        self._wake_at = 0.0  # Unix time the current sleep ends
        self._listener: asyncio.Task[None] | None = None

    async def _poll_iteration(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="wake-listener")
        try:
            polled_at = time.time()  # arq's poll reads the jobs due by a moment no earlier than this
            await super()._poll_iteration()
            await self._sleep(polled_at=polled_at)
        except (RedisError, OSError) as error:
            if self._on_redis_lost is not None:
                self._on_redis_lost()
            log.warning("Redis unavailable (%s); polling again in %.0f s", error, _REDIS_RETRY_SECONDS)
            await asyncio.sleep(_REDIS_RETRY_SECONDS)

    async def _sleep(self, *, polled_at: float) -> None:
        now = time.time()
        if self.job_counter >= self.max_jobs:
            delay = self._idle_check  # full: a finishing job wakes us (_release_sem_dec_counter_on_complete)
        else:
            # The earliest job the poll did not see: due after the poll's moment, not after now. A job
            # that fell due between the two (the poll's own round trips) was otherwise slept past, until
            # the next job: the tick that happens to follow a gap in the schedule started that gap late.
            upcoming = await self.pool.zrangebyscore(
                self.queue_name, min=f"({int(polled_at * 1000)}", max="+inf", start=0, num=1, withscores=True
            )
            delay = min(self._idle_check, upcoming[0][1] / 1000 - now) if upcoming else self._idle_check
        if delay <= 0:
            return
        self._wake.clear()
        self._wake_at = now + delay
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Claim every due job in one Redis call (arq claims them one by one, four round trips
        each, so the last of a hundred ticks due together started late), then start them."""
        room = self.max_jobs - self.job_counter
        if room <= 0 or not job_ids:
            return
        ids = [job_id.decode() for job_id in job_ids[:room]]
        timeout_ms = int(self.in_progress_timeout_s * 1000)
        claimed = await self.pool.eval(  # type: ignore[misc]
            _CLAIM_SCRIPT, 0, self.queue_name, in_progress_key_prefix, str(timeout_ms), str(timestamp_ms()), *ids
        )
        for job_id, score in zip(claimed[::2], claimed[1::2], strict=True):
            await self.sem.acquire()
            self.job_counter += 1
            name = job_id.decode() if isinstance(job_id, bytes) else str(job_id)
            task = self.loop.create_task(self.run_job(name, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[name] = task

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        if self.job_counter == self.max_jobs - 1:
            self._wake.set()  # a slot freed while full: due jobs may be waiting

    async def _listen(self) -> None:
        """Wake the sleeping poll loop when a job due before its wake-up time is enqueued."""
        while True:
            pubsub = self.pool.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(WAKE_CHANNEL)
                async for message in pubsub.listen():
                    if float(message["data"]) / 1000 < self._wake_at:
                        self._wake.set()
                await asyncio.sleep(_REDIS_RETRY_SECONDS)  # the subscription ended without an error
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ValueError) as error:
                log.debug("wake listener: %s", error)
                self._wake.set()  # poll now rather than risk sleeping past a job
                await asyncio.sleep(_REDIS_RETRY_SECONDS)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def record_health(self) -> None:
        """arq's heartbeat, kept for WORKER_HEALTH_TTL_SECONDS: arq's own expiry (one second past the
        interval) lapses whenever a poll comes late, and `/readyz` would report the worker gone."""
        last = self._last_health_check
        await super().record_health()
        if self._last_health_check != last:
            await self.pool.pexpire(self.health_check_key, int(WORKER_HEALTH_TTL_SECONDS * 1000))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await super().close()


async def tick(ctx: dict[str, Any], request_id: str, seq: int) -> str:
    """arq job: run one tick (see briefings.tick)."""
    engine: TickEngine = ctx["engine"]
    logs.bind(briefing_request_id=request_id)
    outcome = "error"
    try:
        outcome = await engine.run(
            request_id=request_id, seq=seq, started=utcnow(), first_try=ctx.get("job_try", 1) == 1
        )
    finally:
        metrics.TICKS.labels(outcome=outcome).inc()
    return outcome


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    """An arq Worker configured from settings (tests and `briefing worker` both use this)."""
    stores: list[TickStore] = []  # built at start-up; forgotten when Redis is lost

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["mongo"] = await connect_documents(mongodb_uri=settings.mongodb_uri, slow_query_ms=settings.slow_query_ms)
        registry = load_camera_registry(settings)
        service = InferenceService(settings, registry)
        ctx["inference"] = service
        llm = build_llm_client(settings, ctx["redis"])
        ctx["llm"] = llm
        store = TickStore(
            arq=ctx["redis"], window=settings.tick_batch_window_seconds, ttl=settings.request_cache_seconds
        )
        stores.append(store)
        ctx["engine"] = TickEngine(
            settings=settings,
            arq=ctx["redis"],
            cameras=registry,
            batcher=ObservationBatcher(
                service=service,
                window=settings.batch_window_seconds,
                reuse=settings.observation_reuse_seconds,
            ),
            store=store,
            llm=llm,
        )
        if settings.watch_fps > 0:
            alerts = WatchAlerts(arq=ctx["redis"])
            ctx["alerts"] = alerts
            watchers = CameraWatchers(
                redis=ctx["redis"],
                service=service,
                cameras=registry,
                fps=settings.watch_fps,
                max_cameras=settings.watch_max_cameras,
                on_frame=alerts.on_frame,
            )
            ctx["watchers"] = watchers
            ctx["engine"].watch = WatchReader(redis=ctx["redis"], fps=settings.watch_fps)
            ctx["engine"].want_watch = lambda camera_id, until: watchers.want(camera_id, until=until)
            watchers.start()
        ctx["reconciler"] = asyncio.create_task(
            reconcile_forever(arq=ctx["redis"], every=settings.reconcile_interval_seconds)
        )
        tune_garbage_collector()  # start-up's heap (PyTorch, the detector) is never scanned again

    async def shutdown(ctx: dict[str, Any]) -> None:
        reconciler = ctx.get("reconciler")
        if reconciler is not None:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
        if ctx.get("watchers") is not None:
            await ctx["watchers"].aclose()
            await ctx["alerts"].aclose()
        if ctx.get("llm") is not None:
            await ctx["llm"].aclose()
        if ctx.get("inference") is not None:
            await ctx["inference"].aclose()
        if ctx.get("mongo") is not None:
            await ctx["mongo"].close()

    options: dict[str, Any] = {
        "functions": [func(tick, name=TICK_FUNCTION, timeout=settings.tick_timeout_seconds, max_tries=5), WEBHOOK_JOB],
        "redis_settings": _redis_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "keep_result": 0,
        "handle_signals": True,
        "health_check_interval": WORKER_HEALTH_INTERVAL_SECONDS,
    }
    options.update(overrides)

    def redis_lost() -> None:
        for store in stores:
            store.forget()

    return ResilientWorker(idle_check=settings.worker_idle_check_seconds, on_redis_lost=redis_lost, **options)


def _redis_settings(url: str) -> RedisSettings:
    """Connection settings that retry briefly, so a Redis blip does not fail a running tick."""
    redis_settings = RedisSettings.from_dsn(url)
    redis_settings.retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), 8)
    redis_settings.retry_on_error = [RedisConnectionError, OSError]
    return redis_settings


def run_worker(settings: Settings) -> None:
    """Run a worker until SIGINT/SIGTERM, with its metrics on `BRIEFING_HOST:BRIEFING_WORKER_METRICS_PORT`."""
    if settings.metrics:
        metrics.serve(host=settings.host, port=settings.worker_metrics_port)
    worker = build_worker(settings)
    worker.run()
