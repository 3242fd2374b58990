"""A user's subscription slots (`BRIEFING_MAX_SUBSCRIPTIONS_PER_USER`, 10) are taken before a `briefing`
stores anything (issue 10, bug 1): the 11th is refused with RATE_LIMITED and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
from pymongo import MongoClient

from devtools.wsclient import BRIEFING, RELOAD, TransportWS
from tests.conftest import GraphQLClient, LiveServer
from tests.engine.conftest import in_seconds

LIMIT = 10  # BRIEFING_MAX_SUBSCRIPTIONS_PER_USER's default
PER_SOCKET = 5  # under BRIEFING_WS_MAX_OPERATIONS (10), so only the per-user limit can refuse


def _requests(mongo_url: str) -> list[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        return list(client.get_default_database("briefing")["requests"].find())
    finally:
        client.close()


def _wait_for_leases(redis_url: str, user_id: str, count: int) -> None:
    """Until the user holds `count` subscription leases (each open stream holds one)."""
    r = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 15
        while cast(int, r.zcard(f"briefing:subs:{user_id}")) < count:
            assert time.monotonic() < deadline, "the subscriptions did not all take their slot"
            time.sleep(0.05)
    finally:
        r.close()


def _queued_jobs(redis_url: str) -> list[str]:
    r = redis.Redis.from_url(redis_url)
    try:
        return [member.decode() for member in cast(list[bytes], r.zrange("arq:queue", 0, -1))]
    finally:
        r.close()


@pytest.fixture
def full_house(server: LiveServer, gql: GraphQLClient, redis_url: str) -> Iterator[tuple[str, TransportWS, str]]:
    """A user holding all ten slots: one running `briefing` and nine `reloadBriefing`s on two sockets;
    yields the token, a third (idle) socket and the running request's id."""
    token = gql.login("fullhouse")
    user_id = gql("{ me { id } }", token=token)["data"]["me"]["id"]
    with (
        TransportWS(server.ws_url, token=token) as a,
        TransportWS(server.ws_url, token=token) as b,
        TransportWS(server.ws_url, token=token) as c,
    ):
        started = a.subscribe(BRIEFING, {"i": 60, "e": in_seconds(600)})
        request_id = next(iter(a.events(started)))["request"]["id"]
        for _ in range(PER_SOCKET - 1):
            a.subscribe(RELOAD, {})
        for _ in range(PER_SOCKET):
            b.subscribe(RELOAD, {})
        _wait_for_leases(redis_url, user_id, LIMIT)
        yield token, c, request_id


def test_the_eleventh_briefing_is_refused_before_anything_is_stored(
    full_house: tuple[str, TransportWS, str], mongo_url: str, redis_url: str
) -> None:
    # given a user whose ten open subscriptions include a running briefing
    _, third, running_id = full_house
    jobs_before = _queued_jobs(redis_url)
    # when an eleventh subscription asks for a new briefing
    refused = next(iter(third.events(third.subscribe(BRIEFING, {"i": 60, "e": in_seconds(600)}), timeout=10)))
    # then it is refused as rate limited
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["RATE_LIMITED"], refused
    # and nothing changed: no new request, the running one not REPLACED, no tick queued for anything else
    stored = _requests(mongo_url)
    assert [(str(r["_id"]), r["status"], r.get("end_reason")) for r in stored] == [(running_id, "ACTIVE", None)]
    assert all(job.startswith(f"tick:{running_id}:") for job in _queued_jobs(redis_url)), _queued_jobs(redis_url)
    assert len(_queued_jobs(redis_url)) <= max(1, len(jobs_before))


def test_a_refused_briefing_leaves_the_running_streams_running(
    full_house: tuple[str, TransportWS, str], gql: GraphQLClient
) -> None:
    # given a user holding all ten slots, and an eleventh briefing refused
    token, third, running_id = full_house
    next(iter(third.events(third.subscribe(BRIEFING, {"i": 60, "e": in_seconds(600)}), timeout=10)))
    # when the user looks at their requests
    listed = gql("{ requests { id status } }", token=token)["data"]["requests"]
    # then the running briefing is the only one, and it still runs
    assert listed == [{"id": running_id, "status": "ACTIVE"}]
