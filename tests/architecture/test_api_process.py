"""The API process stays light: serving GraphQL never imports PyTorch, PyAV, NumPy or Pillow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from devtools.services import free_port, stop_process, wait_for_port
from devtools.wsclient import BRIEFING, TransportWS
from tests.conftest import ROOT, GraphQLClient, service_env

HEAVY = ("torch", "torchvision", "av", "numpy", "PIL")
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")


def _imported_modules(log: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {match.group(1) for line in log.splitlines() if (match := _IMPORTED.match(line))}


def test_serving_the_api_imports_no_vision_library(mongo_url: str, redis_url: str, tmp_path: Path) -> None:
    # given `briefing serve` started as the console script does, recording every import it makes
    port = free_port()
    log_path = tmp_path / "imports.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "server.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=service_env(mongo_url=mongo_url, redis_url=redis_url),
            stderr=log,
        )
        try:
            wait_for_port(port, timeout=60, proc=proc)
            # when it signs a user up, lists the cameras and starts a briefing over the WebSocket
            gql = GraphQLClient(f"http://127.0.0.1:{port}/graphql")
            token = gql.login("lightweight")
            assert "errors" not in gql("{ cameras { id name } requests { id } }", token=token)
            with TransportWS(f"ws://127.0.0.1:{port}/graphql", token=token) as ws:
                op = ws.subscribe(BRIEFING, {"i": 60, "e": "23:59"})
                first = ws.recv(op, timeout=30)
            assert first["type"] == "next", first
            gql("mutation { endBriefing { message } }", token=token)
            gql.http.close()
        finally:
            stop_process(proc)
    # then none of the vision libraries was ever imported
    imported = _imported_modules(log_path.read_text())
    assert "server.app" in imported  # the log is the server's
    heavy = sorted(name for name in imported if name.split(".", 1)[0] in HEAVY)
    assert not heavy, heavy
