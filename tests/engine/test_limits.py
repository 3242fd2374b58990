"""Limits of the live API, end to end: operations per connection, subscriptions per user, slow consumers."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo import MongoClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from devtools.wsclient import BRIEFING, RELOAD, TransportWS
from tests.conftest import GraphQLClient, LiveServer, service_env, start_server
from tests.engine.conftest import in_seconds

LIMIT = 10  # BRIEFING_WS_MAX_OPERATIONS and BRIEFING_MAX_SUBSCRIPTIONS_PER_USER, both defaults


def _first(ws: TransportWS, op: str, *, timeout: float = 30) -> dict[str, Any]:
    return next(iter(ws.events(op, timeout=timeout)))


def _briefing_after(ws: TransportWS, op: str, seq: int, *, timeout: float = 30) -> dict[str, Any]:
    """The first `Briefing` of an operation with a seq above `seq` (replayed ones are skipped)."""
    for event in ws.events(op, timeout=timeout):
        assert "errors" not in event, event
        if event["__typename"] == "Briefing" and int(event["seq"]) > seq:
            return event
    raise AssertionError(f"operation {op} completed without a Briefing after seq {seq}")


def _end_events(ws: TransportWS, op: str) -> dict[str, Any]:
    return list(ws.events(op, timeout=30))[-1]


def test_the_eleventh_operation_on_one_connection_is_refused_and_the_ten_keep_running(
    server: LiveServer, gql: GraphQLClient, token: str
) -> None:
    with TransportWS(server.ws_url, token=token) as ws:
        first = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
        assert _first(ws, first)["__typename"] == "BriefingStarted"
        latest = int(_briefing_after(ws, first, 0)["seq"])
        ops = [first] + [ws.subscribe(RELOAD, {"a": latest}) for _ in range(LIMIT - 1)]
        for op in ops[1:]:
            latest = max(latest, int(_briefing_after(ws, op, latest - 1)["seq"]))
        refused = ws.subscribe(RELOAD, {"a": latest})
        message = ws.recv(refused, timeout=10)
        assert message["type"] == "error", message
        assert [e["message"] for e in message["payload"]] == ["Subscription limit reached"]
        for op in ops:
            _briefing_after(ws, op, latest)
        assert gql("mutation { endBriefing { message } }", token=token)["data"] is not None
        ends = [_end_events(ws, op) for op in ops]
    assert [(e["__typename"], e["reason"]) for e in ends] == [("BriefingEnded", "ENDED_BY_USER")] * LIMIT


def test_a_users_eleventh_subscription_across_connections_is_rate_limited_until_one_closes(
    server: LiveServer, gql: GraphQLClient, token: str
) -> None:
    with (
        TransportWS(server.ws_url, token=token) as a,
        TransportWS(server.ws_url, token=token) as b,
        TransportWS(server.ws_url, token=token) as c,
    ):
        started = a.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
        assert _first(a, started)["__typename"] == "BriefingStarted"
        _briefing_after(a, started, 0)
        held = [(a, started)] + [(a, a.subscribe(RELOAD, {})) for _ in range(4)]
        held += [(b, b.subscribe(RELOAD, {})) for _ in range(5)]
        for ws, op in held[1:]:
            assert _first(ws, op)["__typename"] == "Briefing"  # each one holds its slot now
        refused = _first(c, c.subscribe(RELOAD, {}), timeout=10)
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["RATE_LIMITED"], refused
        b.complete(held[-1][1])
        deadline = time.monotonic() + 10
        while True:  # the slot is given back when the server has cancelled the operation
            event = _first(c, c.subscribe(RELOAD, {}), timeout=10)
            if "errors" not in event or time.monotonic() > deadline:
                break
            assert [e["extensions"]["code"] for e in event["errors"]] == ["RATE_LIMITED"], event
            time.sleep(0.2)
        assert event.get("__typename") == "Briefing", event
        gql("mutation { endBriefing { message } }", token=token)


HISTORY_ROWS = 400
CAPTION_BYTES = 32 * 1024  # 400 x 32 KiB ≈ 13 MB of replay: several times what loopback TCP can buffer (≤ ~4.5 MB)
PAUSE_SECONDS = 6  # the client reads nothing for six one-second ticks; its queue holds two events


@pytest.fixture
def tiny_queue_server(mongo_url: str, redis_url: str) -> Iterator[LiveServer]:
    """A second API process whose subscribers' queues hold two events (same store, Redis and worker)."""
    live = start_server(env=service_env(mongo_url=mongo_url, redis_url=redis_url, BRIEFING_SUBSCRIBER_QUEUE_SIZE="2"))
    yield live
    live.stop()


def _read_until_closed(ws: ClientConnection, *, received: int, seconds: float) -> tuple[int, ConnectionClosed | None]:
    """Read `next` messages until the server closes the socket (or `seconds` pass); counts them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except ConnectionClosed as closed:
            return received, closed
        except TimeoutError:
            break
        assert message["type"] == "next", message
        received += 1
    return received, None


def test_a_subscriber_that_stops_reading_is_closed_with_4413(
    tiny_queue_server: LiveServer, gql: GraphQLClient, token: str, mongo_url: str
) -> None:
    with TransportWS(tiny_queue_server.ws_url, token=token) as ws:
        op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
        request_id = _first(ws, op)["request"]["id"]
        _briefing_after(ws, op, 0)
    # A long history, so that the replay alone fills every buffer between server and client: from then on
    # the server's sends block and the live ticks pile up in the subscriber's queue.
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        now = datetime.now(UTC)
        client.get_default_database("briefing")["briefings"].insert_many(
            {
                "request_id": ObjectId(request_id),
                "seq": 1_000_000 + n,
                "captured_at": now,
                "caption": "x" * CAPTION_BYTES,
                "counts": [],
                "caption_source": "TEMPLATE",
                "error": None,
                "detections": [],
                "created_at": now,
            }
            for n in range(HISTORY_ROWS)
        )
        # rows without `<request>:<seq>` keys, as requests stored before 2026-11-25 have them: the
        # request is marked so, and its replay reads them by `request_id` and `seq`
        client.get_default_database("briefing")["requests"].update_one(
            {"_id": ObjectId(request_id)}, {"$set": {"keyed": False}}
        )
    finally:
        client.close()
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # fixed, so the kernel does not grow it
    raw.connect(("127.0.0.1", tiny_queue_server.port))
    received = 0
    try:
        with connect(
            tiny_queue_server.ws_url,
            sock=raw,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            max_queue=1,
            max_size=None,
            ping_interval=None,
            open_timeout=10,
            compression=None,  # no permessage-deflate: the bytes on the wire are the bytes of the events
        ) as slow:
            slow.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            assert json.loads(slow.recv(timeout=10))["type"] == "connection_ack"
            query = "subscription($a: Int) { reloadBriefing(after: $a) { __typename ... on Briefing { seq caption } } }"
            slow.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"a": 0}}}))
            assert json.loads(slow.recv(timeout=30))["type"] == "next"  # the replay has begun
            received = 1
            time.sleep(PAUSE_SECONDS)  # max_queue=1: the client's reader stops after one more message
            received, closed = _read_until_closed(slow, received=received, seconds=60)
    finally:
        gql("mutation { endBriefing { message } }", token=token)
    assert closed is not None and closed.rcvd is not None, f"not closed after {received} messages"
    assert closed.rcvd.code == 4413, closed.rcvd
    assert "reloadBriefing" in closed.rcvd.reason
    assert received >= HISTORY_ROWS  # the replay was delivered in full before the close
