"""Generated operations against a real uvicorn (issue 10 §2): valid and invalid queries, mutations and
subscriptions built from the published schema by hypothesis-graphql, with a fixed seed (derandomize), over
HTTP and over the WebSocket. Whatever is sent: no HTTP 5xx, no INTERNAL, every error coded, no traceback
in the server's log, and the server still ready afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import DocumentNode, GraphQLSchema, build_schema, print_ast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, queries
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from devtools.services import free_port, stop_process, wait_for_port
from tests.conftest import ROOT, GraphQLClient, service_env

SCHEMA = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
ROOT_FIELDS = [name for name in (*SCHEMA.query_type.fields, *SCHEMA.mutation_type.fields) if name != "logout"]  # type: ignore[union-attr]
"""Every root field but `logout`, which would sign the fuzzing client out for the rest of the run."""
SETTINGS = settings(
    derandomize=True,  # a fixed seed: every run sends the same operations
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
TRACEBACK = "Traceback (most recent call last)"
SUBSCRIPTION_WAIT_SECONDS = 0.3


@dataclass
class LoggedServer:
    """A uvicorn process whose stdout and stderr go to a file."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")

    def ready(self) -> bool:
        response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=10)
        return response.status_code == 200 and response.json()["status"] == "ok"


@pytest.fixture(scope="module")
def fuzzed(mongo_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    """A production-profile server (no introspection, no suggestions), logging to a file."""
    log = tmp_path_factory.mktemp("fuzz") / "server.log"
    port = free_port()
    env = service_env(mongo_url=mongo_url, redis_url=redis_url, BRIEFING_ENV="production")
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(port, timeout=60, proc=proc)
    yield LoggedServer(port=port, proc=proc, log=log)
    stop_process(proc)


def _operations() -> st.SearchStrategy[str]:
    valid = from_schema(SCHEMA, fields=ROOT_FIELDS, mode=Mode.POSITIVE)
    invalid = from_schema(SCHEMA, fields=ROOT_FIELDS, mode=Mode.NEGATIVE)
    return st.one_of(valid, invalid)


def _as_subscription(document: DocumentNode) -> str:
    text = print_ast(document)  # `{ … }`, or `query … { … }` when it declares something
    return f"subscription {text}" if text.startswith("{") else "subscription" + text.removeprefix("query")


def _plausible_briefings() -> st.SearchStrategy[str]:
    """`briefing`s that may well start (random strings rarely make an endtime), and `reloadBriefing`s."""
    briefing = st.builds(
        'subscription {{ briefing(interval: {}, endtime: "{}:{:02d}") {{ __typename }} }}'.format,
        st.integers(min_value=-2, max_value=100_000),
        st.integers(min_value=0, max_value=25),
        st.integers(min_value=0, max_value=60),
    )
    reload = st.builds(
        "subscription {{ reloadBriefing(after: {}) {{ __typename }} }}".format,
        st.integers(min_value=-(2**31), max_value=2**31 - 1),
    )
    return st.one_of(briefing, reload)


def _subscriptions() -> st.SearchStrategy[str]:
    """Subscriptions, generated as queries of a schema whose query root is the Subscription type, and
    plausible ones."""
    as_queries = GraphQLSchema(query=SCHEMA.subscription_type, types=list(SCHEMA.type_map.values()))
    generated = (queries(as_queries, mode=mode, print_ast=_as_subscription) for mode in (Mode.POSITIVE, Mode.NEGATIVE))
    return st.one_of(*generated, _plausible_briefings())


def _uncoded(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors that have no code, or the code of a server fault."""
    return [e for e in errors if (e.get("extensions") or {}).get("code") in (None, "", "INTERNAL")]


def _errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    payload = message.get("payload")
    if message.get("type") == "error":
        return payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
    if isinstance(payload, dict):
        return list(payload.get("errors") or [])
    return []


def _socket(server: LoggedServer, token: str) -> ClientConnection:
    ws = connect(server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10, max_size=None)
    ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
    return ws


def _run_on_socket(ws: ClientConnection, op: str, query: str, *, wait: float | None) -> list[dict[str, Any]]:
    """Send one operation and read its messages until it completes (or, with `wait`, until it is quiet
    that long, then stop it)."""
    ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {"query": query}}))
    messages: list[dict[str, Any]] = []
    while True:
        try:
            message = json.loads(ws.recv(timeout=wait if wait is not None else 30))
        except TimeoutError:
            if wait is None:
                raise
            ws.send(json.dumps({"id": op, "type": "complete"}))
            return messages
        if message.get("id") != op:
            continue
        messages.append(message)
        if message["type"] in ("complete", "error"):
            return messages


def _check_server(server: LoggedServer, offset: int) -> None:
    log = server.log_since(offset)
    assert TRACEBACK not in log, log[-4000:]
    assert server.ready()


def _fuzz(max_examples: int, strategy: st.SearchStrategy[str], check: Callable[[str], None]) -> None:
    @settings(SETTINGS, max_examples=max_examples)
    @given(query=strategy)
    def run(query: str) -> None:
        check(query)

    run()


def test_generated_operations_over_http_never_fail_the_server(fuzzed: LoggedServer) -> None:
    # given a signed-in client and the server's log so far
    client = GraphQLClient(fuzzed.http_url)
    token, offset = client.login("fuzzer"), fuzzed.log_size()

    def check(query: str) -> None:
        # when a generated operation (valid, or with one schema violation) is posted
        response = client.http.post(
            fuzzed.http_url, json={"query": query}, headers={"authorization": f"Bearer {token}"}
        )
        # then it is answered without a server fault, and every error is coded
        assert response.status_code < 500, (query, response.text)
        if response.status_code == 200:
            body = response.json()
            assert not _uncoded(body.get("errors") or []), (query, body)

    with closing(client.http):
        _fuzz(250, _operations(), check)
    # and the server logged no traceback and is still ready
    _check_server(fuzzed, offset)


def _fuzz_a_socket(
    fuzzed: LoggedServer, *, username: str, operations: st.SearchStrategy[str], count: int, wait: float | None
) -> None:
    # given a signed-in socket and the server's log so far
    client = GraphQLClient(fuzzed.http_url)
    with closing(client.http):
        token = client.login(username)
    offset, ops = fuzzed.log_size(), iter(range(1_000_000))
    with _socket(fuzzed, token) as ws:

        def check(query: str) -> None:
            # when a generated operation runs on it (a subscription for a moment, then stopped)
            try:
                messages = _run_on_socket(ws, str(next(ops)), query, wait=wait)
            except ConnectionClosed as closed:
                raise AssertionError(f"socket closed by {query!r}: {closed.rcvd}") from None
            # then every error it answers is coded, and none is a server fault
            for message in messages:
                assert not _uncoded(_errors_of(message)), (query, message)

        _fuzz(count, operations, check)
    # and the server logged no traceback and is still ready
    _check_server(fuzzed, offset)


def test_generated_operations_over_the_websocket_never_fail_the_server(fuzzed: LoggedServer) -> None:
    _fuzz_a_socket(fuzzed, username="wsfuzzer", operations=_operations(), count=200, wait=None)


def test_generated_subscriptions_never_fail_the_server(fuzzed: LoggedServer) -> None:
    _fuzz_a_socket(fuzzed, username="subfuzzer", operations=_subscriptions(), count=90, wait=SUBSCRIPTION_WAIT_SECONDS)
