"""A burst of concurrent briefing starts against the embedded store: no client sees a store error.

FerretDB on SQLite serialises writers; before writers took the lock at BEGIN (`_txlock=immediate`)
and transient refusals were retried, a burst of starts answered some clients with
`database is locked (SQLITE_BUSY)` and no data.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pymongo import MongoClient

from devtools.wsclient import BRIEFING, TransportWS
from tests.conftest import GraphQLClient, LiveServer, LiveWorker
from tests.engine.conftest import in_seconds

CLIENTS = 24


def _start_and_end(server: LiveServer, token: str) -> dict[str, Any]:
    with TransportWS(server.ws_url, token=token) as ws:
        op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(60)})
        first = next(iter(ws.events(op, timeout=60)))
        # start again at once: the running request is REPLACED in the same burst of writes
        again = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(60)})
        second = next(iter(ws.events(again, timeout=60)))
    return {"first": first, "second": second}


def test_a_burst_of_concurrent_starts_gets_every_client_its_briefing(
    gql: GraphQLClient, server: LiveServer, worker: LiveWorker, mongo_url: str
) -> None:
    # given many shop owners signed in
    tokens = [gql.login(f"burst{i:02d}") for i in range(CLIENTS)]
    # when all of them start a briefing, and then replace it, at the same moment
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda token: _start_and_end(server, token), tokens))
    for token in tokens:
        gql("mutation { endBriefing { message } }", token=token)
    # then every client got BriefingStarted twice, and no error
    assert all(r["first"].get("__typename") == "BriefingStarted" for r in results), results
    assert all(r["second"].get("__typename") == "BriefingStarted" for r in results), results
    # and the store holds two requests per owner, the first REPLACED, none still running
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        requests = list(client.get_default_database("briefing")["requests"].find({}))
    finally:
        client.close()
    assert len(requests) == 2 * CLIENTS
    assert [r.get("end_reason") for r in requests].count("REPLACED") == CLIENTS
    assert not [r for r in requests if r["status"] == "ACTIVE"]
