"""Who may read the API's /metrics, the request id of each exchange, and the JSON log format.

The fence is decided on the peer address, so these tests give the ASGI app the address a client would
have (httpx's ASGI transport) rather than going through loopback, where every client is local. The
whole stack (metrics after a briefing, JSON lines of real processes, readyz) is in
tests/engine/test_operations.py.
"""

from __future__ import annotations

import json
import logging
import sys

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from core import logs
from core.settings import Settings
from server.observability import RequestContext, metrics_routes


def _app(settings: Settings) -> Starlette:
    async def echo(_: Request) -> Response:
        return PlainTextResponse(logs.context().get("request_id", ""))

    return Starlette(routes=[Route("/echo", echo), *metrics_routes(settings)], middleware=[Middleware(RequestContext)])


async def _get(settings: Settings, path: str, *, client: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(settings), client=(client, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        return await http.get(path, headers=headers)


@pytest.mark.parametrize("client", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "::1", "::ffff:172.16.5.5"])
@pytest.mark.asyncio
async def test_given_the_default_networks_when_a_local_or_private_client_asks_then_metrics_are_served(
    client: str,
) -> None:
    # given the default settings (metrics on, loopback and private ranges allowed)
    # when a client from such an address asks for /metrics
    response = await _get(Settings(), "/metrics", client=client)
    # then it gets Prometheus' text format
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version="), response.headers
    assert "# TYPE briefing_ticks_total counter" in response.text


@pytest.mark.parametrize("client", ["203.0.113.9", "2001:db8::1", "testclient"])
@pytest.mark.asyncio
async def test_given_the_default_networks_when_a_public_client_asks_then_metrics_are_refused(client: str) -> None:
    # given the default settings; when a client from a public address (or none) asks
    response = await _get(Settings(), "/metrics", client=client)
    # then it is refused and sees no figure
    assert response.status_code == 403
    assert "briefing_" not in response.text


@pytest.mark.asyncio
async def test_given_configured_networks_when_a_client_inside_them_asks_then_metrics_are_served() -> None:
    # given BRIEFING_METRICS_ALLOWED_NETWORKS naming the monitoring host's network only
    settings = Settings(metrics_allowed_networks="203.0.113.0/24")
    # when it and a loopback client ask
    inside = await _get(settings, "/metrics", client="203.0.113.9")
    loopback = await _get(settings, "/metrics", client="127.0.0.1")
    # then only the configured network is served
    assert inside.status_code == 200
    assert loopback.status_code == 403


@pytest.mark.asyncio
async def test_given_metrics_off_when_anyone_asks_then_the_path_does_not_exist() -> None:
    response = await _get(Settings(metrics=False), "/metrics", client="127.0.0.1")
    assert response.status_code == 404


@pytest.mark.asyncio
async def test_given_a_request_when_it_is_answered_then_its_id_is_in_the_logs_context_and_the_header() -> None:
    # given a client that sends a sane X-Request-ID, one that sends a hostile one, and one that sends none
    kept = await _get(Settings(), "/echo", client="127.0.0.1", headers={"x-request-id": "edge-42.a:b"})
    replaced = await _get(Settings(), "/echo", client="127.0.0.1", headers={"x-request-id": 'x"\n{"level":"ERROR"}'})
    fresh = await _get(Settings(), "/echo", client="127.0.0.1")
    # then the sane one is kept, the others get a new id, and the log context saw the same id the header names
    assert kept.text == kept.headers["x-request-id"] == "edge-42.a:b"
    assert replaced.text == replaced.headers["x-request-id"] != 'x"\n{"level":"ERROR"}'
    assert len(fresh.text) == 32 and fresh.headers["x-request-id"] == fresh.text
    assert fresh.text != replaced.text


def test_given_json_format_when_a_record_has_newlines_and_an_exception_then_it_is_one_json_line() -> None:
    # given a record written with context fields, a multi-line message and an exception
    formatter = logs.JsonFormatter()
    token = logs.bind(request_id="r1", user_id="u1")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord("briefing.test", logging.ERROR, __file__, 1, "two\nlines %s", ("한글",), None)
            record.exc_info = sys.exc_info()
        line = formatter.format(record)
    finally:
        logs.reset(token)
    # then it is one line of JSON with every field
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "briefing.test"
    assert entry["message"] == "two\nlines 한글"
    assert entry["request_id"] == "r1" and entry["user_id"] == "u1"
    assert "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("+00:00")
    assert "briefing_request_id" not in entry
