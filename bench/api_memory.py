"""Resident memory of an idle API process (`briefing serve`), and which heavy libraries it loaded.

Starts FerretDB and Redis (or uses TEST_MONGODB_URI / TEST_REDIS_URL), then `briefing serve` from
the source tree given by `--root` (default: this checkout, so two trees can be compared), signs a
user up, lists cameras and starts and ends one briefing; prints the process's RSS and whether
torch, PyAV, NumPy or Pillow are loaded (read from `/proc/<pid>/maps`).

    python -m bench.api_memory [--root OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

from bench.common import ROOT, cores, cpu_model
from devtools.services import backing_services, free_port, service_env, stop_process, wait_for_port
from devtools.wsclient import BRIEFING, TransportWS

HEAVY = {"torch": "libtorch", "av": "libavcodec", "numpy": "numpy", "PIL": "PIL"}


def _gql(http: httpx.Client, url: str, query: str, token: str | None = None) -> dict[str, object]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body: dict[str, object] = http.post(url, json={"query": query}, headers=headers).json()
    return body


def measure(root: Path) -> tuple[float, list[str]]:
    """RSS in MiB after start-up and one briefing, and the heavy libraries mapped in."""
    with backing_services() as (mongo, redis):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=service_env(mongo_url=mongo.url, redis_url=redis.url),
        )
        try:
            wait_for_port(port, timeout=60, proc=proc)
            url = f"http://127.0.0.1:{port}/graphql"
            with httpx.Client(timeout=30) as http:
                login = _gql(http, url, 'mutation { login(username: "memory", password: "correct horse") { token } }')
                token = str(login["data"]["login"]["token"])  # type: ignore[index]
                _gql(http, url, "{ cameras { id } requests { id } }", token)
                with TransportWS(f"ws://127.0.0.1:{port}/graphql", token=token) as ws:
                    ws.recv(ws.subscribe(BRIEFING, {"i": 60, "e": "23:59"}), timeout=30)
                _gql(http, url, "mutation { endBriefing { message } }", token)
            time.sleep(1.0)
            rss = psutil.Process(proc.pid).memory_info().rss / 2**20
            maps = Path(f"/proc/{proc.pid}/maps").read_text()
            loaded = [name for name, marker in HEAVY.items() if marker in maps]
        finally:
            stop_process(proc)
    return rss, loaded


def main() -> None:
    """Print the API process's memory for one source tree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to run (default: this checkout)")
    args = parser.parse_args()
    rss, loaded = measure(args.root.resolve())
    print(f"machine: {cpu_model()}, {cores()}")
    print(f"API process RSS after start-up and one briefing: {rss:.1f} MiB")
    print(f"heavy libraries loaded: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
