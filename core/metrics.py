"""Every Prometheus metric of the service, defined once, in each process's default registry.

Any layer may import this module and count with one line at the site (`metrics.TICKS.labels(…).inc()`).
Each process exposes its own figures: the API at `GET /metrics` (`server.observability`), a worker on
its own port (:func:`serve`, `BRIEFING_WORKER_METRICS_PORT`). Prometheus sums them across processes, so
no multiprocess mode is needed. A metric a process never touches reads 0 there (an API process runs no
ticks; a worker opens no subscriptions). Labels take a few fixed values each and are listed up front, so
every series is exported from start-up, at 0, rather than appearing at its first event.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics, start_http_server
from prometheus_client.exposition import choose_encoder

__all__ = [
    "DELIVERED",
    "DELIVERIES",
    "DETECTOR_SECONDS",
    "LLM_CALLS",
    "LOGIN_FAILURES",
    "OPEN_SUBSCRIPTIONS",
    "SLOW_CONSUMER_CLOSES",
    "TICKS",
    "TICKS_SKIPPED",
    "TICK_LATENESS",
    "counts_llm_calls",
    "exposition",
    "serve",
]

log = logging.getLogger("briefing.metrics")
disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series beside each counter
P = ParamSpec("P")
T = TypeVar("T")

TICK_OUTCOMES = ("stored", "inactive", "expired", "stale", "error")
LLM_PURPOSES = ("caption", "summary")
LLM_RESULTS = ("success", "budget", "timeout", "rate_limited", "server_error", "error", "empty")
DELIVERY_KINDS = ("started", "briefing", "alert", "ended")
LOGIN_FAILURE_REASONS = ("wrong_password", "throttled")

# --- workers: ticks, inference, captions ------------------------------------------------------
TICKS = Counter(
    "briefing_ticks",
    "Ticks run by this worker, by outcome (what TickEngine.run returned; error: it raised)",
    ["outcome"],
)
TICK_LATENESS = Histogram(
    "briefing_tick_lateness_seconds",
    "When a running tick started, minus its due time startsAt + (k-1)·interval",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
TICKS_SKIPPED = Counter("briefing_ticks_skipped", "Ticks skipped because their tick fell over one interval behind")
DETECTOR_SECONDS = Histogram(
    "briefing_detector_seconds",
    "Duration of one detect() call (one batch of frames: forward pass, decoding, NMS), by detector",
    ["detector"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LLM_CALLS = Counter(
    "briefing_llm_calls",
    "LLM chat calls by purpose and result (success, or the LLMUnavailable reason: budget, timeout …)",
    ["purpose", "result"],
)

# --- API processes: streams and accounts ----------------------------------------------------
OPEN_SUBSCRIPTIONS = Gauge("briefing_open_subscriptions", "Briefing streams open on this API process")
DELIVERIES = Counter(
    "briefing_deliveries", "Events sent to subscribers (GraphQL and legacy streams), by kind", ["kind"]
)
SLOW_CONSUMER_CLOSES = Counter(
    "briefing_slow_consumer_closes", "Subscribers closed (4413) because their queue of events filled"
)
LOGIN_FAILURES = Counter(
    "briefing_login_failures",
    "Refused logins: wrong password, or refused while backing off (throttled)",
    ["reason"],
)
WATCHED_CAMERAS = Gauge("briefing_watched_cameras", "Cameras this worker's watcher follows now")
WATCH_FRAMES = Counter("briefing_watch_frames", "Frames the watcher read, tracked and published")
WATCH_FRAMES_SKIPPED = Counter(
    "briefing_watch_frames_skipped", "Watcher frame slots skipped because a frame took longer than its slot"
)

for _outcome in TICK_OUTCOMES:
    TICKS.labels(outcome=_outcome)
for _purpose in LLM_PURPOSES:
    for _result in LLM_RESULTS:
        LLM_CALLS.labels(purpose=_purpose, result=_result)
DELIVERED = {kind: DELIVERIES.labels(kind=kind) for kind in DELIVERY_KINDS}
"""The delivery counter of each kind, looked up once: it is counted once per subscriber per event."""
for _reason in LOGIN_FAILURE_REASONS:
    LOGIN_FAILURES.labels(reason=_reason)


def counts_llm_calls(chat: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate an LLM call taking `purpose=` by keyword: each call is counted in LLM_CALLS, as `success`
    when it returns, else by the exception's `reason` (`error` when it has none); the exception propagates."""

    @functools.wraps(chat)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> T:
        purpose = str(kwargs.get("purpose", "unknown"))
        try:
            result = await chat(*args, **kwargs)
        except Exception as error:
            LLM_CALLS.labels(purpose=purpose, result=str(getattr(error, "reason", "error"))).inc()
            raise
        LLM_CALLS.labels(purpose=purpose, result="success").inc()
        return result

    return counted


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """This process's metrics and their content type, in the format the `Accept` header asks for
    (Prometheus' text format; OpenMetrics when asked), as prometheus_client's own HTTP server answers."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type


def serve(*, host: str, port: int) -> bool:
    """Serve this process's metrics over HTTP on `host:port` from a daemon thread (a worker's endpoint,
    answering even while its event loop is busy). Port 0 serves nothing. A port already in use is
    logged, not fatal: the worker runs on without its endpoint."""
    if port == 0:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        log.warning(
            "metrics: cannot listen on %s:%d (%s); this worker runs without /metrics "
            "(give each worker on a host its own BRIEFING_WORKER_METRICS_PORT)",
            host,
            port,
            error,
        )
        return False
    log.info("metrics: serving on http://%s:%d/metrics", host, port)
    return True
