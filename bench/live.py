"""Helpers of the outside-in benchmarks (``bench/clients.py``, ``bench/reconnect.py``).

They drive a real ``briefing serve`` and ``briefing worker`` started as subprocesses (each logging
to a file in a scratch folder), over HTTP and graphql-transport-ws, as a shop owner's client does.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from bench.common import ROOT, cores, cpu_model, percentile
from devtools.aiows import END, LOGIN, START, AioSocket
from devtools.services import stop_process

PASSWORD = "correct horse battery"  # noqa: S105 - throwaway bench users


@dataclass
class Child:
    """A server or worker subprocess and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Everything the process has logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def problems(self) -> list[str]:
        """Log lines at WARNING or above, and traceback headers."""
        pattern = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|SQLITE_BUSY|database is locked")
        return [line for line in self.output().splitlines() if pattern.search(line)]

    def exceptions(self) -> list[str]:
        """The final line (type and message) of every traceback in the log."""
        found: list[str] = []
        inside = False
        for line in self.output().splitlines():
            if line.startswith("Traceback"):
                inside = True
            elif inside and line and not line[0].isspace():
                found.append(line.strip())
                inside = False
        return found

    def stop(self) -> None:
        """Terminate (then kill) the process."""
        stop_process(self.proc)

    def kill(self) -> None:
        """SIGKILL, no clean-up of any kind."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def keep_logs(children: Sequence[Child]) -> None:
    """Print each child's problems; when any logged a traceback, copy the logs somewhere that stays.

    ``BENCH_KEEP_LOGS=<folder>`` keeps every child's log there in any case (for example with
    ``BRIEFING_SLOW_QUERY_MS`` set, to read the slow store commands of a run)."""
    wanted = os.environ.get("BENCH_KEEP_LOGS")
    kept: Path | None = Path(wanted) if wanted else None
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        for child in children:
            shutil.copy(child.log, kept / child.log.name)
    for child in children:
        problems = child.problems()
        if problems:
            print(f"{child.name}: {len(problems)} warning/error log lines; first: {problems[0][:300]}")
        kinds = sorted(set(child.exceptions()))
        if kinds:
            print(f"{child.name}: exceptions logged: " + "; ".join(k[:200] for k in kinds[:5]))
            kept = kept or Path(tempfile.mkdtemp(prefix="bench-logs-"))
            shutil.copy(child.log, kept / child.log.name)
    if kept is not None:
        print(f"logs kept in {kept}")


def spawn(name: str, args: list[str], env: dict[str, str], scratch: Path) -> Child:
    """Start ``python -m server.cli <args>`` with its output in ``scratch/<name>.log``."""
    log = scratch / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return Child(name=name, proc=proc, log=log)


def spawn_api(name: str, port: int, env: dict[str, str], scratch: Path) -> Child:
    """Start ``briefing serve`` on 127.0.0.1:`port` (not waiting for it)."""
    return spawn(name, ["serve", "--host", "127.0.0.1", "--port", str(port)], env, scratch)


async def wait_until_serving(http: httpx.AsyncClient, port: int, *, within: float = 180.0) -> float:
    """Until the stack delivers a briefing end to end (the worker's imports are the slow part).

    A probe user starts a 1-second briefing and waits for its first `Briefing`, then ends it.
    Returns the seconds it took."""
    began = time.monotonic()
    http_url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
    (token,) = await sign_up(http, http_url, ["bench-probe"])
    sock = await AioSocket.open(ws_url, token)
    try:
        endtime = (datetime.now(UTC) + timedelta(seconds=within + 60)).isoformat(timespec="seconds")
        await sock.subscribe("probe", START, {"i": 1, "e": endtime, "c": "demo"})
        if not await until(lambda: bool(sock.briefings("probe")) or sock.closed, within=within):
            raise TimeoutError(f"no briefing delivered within {within} s")
        if sock.errors("probe"):
            raise RuntimeError(f"the probe briefing failed: {sock.errors('probe')}")
    finally:
        await end_briefings(http, http_url, [token])
        await sock.close()
    return time.monotonic() - began


def machine_lines() -> list[str]:
    """The machine and how busy it was when the run began (other processes share the cores)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"machine: {cpu_model()}; {cores()}", f"load average at start (1/5/15 min): {load}"]


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process (NaN when it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    except psutil.Error:
        return float("nan")


class CpuMeter:
    """CPU cores each named process used between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._t0 = 0.0
        self._before: dict[str, float] = {}

    def start(self) -> None:
        """Note the CPU times now."""
        self._t0 = time.monotonic()
        self._before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> str:
        """``name cores, ...`` since `start()`."""
        elapsed = max(1e-9, time.monotonic() - self._t0)
        used = {name: (cpu_seconds(pid) - self._before[name]) / elapsed for name, pid in self.pids.items()}
        return ", ".join(f"{name} {value:.2f}" for name, value in used.items())


async def graphql(
    http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> dict[str, Any]:
    """POST one GraphQL operation; the decoded body."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(url, json={"query": query, "variables": variables or {}}, headers=headers)
    try:
        body: dict[str, Any] = response.json()
    except ValueError:  # not GraphQL at all: a plain 500 from the ASGI server, say
        return {"errors": [{"message": f"HTTP {response.status_code}: {response.text[:200]}"}]}
    return body


async def sign_up(http: httpx.AsyncClient, url: str, names: Sequence[str], *, concurrency: int = 6) -> list[str]:
    """Sign every name up with the `login` mutation (password hashing is the slow part); their tokens."""
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str) -> str:
        async with gate:
            body = await graphql(http, url, LOGIN, {"u": name, "p": PASSWORD})
            if body.get("errors"):
                raise RuntimeError(f"login {name}: {body['errors']}")
            return str(body["data"]["login"]["token"])

    return list(await asyncio.gather(*(one(name) for name in names)))


async def end_briefings(
    http: httpx.AsyncClient, url: str, tokens: Iterable[str], *, concurrency: int = 20
) -> list[str]:
    """`endBriefing` for every token; the error messages of those that failed (NOT_FOUND included)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(token: str) -> str | None:
        async with gate:
            try:
                body = await graphql(http, url, END, token=token)
            except httpx.HTTPError as error:
                return f"{type(error).__name__}: {error}"
            if body.get("errors"):
                return str(body["errors"][0].get("message"))
            return None

    results = await asyncio.gather(*(one(token) for token in tokens))
    return [r for r in results if r is not None]


async def until(predicate: Callable[[], bool], *, within: float, every: float = 0.05) -> bool:
    """Poll `predicate` until it holds (True) or `within` seconds pass (False)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


def ms(values_s: Sequence[float], q: float) -> float:
    """The q-th percentile of seconds, in milliseconds."""
    return percentile(values_s, q) * 1e3
