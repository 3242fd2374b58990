"""Operations, against real processes: Prometheus metrics on the API and on a worker's own port, JSON
log lines with their context, and `/readyz` telling whether a worker is alive.

A private stack (its own Redis and database, tests/engine/stack.py) runs one API process and one worker,
both logging JSON; the worker serves its metrics on a free port. The LLM is configured but allowed no
calls (`BRIEFING_LLM_CALLS_PER_HOUR=0`), so every caption is a counted `budget` refusal, logged from
inside the tick.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.services import free_port, wait_for_port
from devtools.wsclient import BRIEFING, TransportWS
from tests.engine.conftest import in_seconds
from tests.engine.stack import Proc, Stack, private_stack, take_briefings, wait_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
LOG_FIELDS = {"time", "level", "logger", "message"}


@pytest.fixture(scope="module")
def stack(mongo_url: str) -> Iterator[Stack]:
    with private_stack(
        mongo_url,
        prefix="operations",
        BRIEFING_LOG_FORMAT="json",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",  # never called: the budget refuses first
        BRIEFING_LLM_CALLS_PER_HOUR="0",
    ) as private:
        private.ready(private.spawn_server())
        yield private


@pytest.fixture(scope="module")
def metrics_ports() -> dict[str, int]:
    """The metrics port of each worker this module started, by worker name."""
    return {}


@pytest.fixture
def metrics_port(stack: Stack, metrics_ports: dict[str, int]) -> int:
    """The metrics port of the stack's worker, started (again) if none runs."""
    for worker in stack.alive_workers():
        return metrics_ports[worker.name]
    port = free_port()
    worker = stack.spawn_worker(BRIEFING_WORKER_METRICS_PORT=str(port))
    metrics_ports[worker.name] = port
    stack.ready(worker)
    wait_for_port(port, timeout=30, proc=worker.proc)
    return port


def _scrape(url: str) -> tuple[httpx.Response, Samples]:
    response = httpx.get(url, timeout=10)
    samples: Samples = {}
    if response.status_code == 200:
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response, samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"{name}{labels} is not exported; have {sorted({n for n, _ in samples})}"
    return samples[key]


def _run_briefing(stack: Stack, username: str, *, briefings: int) -> tuple[str, str]:
    """Sign up, start a 1 s briefing, read `briefings` of them, end it; returns (user id, request id)."""
    token = stack.login(username)
    with TransportWS(stack.server.ws_url, token=token) as ws:
        op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
        events = take_briefings(
            ws, op, until=lambda seen: sum(e["__typename"] == "Briefing" for e in seen) >= briefings, timeout=60
        )
        assert events[0]["__typename"] == "BriefingStarted", events
        request_id = str(events[0]["request"]["id"])
        body = stack.end_briefing(token)
        assert "errors" not in body, body
        rest = list(ws.events(op, timeout=30))
        assert rest[-1]["__typename"] == "BriefingEnded", rest
    me = httpx.post(
        stack.server.http_url, json={"query": "{ me { id } }"}, headers={"authorization": f"Bearer {token}"}
    )
    return str(me.json()["data"]["me"]["id"]), request_id


def _json_lines(proc: Proc) -> list[dict[str, Any]]:
    lines = [line for line in proc.output().splitlines() if line.strip()]
    assert lines, f"{proc.name} logged nothing"
    parsed = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"{proc.name} wrote a line that is not JSON: {line!r}") from None
        assert isinstance(entry, dict), line
        assert entry.keys() >= LOG_FIELDS, line
        parsed.append(entry)
    return parsed


def test_given_a_briefing_that_ran_when_metrics_are_scraped_then_the_api_and_the_worker_expose_their_figures(
    stack: Stack, metrics_port: int
) -> None:
    # given a wrong password for a known account, and a briefing that delivered two briefings, then ended
    token = stack.login("metrics-owner")
    wrong = httpx.post(
        stack.server.http_url,
        json={"query": 'mutation { login(username: "metrics-owner", password: "wrong horse") { token } }'},
    )
    assert wrong.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", wrong.text
    with TransportWS(stack.server.ws_url, token=token) as ws:
        op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
        take_briefings(ws, op, until=lambda seen: sum(e["__typename"] == "Briefing" for e in seen) >= 2, timeout=60)
        # when the API is scraped while the stream is open
        response, during = _scrape(f"{stack.server.http_url.removesuffix('/graphql')}/metrics")
        # then it answers Prometheus' text format, with the open subscription counted
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version="), response.headers
        assert _value(during, "briefing_open_subscriptions") == 1
        stack.end_briefing(token)
        list(ws.events(op, timeout=30))

    # when the API and the worker are scraped after the end
    _, api = _scrape(f"{stack.server.http_url.removesuffix('/graphql')}/metrics")
    _, worker = _scrape(f"http://127.0.0.1:{metrics_port}/metrics")

    # then the API counts the login failure, the deliveries and no open subscription
    assert _value(api, "briefing_login_failures_total", reason="wrong_password") == 1
    assert _value(api, "briefing_login_failures_total", reason="throttled") == 0
    assert _value(api, "briefing_deliveries_total", kind="started") == 1
    assert _value(api, "briefing_deliveries_total", kind="briefing") >= 2
    assert _value(api, "briefing_deliveries_total", kind="ended") == 1
    assert _value(api, "briefing_open_subscriptions") == 0
    assert _value(api, "briefing_slow_consumer_closes_total") == 0
    # and the worker counts its ticks by outcome, their lateness, inference and the refused LLM calls
    stored = _value(worker, "briefing_ticks_total", outcome="stored")
    assert stored >= 2
    for outcome in ("inactive", "expired", "stale", "error"):
        _value(worker, "briefing_ticks_total", outcome=outcome)
    assert _value(worker, "briefing_tick_lateness_seconds_count") >= stored
    assert _value(worker, "briefing_tick_lateness_seconds_bucket", le="+Inf") >= stored
    _value(worker, "briefing_ticks_skipped_total")
    assert _value(worker, "briefing_detector_seconds_count", detector="demo") >= 1
    assert _value(worker, "briefing_llm_calls_total", purpose="caption", result="budget") >= stored
    assert _value(worker, "briefing_llm_calls_total", purpose="caption", result="success") == 0


def test_given_json_logs_when_a_briefing_runs_then_every_line_is_a_json_object_with_its_context(
    stack: Stack, metrics_port: int
) -> None:
    # given the API and the worker writing BRIEFING_LOG_FORMAT=json at INFO
    # when a user runs a briefing
    user_id, request_id = _run_briefing(stack, "json-owner", briefings=1)
    worker = stack.alive_workers()[0]
    wait_for(
        lambda: any(e.get("briefing_request_id") == request_id for e in _json_lines(worker)),
        timeout=10,
        what="a worker log line of the briefing",
    )

    # then every line either process wrote is one JSON object with time, level, logger and message
    api_lines, worker_lines = _json_lines(stack.server), _json_lines(worker)
    # and the API's lines of the user's requests name the request and the user
    access = [e for e in api_lines if e["logger"] == "uvicorn.access" and e.get("user_id") == user_id]
    assert access, api_lines[-20:]
    assert all(len(e["request_id"]) >= 16 for e in access), access
    assert len({e["request_id"] for e in access}) == len(access), "request ids repeat"
    # and the tick's lines name the briefing request and its owner
    tick = [e for e in worker_lines if e.get("briefing_request_id") == request_id]
    assert any(e.get("user_id") == user_id and "LLM unavailable" in e["message"] for e in tick), tick


def test_given_a_worker_when_it_stops_then_readyz_still_answers_200_and_reports_no_worker(
    stack: Stack, metrics_port: int
) -> None:
    # given a running worker
    url = f"{stack.server.http_url.removesuffix('/graphql')}/readyz"
    alive = httpx.get(url, timeout=10)
    assert alive.status_code == 200, alive.text
    assert alive.json() == {"status": "ok", "checks": {"mongodb": True, "redis": True}, "worker": True}

    # when every worker stops
    for worker in stack.alive_workers():
        worker.stop()

    # then readyz says so, still ready (the API serves without workers)
    def without_worker() -> httpx.Response | None:
        answer = httpx.get(url, timeout=10)
        return answer if answer.json().get("worker") is False else None

    gone = wait_for(without_worker, timeout=20, what="readyz to report no worker")
    assert gone.status_code == 200, gone.text
    assert gone.json()["checks"] == {"mongodb": True, "redis": True}
