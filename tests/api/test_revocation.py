"""A revoked or expired token closes the sockets it opened (issue 10, bug 5): `logout` reaches sockets on
every API process through Redis, and each socket is closed when its token's expiry passes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from core.security import token_digest
from tests.conftest import GraphQLClient, LiveServer, service_env, start_server

TRANSPORT, LEGACY = "graphql-transport-ws", "graphql-ws"
WITHIN_SECONDS = 5.0  # "within a few seconds" (the check runs every BRIEFING_WS_REVOCATION_CHECK_SECONDS, 1 s)
IDLE_OPERATION = "subscription { reloadBriefing { __typename } }"


@pytest.fixture(scope="module")
def other_server(mongo_url: str, redis_url: str) -> Iterator[LiveServer]:
    """A second API process sharing the store and Redis."""
    live = start_server(env=service_env(mongo_url=mongo_url, redis_url=redis_url))
    yield live
    live.stop()


def _socket(server: LiveServer, token: str, protocol: str = TRANSPORT) -> ClientConnection:
    ws = connect(server.ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=10)
    ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
    return ws


def _closed_within(ws: ClientConnection, seconds: float) -> int | None:
    """The close code if the server closes the socket within `seconds` (messages are skipped); None if not."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            ws.recv(timeout=left)
        except TimeoutError:
            return None
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else -1
    return None


def _me(ws: ClientConnection, op: str) -> object:
    """Run `{ me { username } }` as operation `op`; its result."""
    ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {"query": "{ me { username } }"}}))
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message.get("id") == op and message["type"] == "next":
            return message["payload"]


def _expire_soon(mongo_url: str, token: str, seconds: float) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        sessions = client.get_default_database("briefing")["sessions"]
        moment = datetime.now(UTC) + timedelta(seconds=seconds)
        assert sessions.update_one({"token_hash": token_digest(token)}, {"$set": {"expires_at": moment}}).matched_count
    finally:
        client.close()


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
def test_logout_closes_the_tokens_sockets_with_4403(server: LiveServer, gql: GraphQLClient, protocol: str) -> None:
    # given a socket signed in with a token
    token = gql.login("leaver")
    with _socket(server, token, protocol) as ws:
        # when the token is revoked over HTTP
        assert gql("mutation { logout }", token=token)["data"] == {"logout": True}
        # then the socket is closed with 4403 within a few seconds
        assert _closed_within(ws, WITHIN_SECONDS) == 4403


def test_logout_reaches_sockets_on_another_api_process(
    server: LiveServer, other_server: LiveServer, gql: GraphQLClient
) -> None:
    # given sockets signed in with one token on two API processes
    token = gql.login("roamer")
    with _socket(server, token) as here, _socket(other_server, token) as there:
        # when the token is revoked through the first process
        gql("mutation { logout }", token=token)
        # then both sockets are closed with 4403
        assert _closed_within(there, WITHIN_SECONDS) == 4403
        assert _closed_within(here, WITHIN_SECONDS) == 4403


def test_logout_over_the_socket_closes_it(server: LiveServer, gql: GraphQLClient) -> None:
    # given a signed-in socket; when it logs out over itself
    with _socket(server, gql.login("selfie")) as ws:
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "mutation { logout }"}}))
        # then it is answered, then closed with 4403
        assert json.loads(ws.recv(timeout=10))["payload"] == {"data": {"logout": True}}
        assert _closed_within(ws, WITHIN_SECONDS) == 4403


def test_logout_leaves_the_sockets_of_other_tokens_open(server: LiveServer, gql: GraphQLClient) -> None:
    # given two sessions of one user, each with a socket running an operation
    first, second = gql.login("twice"), gql.login("twice")
    with _socket(server, first) as revoked, _socket(server, second) as kept:
        assert _me(kept, "1") == {"data": {"me": {"username": "twice"}}}
        # when one token is revoked
        gql("mutation { logout }", token=first)
        assert _closed_within(revoked, WITHIN_SECONDS) == 4403
        # then the other token's socket keeps serving
        assert _me(kept, "2") == {"data": {"me": {"username": "twice"}}}


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
def test_a_socket_is_closed_when_its_token_expires(
    server: LiveServer, gql: GraphQLClient, mongo_url: str, protocol: str
) -> None:
    # given a token that expires in two seconds, and a socket opened with it that runs a subscription
    token = gql.login("mayfly")
    _expire_soon(mongo_url, token, 2)
    with _socket(server, token, protocol) as ws:
        start = "subscribe" if protocol == TRANSPORT else "start"
        ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": IDLE_OPERATION}}))
        # when the expiry passes; then the socket is closed with 4403
        assert _closed_within(ws, 2 + WITHIN_SECONDS) == 4403
