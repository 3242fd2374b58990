"""Limits on what a request may ask for, and how errors are shaped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from devtools.services import free_port
from tests.conftest import GraphQLClient, LiveServer, error_codes, service_env, start_server


def _nested(depth: int) -> str:
    inner = "leaf"
    for level in range(depth - 1):  # depth counts nested selection sets
        inner = f"f{level} {{ {inner} }}"
    return f"{{ me {{ {inner} }} }}"


def _messages(body: dict[str, Any]) -> list[str]:
    return [str(e["message"]) for e in body.get("errors") or []]


def test_queries_deeper_than_ten_are_refused(gql: GraphQLClient) -> None:
    # the schema has no cycle deep enough, so the refusal shows beside the unknown-field errors
    assert not any("maximum operation depth" in m for m in _messages(gql(_nested(10))))
    body = gql(_nested(11))
    assert any("exceeds maximum operation depth of 10" in m for m in _messages(body))
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}


def test_more_than_fifteen_aliases_are_refused(gql: GraphQLClient) -> None:
    token = gql.login("alice")
    ok = " ".join(f"a{i}: custom" for i in range(15))
    assert "errors" not in gql(f"{{ {ok} }}", token=token)
    too_many = " ".join(f"a{i}: custom" for i in range(16))
    body = gql(f"{{ {too_many} }}", token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["data"] is None


def test_documents_over_two_thousand_tokens_are_refused(gql: GraphQLClient) -> None:
    body = gql("{ " + " ".join(["__typename"] * 2100) + " }")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "token" in body["errors"][0]["message"].lower()


def test_unknown_fields_get_no_suggestions(gql: GraphQLClient) -> None:
    body = gql("{ custo }")
    message = body["errors"][0]["message"]
    assert "Did you mean" not in message
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_queries_over_get_are_not_executed(server: LiveServer) -> None:
    response = httpx.get(server.http_url, params={"query": "{ __typename }"}, headers={"accept": "application/json"})
    assert response.status_code in (400, 404, 405)
    assert "__typename" not in response.text or "data" not in response.text


def test_oversized_bodies_are_refused(server: LiveServer) -> None:
    payload = '{"query": "{ __typename }", "variables": {"pad": "' + "x" * 1_100_000 + '"}}'
    response = httpx.post(server.http_url, content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_syntax_errors_carry_a_code(gql: GraphQLClient) -> None:
    assert error_codes(gql("{ me { ")) == ["BAD_USER_INPUT"]


def test_variables_of_the_wrong_type_are_bad_user_input(gql: GraphQLClient) -> None:
    # given a signed-in user and operations whose variables are typed
    token = gql.login("typist")
    by_id = "query($id: ID!) { briefings(requestId: $id) { seq } }"
    custom = "mutation($c: [String!]!) { updateCustom(custom: $c) { message } }"
    cases: list[tuple[str, dict[str, object]]] = [
        (by_id, {"id": {"a": 1}}),
        (by_id, {"id": [1, 2]}),
        (by_id, {"id": None}),
        (custom, {"c": ["ok", None]}),
        (custom, {"c": {"not": "a list"}}),
    ]
    for query, variables in cases:
        # when one is sent with a value of the wrong type
        body = gql(query, variables, token=token)
        # then the answer blames the input, not the server
        assert error_codes(body) == ["BAD_USER_INPUT"], (variables, body)


def test_healthz_answers_while_the_process_is_up(server: LiveServer) -> None:
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}


def test_readyz_is_ok_when_mongodb_and_redis_answer(server: LiveServer) -> None:
    response = httpx.get(f"{server.base}/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"mongodb": True, "redis": True}


@pytest.fixture(scope="module")
def production_server(mongo_url: str, redis_url: str) -> Iterator[LiveServer]:
    live = start_server(env=service_env(mongo_url=mongo_url, redis_url=redis_url, BRIEFING_ENV="production"))
    yield live
    live.stop()


def test_introspection_is_off_in_production(production_server: LiveServer) -> None:
    client = GraphQLClient(production_server.http_url)
    body = client("{ __schema { types { name } } }")
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}
    assert "introspection" in body["errors"][0]["message"].lower()


def test_production_errors_suggest_no_names_and_quote_inputs_briefly(production_server: LiveServer) -> None:
    # given the production profile and a signed-in user
    client = GraphQLClient(production_server.http_url)
    token = client.login("suggest")
    # when an argument is misspelled and a type is unknown
    misspelled = client('{ briefings(requestID: "x") { seq } }', token=token)
    unknown_type = client("query($x: Strin) { custom }", {"x": "a"}, token=token)
    # then the answers name no schema member the client did not send
    for body in (misspelled, unknown_type):
        assert set(error_codes(body)) == {"BAD_USER_INPUT"}, body
        assert not [e for e in body["errors"] if "Did you mean" in e["message"]], body
    client.http.close()


def test_readyz_is_unavailable_when_redis_is_down(mongo_url: str) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    live = start_server(env=service_env(mongo_url=mongo_url, redis_url=dead_redis))
    try:
        response = httpx.get(f"{live.base}/readyz", timeout=10)
        assert response.status_code == 503
        assert response.json()["checks"] == {"mongodb": True, "redis": False}
    finally:
        live.stop()


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_variables_nested_too_deep_to_parse_are_400(server: LiveServer, depth: int) -> None:
    # given a body whose variables nest lists thousands of levels deep (under the body size limit)
    nested = "[" * depth + "]" * depth
    body = '{"query": "{ __typename }", "variables": {"v": ' + nested + "}}"
    # when it is posted
    response = httpx.post(server.http_url, content=body, headers={"content-type": "application/json"}, timeout=30)
    # then the client is told its JSON is unusable, not that the server failed
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("body", ["5", '"x"', "null", "true"])
def test_a_body_that_is_json_but_not_an_object_is_400(server: LiveServer, body: str) -> None:
    # given JSON that is not an object; when it is posted; then it is refused as a bad request
    response = httpx.post(server.http_url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text


def test_production_errors_over_the_websocket_suggest_no_names(production_server: LiveServer) -> None:
    # given the production profile and a signed-in graphql-transport-ws socket
    client = GraphQLClient(production_server.http_url)
    token = client.login("suggestws")
    client.http.close()
    with connect(production_server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        # when an argument is misspelled
        query = "subscription { reloadBriefing(aftr: 1) { __typename } }"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        message = json.loads(ws.recv(timeout=10))
    # then the error names nothing the client did not send, and carries a code
    assert message["type"] == "error", message
    assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]
    assert not [e for e in message["payload"] if "Did you mean" in e["message"]], message
