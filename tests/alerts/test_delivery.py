"""An alert end to end: fired as the camera watcher fires it, it is stored once and reaches the stored
list, the running briefing's stream, the `alerts` subscription and a signed webhook (retried after a 500).

Real API process, worker, FerretDB, Redis, and a real HTTP receiver in this process."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from beanie import PydanticObjectId

from briefings.alerts import AlertState, RuleSpec, Sample, evaluate, fire_alert
from core.time import utcnow
from devtools.wsclient import TransportWS
from documents import Alert, AlertRule, connect_documents
from tests.alerts.conftest import Receiver
from tests.conftest import GraphQLClient, LiveServer, LiveWorker
from tests.engine.conftest import in_seconds

BRIEFING_WITH_ALERTS = """
subscription($i: Int!, $e: String!) {
  briefing(interval: $i, endtime: $e, cameraId: "demo") {
    __typename
    ... on BriefingStarted { request { id } }
    ... on Briefing { seq }
    ... on Alert { id kind requestId message observed }
    ... on BriefingEnded { reason }
  }
}
"""
ALERTS_LIVE = "subscription { alerts { id kind requestId cameraId message observed threshold seconds } }"
ALERTS_STORED = "query($id: ID!) { alerts(requestId: $id) { id kind message observed firedAt } }"
SET_RULE = "mutation($r: AlertRuleInput!) { setAlertRule(input: $r) { id } }"
SET_WEBHOOK = "mutation($u: String) { setWebhook(url: $u) { secret } }"


def _take(ws: TransportWS, op: str, typename: str, *, timeout: float) -> dict[str, Any]:
    """The next event of `op` of the given type (others are passed over)."""
    deadline = time.monotonic() + timeout
    for event in ws.events(op, timeout=timeout):
        if event.get("__typename", typename) == typename:
            return event
        assert time.monotonic() < deadline, f"no {typename} in time"
    raise AssertionError(f"{op} completed without a {typename}")


async def _crowd_fires(*, mongo_url: str, redis_url: str, rule_id: str, request_id: str, twice: bool) -> list[Alert]:
    """What the camera watcher does: evaluate a crowd of 3 for 6 s against the rule, fire what fired
    (twice when asked: a duplicated evaluation), and return the alerts fire_alert answered."""
    mongo = await connect_documents(mongodb_uri=mongo_url)
    arq = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        rule = await AlertRule.get(PydanticObjectId(rule_id))
        assert rule is not None
        start = utcnow() - timedelta(seconds=6)
        samples = [Sample(at=start + timedelta(seconds=s), occupancy=3, by_label={"male": 3}) for s in range(7)]
        evaluation = evaluate(rules=[RuleSpec.of(rule)], samples=samples, state=AlertState())
        assert len(evaluation.firings) == 1
        fired = []
        for _ in range(2 if twice else 1):
            fired.append(
                await fire_alert(
                    arq=arq,
                    rule=rule,
                    request_id=PydanticObjectId(request_id),
                    camera_id="demo",
                    firing=evaluation.firings[0],
                )
            )
        return fired
    finally:
        await arq.aclose()
        await mongo.close()


async def _stored_alert(*, mongo_url: str, alert_id: str) -> Alert | None:
    mongo = await connect_documents(mongodb_uri=mongo_url)
    try:
        return await Alert.get(alert_id)
    finally:
        await mongo.close()


def _wait_for(condition: Any, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_watcher_fires_a_rule_on_the_demo_shop_and_it_reaches_both_streams_the_list_and_a_signed_webhook(
    server: LiveServer, worker: LiveWorker, gql: GraphQLClient, mongo_url: str, redis_url: str, receiver: Receiver
) -> None:
    # given an owner with the rule "1 or more people for 2 s" and a webhook that fails once, then works
    receiver.statuses = [500, 204]
    token = gql.login("owner")
    rule = {"kind": "OCCUPANCY", "threshold": 1, "seconds": 2, "cameraId": "demo"}
    gql(SET_RULE, {"r": rule}, token=token)
    secret = gql(SET_WEBHOOK, {"u": receiver.url}, token=token)["data"]["setWebhook"]["secret"]
    with TransportWS(server.ws_url, token=token) as ws:
        # when a briefing runs on the demo camera (its shop is never empty for long), followed live,
        # with the `alerts` subscription open
        alerts_op = ws.subscribe(ALERTS_LIVE)
        briefing_op = ws.subscribe(BRIEFING_WITH_ALERTS, {"i": 60, "e": in_seconds(120)})
        request_id = _take(ws, briefing_op, "BriefingStarted", timeout=30)["request"]["id"]
        # then the camera watcher fires the rule, and the running briefing's stream carries it
        live = _take(ws, briefing_op, "Alert", timeout=60)
        assert (live["kind"], live["requestId"]) == ("OCCUPANCY", request_id)
        assert live["observed"] >= 1 and f"{live['observed']}명" in live["message"]
        # and the `alerts` subscription carries the same alert, once
        mine = next(ws.events(alerts_op, timeout=15))
        assert (mine["id"], mine["cameraId"], mine["threshold"], mine["seconds"]) == (live["id"], "demo", 1, 2)
        with pytest.raises(TimeoutError):
            ws.recv(alerts_op, timeout=3)  # fired once: it re-arms only after the shop empties
        gql("mutation { endBriefing { message } }", token=token)
    # and the stored list has it, once
    stored = gql(ALERTS_STORED, {"id": request_id}, token=token)["data"]["alerts"]
    assert [(a["id"], a["kind"]) for a in stored] == [(live["id"], "OCCUPANCY")]
    # and the webhook got it twice: a 500, then (after arq's backoff) a 204, both validly signed
    _wait_for(lambda: 204 in receiver.answered, timeout=30)
    assert receiver.answered == [500, 204]
    for headers, body in receiver.received:
        timestamp = headers["x-briefing-timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-briefing-signature"], f"sha256={expected}")
        assert abs(time.time() - int(timestamp)) < 120
        assert headers["x-briefing-alert"] == live["id"]
        assert headers["content-type"] == "application/json"
        payload = json.loads(body)
        assert payload["type"] == "alert"
        assert (payload["alert"]["id"], payload["alert"]["requestId"]) == (live["id"], request_id)
    # and the alert records the delivery
    delivered = asyncio.run(_stored_alert(mongo_url=mongo_url, alert_id=str(live["id"])))
    assert delivered is not None
    assert delivered.webhook_delivered_at is not None
    assert (delivered.webhook_attempts, delivered.webhook_error) == (2, None)


def test_a_duplicated_evaluation_stores_and_announces_one_alert(
    gql: GraphQLClient, mongo_url: str, redis_url: str
) -> None:
    # given an owner's rule "2 or more people for 5 s" and a request of theirs (never ticked: no watcher)
    token = gql.login("twice")
    rule_id = gql(SET_RULE, {"r": {"kind": "OCCUPANCY", "threshold": 2, "seconds": 5}}, token=token)["data"]
    rule_id = rule_id["setAlertRule"]["id"]
    request_id = str(PydanticObjectId())
    # when a crowd of 3 for 6 s is evaluated and fired twice over (a worker re-running a frame)
    first, again = asyncio.run(
        _crowd_fires(mongo_url=mongo_url, redis_url=redis_url, rule_id=rule_id, request_id=request_id, twice=True)
    )
    # then both calls answer the same stored alert
    assert first.id == again.id
    assert first.details.observed == 3
