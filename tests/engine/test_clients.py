"""Real third-party clients against the real server and worker: Apollo Client (Node) and gql's legacy graphql-ws."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from typing import Any

import pytest
from bson import ObjectId
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from pymongo import MongoClient

from devtools.wsclient import BRIEFING
from tests.conftest import ROOT, GraphQLClient, LiveServer, LiveWorker
from tests.engine.conftest import in_seconds

DRIVER = ROOT / "web" / "apollo-briefing.mjs"
NODE_MODULES = ROOT / "web" / "node_modules"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Apollo Client driver (web/apollo-briefing.mjs) needs Node 20+")
    assert (NODE_MODULES / "@apollo" / "client").is_dir() and (NODE_MODULES / "graphql-ws").is_dir(), (
        "web/node_modules is incomplete: run `npm ci --prefix web --no-audit --no-fund` (make test does)"
    )
    return node


def test_apollo_client_receives_briefings_and_the_end(server: LiveServer, worker: LiveWorker, mongo_url: str) -> None:
    node = _node()
    run = subprocess.run(
        [
            node,
            str(DRIVER),
            "--http",
            server.http_url,
            "--username",
            "apollo",
            "--password",
            "correct horse",
            "--interval",
            "1",
            "--endtime",
            in_seconds(120),
            "--min-briefings",
            "3",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, f"driver exited {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    lines: list[dict[str, Any]] = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    *events, last = lines
    summary = last["summary"]
    assert events[0]["__typename"] == "BriefingStarted"
    request_id = events[0]["request"]["id"]
    briefings = [e for e in events if e["__typename"] == "Briefing"]
    assert len(briefings) >= 3
    seqs = [b["seq"] for b in briefings]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert all(b["caption"] for b in briefings)
    ended = events[-1]
    assert (ended["__typename"], ended["reason"]) == ("BriefingEnded", "ENDED_BY_USER")
    assert (ended["request"]["id"], ended["request"]["status"]) == (request_id, "ENDED")
    assert [e["__typename"] for e in events].count("BriefingEnded") == 1
    assert summary["ok"] is True
    assert summary["loginMessage"] == "signup"
    assert summary["requestId"] == request_id
    assert summary["seqs"] == seqs and summary["briefings"] == len(briefings)
    assert summary["endBriefingCalled"] is True and summary["endMessage"] == "브리핑 성공적으로 종료"
    assert (summary["endReason"], summary["endRequestStatus"], summary["completed"]) == ("ENDED_BY_USER", "ENDED", True)
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        stored = client.get_default_database("briefing")["requests"].find_one({"_id": ObjectId(request_id)})
    finally:
        client.close()
    assert stored is not None
    assert (stored["status"], stored["end_reason"]) == ("ENDED", "ENDED_BY_USER")


def test_legacy_graphql_ws_client_streams_a_briefing(server: LiveServer, gql: GraphQLClient, token: str) -> None:
    transport = WebsocketsTransport(
        url=server.ws_url,
        subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL],  # "graphql-ws", the legacy protocol, and only it
        init_payload={"authorization": f"Bearer {token}"},
    )

    async def scenario() -> tuple[str | None, list[dict[str, Any]]]:
        received: list[dict[str, Any]] = []
        async with Client(transport=transport) as session:
            protocol = transport.subprotocol
            stream = session.subscribe(GraphQLRequest(BRIEFING, variable_values={"i": 1, "e": in_seconds(120)}))
            ending = None
            async for result in stream:
                event = result["briefing"]
                received.append(event)
                if sum(e["__typename"] == "Briefing" for e in received) == 2 and ending is None:
                    ending = asyncio.create_task(
                        asyncio.to_thread(gql, "mutation { endBriefing { message } }", token=token)
                    )
                if event["__typename"] == "BriefingEnded":
                    break
            assert ending is not None
            body = await ending
            assert body["data"] == {"endBriefing": {"message": "브리핑 성공적으로 종료"}}, body
        return protocol, received

    protocol, events = asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert protocol == "graphql-ws"
    assert events[0]["__typename"] == "BriefingStarted"
    request_id = events[0]["request"]["id"]
    briefings = events[1:-1]
    assert len(briefings) >= 2 and all(b["__typename"] == "Briefing" for b in briefings)
    seqs = [b["seq"] for b in briefings]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(b["requestId"] == request_id for b in briefings)
    assert events[-1]["__typename"] == "BriefingEnded"
    assert events[-1]["reason"] == "ENDED_BY_USER"
    assert events[-1]["request"]["id"] == request_id and events[-1]["request"]["status"] == "ENDED"
