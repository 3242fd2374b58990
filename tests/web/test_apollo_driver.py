"""web/apollo-briefing.mjs against a stand-in server that speaks the public briefing contract."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "web" / "apollo-briefing.mjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (ROOT / "web" / "node_modules" / "@apollo" / "client").is_dir(),
    reason="needs node and web/node_modules; run: npm ci --prefix web --no-audit --no-fund",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stub_port() -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.web.stub_server", "--port", str(port)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the stub server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _drive(*args: str, timeout: float = 30) -> tuple[int, list[dict[str, Any]], str]:
    assert NODE is not None
    done = subprocess.run([NODE, str(DRIVER), *args], capture_output=True, text=True, timeout=timeout, check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines, done.stderr


def test_logs_in_streams_ends_and_summarises(stub_port: int) -> None:
    code, lines, stderr = _drive(
        "--http",
        f"http://127.0.0.1:{stub_port}/graphql",
        "--username",
        "alice",
        "--password",
        "secret123",
        "--interval",
        "1",
        "--min-briefings",
        "2",
        "--timeout",
        "20",
    )

    assert code == 0, stderr
    *events, last = lines
    kinds = [event["__typename"] for event in events]
    assert kinds == ["BriefingStarted", "Briefing", "Briefing", "BriefingEnded"]
    assert [event["seq"] for event in events if event["__typename"] == "Briefing"] == [1, 2]
    assert events[1]["caption"].endswith("(demo)")
    assert events[-1]["reason"] == "ENDED_BY_USER"
    summary = last["summary"]
    assert summary["ok"] is True
    assert summary["briefings"] == 2
    assert summary["endBriefingCalled"] is True
    assert summary["completed"] is True
    assert summary["requestId"] == events[0]["request"]["id"]


def test_refused_websocket_token_fails_cleanly(stub_port: int) -> None:
    code, lines, stderr = _drive(
        "--http",
        f"http://127.0.0.1:{stub_port}/graphql",
        "--username",
        "rejectme",
        "--password",
        "x",
        "--timeout",
        "10",
    )

    assert code == 1
    assert "4403" in stderr
    assert lines[-1]["summary"]["ok"] is False


def test_closed_port_fails_cleanly() -> None:
    port = _free_port()
    code, lines, stderr = _drive("--http", f"http://127.0.0.1:{port}/graphql", "--username", "a", "--password", "b")

    assert code == 1
    assert "ECONNREFUSED" in stderr
    assert lines == [{"summary": lines[0]["summary"]}]
    assert lines[0]["summary"]["ok"] is False


def test_timeout_exits_3(stub_port: int) -> None:
    code, lines, stderr = _drive(
        "--http",
        f"http://127.0.0.1:{stub_port}/graphql",
        "--username",
        "slow",
        "--password",
        "x",
        "--min-briefings",
        "50",
        "--timeout",
        "1.5",
    )

    assert code == 3
    assert "timed out" in stderr
    assert lines[-1]["summary"]["ok"] is False


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--http", "http://127.0.0.1:1/graphql", "--username", "a"],
        ["--http", "not a url", "--username", "a", "--password", "b"],
        ["--http", "http://127.0.0.1:1/graphql", "--username", "a", "--password", "b", "--interval", "0"],
        ["--http", "http://127.0.0.1:1/graphql", "--username", "a", "--password", "b", "--bogus"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, lines, stderr = _drive(*args)

    assert code == 2
    assert "usage:" in stderr
    assert lines == []
