"""Live fan-out against the real server and worker: subscribers that share an event's execution and
its serialised payload receive exactly what they would receive alone, on either WebSocket protocol."""

from __future__ import annotations

import json
from typing import Any

from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from devtools.wsclient import BRIEFING, RELOAD, TransportWS
from tests.conftest import GraphQLClient, LiveServer
from tests.engine.conftest import in_seconds

LIVE = 3
STORED = """query($r: ID!) { briefings(requestId: $r) {
  __typename id requestId seq capturedAt caption captionSource counts { label count } error } }"""


class RawSocket:
    """A socket speaking graphql-transport-ws (`next`) or legacy graphql-ws (`data`), keeping each
    message's raw text."""

    def __init__(self, server: LiveServer, token: str, *, legacy: bool) -> None:
        protocol = "graphql-ws" if legacy else "graphql-transport-ws"
        self.legacy = legacy
        self.ws: ClientConnection = connect(server.ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=10)
        self.ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(self.ws.recv(timeout=10))["type"] == "connection_ack"

    def subscribe(self, op: str, query: str, variables: dict[str, Any]) -> None:
        kind = "start" if self.legacy else "subscribe"
        self.ws.send(json.dumps({"id": op, "type": kind, "payload": {"query": query, "variables": variables}}))

    def results(self, count: int, *, after: int) -> list[str]:
        """The raw texts of the next `count` result messages that carry a Briefing with a seq above `after`."""
        kind = "data" if self.legacy else "next"
        found: list[str] = []
        while len(found) < count:
            text = str(self.ws.recv(timeout=30))
            message = json.loads(text)
            assert message["type"] in (kind, "ka"), message
            event = (message.get("payload") or {}).get("data", {}).get("reloadBriefing") or {}
            if event.get("__typename") == "Briefing" and int(event["seq"]) > after:
                found.append(text)
        return found

    def close(self) -> None:
        self.ws.close()


def _payload_text(raw: str) -> str:
    """The text of a message's payload, exactly as it was sent (the payload is the last member)."""
    head, _, payload = raw.partition('"payload":')
    assert head and raw.endswith("}"), raw
    return payload[:-1]


def test_given_subscribers_of_one_request_on_both_protocols_when_briefings_go_live_then_their_payloads_are_identical(
    server: LiveServer, gql: GraphQLClient, token: str
) -> None:
    # given a running briefing, and a client that has seen its first briefing
    with TransportWS(server.ws_url, token=token) as owner:
        op = owner.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
        events = owner.events(op, timeout=60)
        started = next(events)
        seen = next(int(e["seq"]) for e in events if e["__typename"] == "Briefing")
        request_id = started["request"]["id"]
        # and two more subscribers of it with the same document and variables, one per protocol
        modern = RawSocket(server, token, legacy=False)
        legacy = RawSocket(server, token, legacy=True)
        try:
            modern.subscribe("m1", RELOAD, {"a": seen})
            legacy.subscribe("l1", RELOAD, {"a": seen})
            # when the next briefings go live
            from_modern = modern.results(LIVE, after=seen)
            from_legacy = legacy.results(LIVE, after=seen)
        finally:
            modern.close()
            legacy.close()
        assert gql("mutation { endBriefing { message } }", token=token)["data"] is not None
    # then both received the same payload text for each briefing, only the envelope differs
    assert [_payload_text(raw) for raw in from_modern] == [_payload_text(raw) for raw in from_legacy]
    assert all(json.loads(raw)["id"] == "m1" and json.loads(raw)["type"] == "next" for raw in from_modern)
    assert all(json.loads(raw)["id"] == "l1" and json.loads(raw)["type"] == "data" for raw in from_legacy)
    # and every message is the JSON Strawberry writes for it
    for raw in from_modern + from_legacy:
        assert raw == json.dumps(json.loads(raw), separators=(",", ":"))
    # and what they received is what the store holds for those briefings
    stored = {b["seq"]: b for b in gql(STORED, {"r": request_id}, token=token)["data"]["briefings"]}
    live = [json.loads(raw)["payload"]["data"]["reloadBriefing"] for raw in from_modern]
    assert [event["seq"] for event in live] == list(range(seen + 1, seen + 1 + LIVE))
    assert live == [stored[event["seq"]] for event in live]
