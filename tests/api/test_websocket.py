"""GraphQL over WebSocket through a real uvicorn: both protocols, auth on connection_init, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.conftest import GraphQLClient, LiveServer

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"


def _open(server: LiveServer, protocol: str, **kwargs: Any) -> ClientConnection:
    connection: ClientConnection = connect(
        server.ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=10, **kwargs
    )
    return connection


def _recv(ws: ClientConnection) -> dict[str, object]:
    message: dict[str, object] = json.loads(ws.recv(timeout=10))
    return message


def test_transport_ws_runs_an_operation_with_the_init_token(server: LiveServer, gql: GraphQLClient) -> None:
    token = gql.login("alice")
    with _open(server, TRANSPORT) as ws:
        assert ws.subprotocol == TRANSPORT
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert _recv(ws)["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ me { username } }"}}))
        message = _recv(ws)
        assert message == {"id": "1", "type": "next", "payload": {"data": {"me": {"username": "alice"}}}}
        assert _recv(ws) == {"id": "1", "type": "complete"}


def test_transport_ws_rejects_a_bad_token_with_4403(server: LiveServer) -> None:
    with _open(server, TRANSPORT) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_transport_ws_rejects_a_missing_token_with_4403(server: LiveServer) -> None:
    with _open(server, TRANSPORT) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_legacy_graphql_ws_protocol_is_served(server: LiveServer, gql: GraphQLClient) -> None:
    # Legacy graphql-ws carries subscriptions only; `reloadBriefing` of a user without any request
    # is a real subscription that answers at once with a NOT_FOUND error payload, then completes.
    token = gql.login("bob")
    with _open(server, LEGACY) as ws:
        assert ws.subprotocol == LEGACY
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert _recv(ws)["type"] == "connection_ack"
        query = "subscription { reloadBriefing { __typename } }"
        ws.send(json.dumps({"id": "7", "type": "start", "payload": {"query": query}}))
        messages = [_recv(ws)]
        while messages[-1]["type"] != "complete":
            messages.append(_recv(ws))
        messages = [m for m in messages if m["type"] != "ka"]
        assert [(m["type"], m["id"]) for m in messages] == [("data", "7"), ("complete", "7")], messages
        payload = messages[0]["payload"]
        assert payload["data"] is None  # type: ignore[index]
        errors = payload["errors"]  # type: ignore[index]
        assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]
        assert errors[0]["message"]


def test_legacy_graphql_ws_rejects_a_bad_token(server: LiveServer) -> None:
    with _open(server, LEGACY) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        first = _recv(ws)
        assert first["type"] == "connection_error"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


def test_a_foreign_origin_cannot_open_a_socket(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _open(server, TRANSPORT, origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_an_allowed_origin_may_open_a_socket(server: LiveServer) -> None:
    with _open(server, TRANSPORT, origin="http://allowed.example") as ws:
        assert ws.subprotocol == TRANSPORT


def test_a_socket_without_connection_init_is_closed_with_4408(server: LiveServer) -> None:
    with _open(server, TRANSPORT) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=15)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


def _signed_in(server: LiveServer, protocol: str, token: str) -> ClientConnection:
    ws = _open(server, protocol)
    ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert _recv(ws)["type"] == "connection_ack"
    return ws


def _close_code(ws: ClientConnection, *, timeout: float = 10) -> int | None:
    """Read (skipping keep-alives) until the server closes the socket; its close code."""
    while True:
        try:
            ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


def _first_error(ws: ClientConnection, op: str) -> dict[str, Any]:
    """The first message of an operation that reports errors (an `error`, or a `next`/`data` with errors)."""
    while True:
        message = _recv(ws)
        if message.get("id") == op and message["type"] in ("error", "next", "data"):
            payload: Any = message["payload"]
            if message["type"] != "error":
                payload = payload["errors"]
            errors = payload if isinstance(payload, list) else [payload]
            return {"type": message["type"], "errors": errors}


# --- issue 10, bug 2: the legacy graphql-ws protocol times out and refuses like graphql-transport-ws -----


def test_legacy_socket_without_connection_init_is_closed_with_4408(server: LiveServer) -> None:
    # given a legacy graphql-ws socket that never sends connection_init (the server's timeout is 10 s)
    with _open(server, LEGACY) as ws:
        # when the client waits; then the server closes it with 4408
        assert _close_code(ws, timeout=15) == 4408


def test_legacy_socket_with_a_bad_token_is_closed_with_4403(server: LiveServer) -> None:
    # given a legacy graphql-ws socket; when its connection_init carries a bad token
    with _open(server, LEGACY) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        assert _recv(ws)["type"] == "connection_error"
        # then it is closed with 4403, as graphql-transport-ws does
        assert _close_code(ws) == 4403


# --- issue 10, bug 6: every error over the WebSocket carries a code ------------------------------------

INVALID = "subscription { reloadBriefing(aftr: 1) { __typename } }"
UNCOERCIBLE = 'subscription { briefing(interval: "x", endtime: "12:00") { __typename } }'


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@pytest.mark.parametrize("query", [INVALID, UNCOERCIBLE], ids=["validation", "literal-coercion"])
def test_websocket_operation_errors_carry_bad_user_input(
    server: LiveServer, gql: GraphQLClient, protocol: str, query: str
) -> None:
    # given a signed-in socket
    with _signed_in(server, protocol, gql.login("coded")) as ws:
        # when an operation fails validation or literal coercion
        start = "subscribe" if protocol == TRANSPORT else "start"
        ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": query}}))
        # then its error carries the code HTTP gives it
        errors = _first_error(ws, "1")["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], errors


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
def test_the_operation_limit_of_a_connection_is_rate_limited(
    server: LiveServer, gql: GraphQLClient, protocol: str
) -> None:
    # given a signed-in socket running ten subscriptions (the per-connection limit)
    token = gql.login("crowded")
    gql("mutation { endBriefing { message } }", token=token)  # nothing runs: NOT_FOUND, ignored
    start = "subscribe" if protocol == TRANSPORT else "start"
    briefing = 'subscription { briefing(interval: 60, endtime: "23:59") { __typename } }'
    reload = "subscription { reloadBriefing { __typename } }"
    with _signed_in(server, protocol, token) as ws:
        ws.send(json.dumps({"id": "0", "type": start, "payload": {"query": briefing}}))
        assert _recv(ws)["id"] == "0"  # BriefingStarted (or an error): the operation runs
        for op in range(1, 10):
            reload = "subscription { reloadBriefing { __typename } }"
            ws.send(json.dumps({"id": str(op), "type": start, "payload": {"query": reload}}))
        # when an eleventh one is sent
        ws.send(
            json.dumps(
                {"id": "10", "type": start, "payload": {"query": "subscription { reloadBriefing { __typename } }"}}
            )
        )
        # then its refusal carries RATE_LIMITED
        errors = _first_error(ws, "10")["errors"]
        assert errors[0]["message"] == "Subscription limit reached"
        assert [e["extensions"]["code"] for e in errors] == ["RATE_LIMITED"], errors
        gql("mutation { endBriefing { message } }", token=token)


# --- issue 10, bug 7: malformed frames close the socket with 4400 -------------------------------------

MALFORMED = {
    "a list": "[1, 2]",
    "a string": '"x"',
    "a number": "5",
    "no type": '{"id": "1"}',
    "a string payload": '{"id": "1", "type": "START", "payload": "x"}',
    "an object id": '{"id": {"a": 1}, "type": "START", "payload": {"query": "{ me { id } }"}}',
    "a list id": '{"id": [1], "type": "START", "payload": {"query": "{ me { id } }"}}',
    "a number id": '{"id": 1, "type": "START", "payload": {"query": "{ me { id } }"}}',
    "a number query": '{"id": "1", "type": "START", "payload": {"query": 5}}',
    "list variables": '{"id": "1", "type": "START", "payload": {"query": "{ me { id } }", "variables": [1]}}',
    "a list id to stop": '{"id": [1], "type": "STOP"}',
}


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@pytest.mark.parametrize("frame", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_frame_closes_the_socket_with_4400(
    server: LiveServer, gql: GraphQLClient, protocol: str, frame: str
) -> None:
    # given a signed-in socket
    start, stop = ("subscribe", "complete") if protocol == TRANSPORT else ("start", "stop")
    with _signed_in(server, protocol, gql.login("malformed")) as ws:
        # when a frame that is JSON but not a well-formed message arrives
        ws.send(frame.replace("START", start).replace("STOP", stop))
        # then the server closes the socket with 4400
        assert _close_code(ws) == 4400


def test_a_server_still_serves_after_malformed_frames(server: LiveServer, gql: GraphQLClient) -> None:
    # given sockets closed for malformed frames
    token = gql.login("survivor")
    for protocol in (TRANSPORT, LEGACY):
        with _signed_in(server, protocol, token) as ws:
            ws.send("[1, 2]")
            _close_code(ws)
    # when a well-formed operation follows; then it runs
    with _signed_in(server, TRANSPORT, token) as ws:
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ me { username } }"}}))
        assert _recv(ws)["payload"] == {"data": {"me": {"username": "survivor"}}}


def test_a_frame_nested_too_deep_to_parse_closes_the_socket_with_4400(server: LiveServer, gql: GraphQLClient) -> None:
    # given a signed-in graphql-transport-ws socket
    with _signed_in(server, TRANSPORT, gql.login("deepframe")) as ws:
        # when a subscribe frame's variables nest 5000 levels deep
        deep = "[" * 5000 + "]" * 5000
        ws.send(
            '{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": {"v": ' + deep + "}}}"
        )
        # then the frame is refused as one that does not parse
        assert _close_code(ws) == 4400
