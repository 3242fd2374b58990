"""Session fixtures: a real FerretDB (or TEST_MONGODB_URI), a real Redis (or TEST_REDIS_URL), and a
real uvicorn running the API against them. Data is cleared before every test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.services import Service, backing_services, clear_data, free_port, stop_process, wait_for_port
from devtools.services import service_env as service_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def backing() -> Iterator[tuple[Service, Service]]:
    """The MongoDB-compatible store and Redis for the whole session."""
    with backing_services() as services:
        yield services


@pytest.fixture(scope="session")
def mongo_url(backing: tuple[Service, Service]) -> str:
    """URI of the test database."""
    return backing[0].url


@pytest.fixture(scope="session")
def redis_url(backing: tuple[Service, Service]) -> str:
    """URL of the test Redis."""
    return backing[1].url


@dataclass
class LiveServer:
    """A uvicorn process serving the API on a loopback port."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc)


def start_server(*, env: dict[str, str], port: int | None = None) -> LiveServer:
    """Start `briefing serve` in a subprocess and wait until it accepts connections."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    wait_for_port(port, timeout=60, proc=proc)
    return LiveServer(port=port, proc=proc)


@pytest.fixture(scope="session")
def server(mongo_url: str, redis_url: str) -> Iterator[LiveServer]:
    """One real uvicorn for the session (dev profile, so introspection is on)."""
    live = start_server(
        env=service_env(mongo_url=mongo_url, redis_url=redis_url, BRIEFING_ALLOWED_ORIGINS="http://allowed.example")
    )
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    """Tests that use the backing services start from empty data."""
    if "backing" in request.fixturenames or any(
        name in request.fixturenames for name in ("server", "mongo_url", "redis_url", "gql")
    ):
        backing: tuple[Service, Service] = request.getfixturevalue("backing")
        clear_data(mongo_url=backing[0].url, redis_url=backing[1].url)


class GraphQLClient:
    """A small GraphQL-over-HTTP client for tests, speaking to the live server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=30)

    def __call__(
        self,
        query: str,
        variables: dict[str, object] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        merged = {"content-type": "application/json", **(headers or {})}
        if token:
            merged["authorization"] = f"Bearer {token}"
        response = self.http.post(self.url, json={"query": query, "variables": variables or {}}, headers=merged)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def login(self, username: str, password: str = "correct horse") -> str:
        body = self(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { message userId token } }",
            {"u": username, "p": password},
        )
        assert "errors" not in body, body
        return str(body["data"]["login"]["token"])


@pytest.fixture
def gql(server: LiveServer) -> Iterator[GraphQLClient]:
    """A GraphQL client bound to the session's live server."""
    client = GraphQLClient(server.http_url)
    yield client
    client.http.close()


def error_codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of every error in a GraphQL response."""
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


@dataclass
class LiveWorker:
    """A `briefing worker` process."""

    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.proc, timeout=15)

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to clean up."""
        self.proc.kill()
        self.proc.wait()


def start_worker(*, env: dict[str, str]) -> LiveWorker:
    """Start `briefing worker` in a subprocess."""
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], cwd=ROOT, env=env)
    return LiveWorker(proc=proc)


@pytest.fixture(scope="session")
def worker(mongo_url: str, redis_url: str, server: LiveServer) -> Iterator[LiveWorker]:
    """One real worker for the session, sharing the session's FerretDB and Redis."""
    live = start_worker(env=service_env(mongo_url=mongo_url, redis_url=redis_url))
    yield live
    live.stop()
