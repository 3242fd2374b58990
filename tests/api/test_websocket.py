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
