"""Shop owners' clients, measured from outside: N users, each with its own 1-second briefing.

Run from the repository root::

    .venv/bin/python bench/clients.py --n 100            # 100 clients, 30 s steady
    .venv/bin/python bench/clients.py --shrink           # 300 clients for 20 s, then 200 end; 100 for 15 s

It starts a throwaway FerretDB and Redis (or uses ``TEST_MONGODB_URI`` / ``TEST_REDIS_URL``, whose
data it clears), then ``briefing serve`` (``python -m server.cli serve``) and one ``briefing worker``
as subprocesses. This process is every client (asyncio, the ``websockets`` library, one socket per
client): each signs up its own user with the ``login`` mutation over HTTP, opens a
graphql-transport-ws socket authenticated in ``connection_init``, and subscribes
``briefing(interval: 1, endtime, cameraId: "demo")``. Client starts are spread over ``--ramp``
seconds. The first event, ``BriefingStarted``, carries the request's ``startsAt`` and ``interval``.

Figures, for ticks due inside the measured window (which begins ``WARMUP`` seconds after the last
client got its ``BriefingStarted``):

* delivery lateness of a ``Briefing`` = client receive time (``time.time()`` on receipt, before
  parsing) minus its due time ``startsAt + (seq-1)·interval`` -- what the owner sees;
* delivered = Briefings received of those due in the window, per client (a tick the worker
  skipped, or one still missing ``GRACE`` seconds after the window, counts as not delivered);
* errors = GraphQL errors received, sockets refused or closed by the server, and Briefings whose
  ``error`` is set (a failed frame: the briefing carries on, but the owner sees no counts).

``--shrink``: 300 clients for 20 s, then 200 of them call ``endBriefing`` and close; the remaining
100 are measured for 15 s from that moment, per second of due time, to see when they are back on
time (the property "after an overload ends, those left are on time again").

At the end every remaining client calls ``endBriefing`` and must receive ``BriefingEnded``, so
nothing keeps running. Goals: every briefing delivered and p99 <= 100 ms at 100 clients; after the
shrink, p99 <= 100 ms within 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil  # type: ignore[import-untyped]
from websockets.exceptions import WebSocketException

from bench.common import Goal, demo_camera_file, ms_summary, percentile
from bench.live import (
    Child,
    CpuMeter,
    end_briefings,
    keep_logs,
    machine_lines,
    sign_up,
    spawn,
    spawn_api,
    until,
    wait_until_serving,
)
from devtools.aiows import START, AioSocket, Refused, parse_time
from devtools.services import Service, backing_services, clear_data, free_port, service_env, wait_for_port

GOAL_P99_MS = 100.0
GOAL_RECOVERY_S = 15.0
WARMUP = 3.0
GRACE = 3.0
OP = "b"


@dataclass
class Client:
    """One shop owner: a user, a socket, and the request its `briefing` started."""

    name: str
    token: str
    sock: AioSocket | None = None
    request_id: str | None = None
    starts_at: float = math.nan
    interval: int = 1
    started_in: float = math.nan
    refused: str | None = None

    def due(self, seq: int) -> float:
        """Due time of tick `seq`: startsAt + (seq-1)·interval."""
        return self.starts_at + (seq - 1) * self.interval

    def seqs_due(self, t0: float, t1: float) -> range:
        """The seqs whose due time lies in [t0, t1)."""
        if math.isnan(self.starts_at):
            return range(0)
        first = max(1, math.ceil((t0 - self.starts_at) / self.interval) + 1)
        last = math.ceil((t1 - self.starts_at) / self.interval)  # due(last) < t1 <= due(last + 1)
        return range(first, max(first, last + 1))


async def start_client(client: Client, ws_url: str, *, endtime: str, delay: float) -> None:
    """After `delay`, connect and subscribe `briefing`; note the request from BriefingStarted."""
    await asyncio.sleep(delay)
    began = time.time()
    try:
        client.sock = await AioSocket.open(ws_url, client.token, within=60)
    except (Refused, OSError, TimeoutError, WebSocketException) as error:
        client.refused = f"{type(error).__name__}: {error}"
        return
    sock = client.sock
    await sock.subscribe(OP, START, {"i": 1, "e": endtime, "c": "demo"})
    if not await until(lambda: bool(sock.events(OP)) or sock.closed, within=60):
        client.refused = "no BriefingStarted within 60 s"
        return
    events = sock.events(OP)
    if not events or events[0][1].get("__typename") != "BriefingStarted":
        client.refused = f"first event was not BriefingStarted: {sock.errors(OP) or events[:1]}"
        return
    request = events[0][1]["request"]
    client.request_id = str(request["id"])
    client.starts_at = parse_time(str(request["startsAt"]))
    client.interval = int(request["interval"])
    client.started_in = events[0][0] - began


@dataclass
class Window:
    """What a set of clients received of the ticks due in [t0, t1)."""

    t0: float
    t1: float
    lateness: list[float] = field(default_factory=list)
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    failed_frames: int = 0
    by_second: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    expected_by_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def delivered(self) -> float:
        """Received / expected."""
        return self.received / self.expected if self.expected else math.nan

    def p99_ms(self) -> float:
        """p99 lateness in milliseconds."""
        return percentile(self.lateness, 99) * 1e3


def measure(clients: Sequence[Client], t0: float, t1: float) -> Window:
    """Lateness and delivery of the Briefings due in [t0, t1) to these clients."""
    window = Window(t0=t0, t1=t1)
    for client in clients:
        if client.sock is None:
            continue
        due = client.seqs_due(t0, t1)
        window.expected += len(due)
        for seq in due:
            window.expected_by_second[int(client.due(seq) - t0)] += 1
        seen: set[int] = set()
        for at, event in client.sock.briefings(OP):
            seq = int(event["seq"])
            if seq not in due:
                continue
            if seq in seen:
                window.duplicates += 1
                continue
            seen.add(seq)
            late = at - client.due(seq)
            window.lateness.append(late)
            window.by_second[int(client.due(seq) - t0)].append(late)
            if event.get("error"):
                window.failed_frames += 1
        window.received += len(seen)
    return window


def error_counts(clients: Sequence[Client], *, ended: bool = False) -> dict[str, int]:
    """GraphQL errors received, refused starts, sockets the server closed (before `ended`)."""
    graphql_errors = sum(len(c.sock.errors(OP)) for c in clients if c.sock is not None)
    refused = sum(c.refused is not None for c in clients)
    closed = sum(1 for c in clients if c.sock is not None and c.sock.closed and not ended)
    return {"GraphQL errors": graphql_errors, "refused": refused, "closed by server": closed}


def report(title: str, clients: Sequence[Client], window: Window, cpu: str) -> None:
    """Print one window's figures."""
    print()
    print(f"{title}: {len(clients)} clients, ticks due in a {window.t1 - window.t0:.0f} s window")
    print(f"  delivery lateness (receive - due)  {ms_summary(window.lateness)}")
    print(
        f"  delivered {window.received} of {window.expected} due ({window.delivered:.4f}); "
        f"duplicates {window.duplicates}; failed frames (Briefing.error) {window.failed_frames}"
    )
    print("  errors: " + ", ".join(f"{k} {v}" for k, v in error_counts(clients).items()))
    print(f"  CPU cores busy: {cpu}")


def recovery(window: Window, *, goal_ms: float) -> float:
    """Seconds after t0 from which every 1-second bucket is fully delivered with p99 <= goal (inf: never)."""
    seconds = sorted(window.expected_by_second)
    ok_from = math.inf
    for second in reversed(seconds):
        late = window.by_second.get(second, [])
        if len(late) < window.expected_by_second[second] or percentile(late, 99) * 1e3 > goal_ms:
            break
        ok_from = float(second)
    return ok_from


async def finish(http: httpx.AsyncClient, http_url: str, clients: Sequence[Client]) -> None:
    """endBriefing for every client still running; each must then receive BriefingEnded."""
    running = [c for c in clients if c.sock is not None and c.request_id is not None]
    failures = await end_briefings(http, http_url, [c.token for c in running])
    got_end = await until(lambda: all(_ended(c) for c in running), within=20)
    ended = sum(_ended(c) for c in running)
    print(
        f"end: endBriefing for {len(running)} clients, {len(failures)} failed"
        + (f" (first: {failures[0]})" if failures else "")
        + f"; BriefingEnded received by {ended}"
        + ("" if got_end else " (timed out after 20 s)")
    )
    await asyncio.gather(*(c.sock.close() for c in clients if c.sock is not None))


def _ended(client: Client) -> bool:
    sock = client.sock
    return sock is not None and any(e.get("__typename") == "BriefingEnded" for _, e in sock.events(OP))


async def open_clients(
    clients: Sequence[Client], ws_url: str, *, ramp: float, endtime: str, label: str
) -> tuple[float, float]:
    """Start every client (spread over `ramp` seconds); returns when the last got BriefingStarted."""
    began = time.time()
    spread = ramp / max(1, len(clients))
    await asyncio.gather(*(start_client(c, ws_url, endtime=endtime, delay=i * spread) for i, c in enumerate(clients)))
    ready = time.time()
    acks = [c.sock.ack_seconds for c in clients if c.sock is not None]
    starts = [c.started_in for c in clients if not math.isnan(c.started_in)]
    print(f"{label}: {len(clients)} clients opened over {ramp:g} s, all started after {ready - began:.1f} s")
    print(f"  connect -> connection_ack       {ms_summary(acks)}")
    print(f"  connect -> BriefingStarted      {ms_summary(starts)}")
    refused = [c.refused for c in clients if c.refused]
    if refused:
        print(f"  {len(refused)} clients could not start; first: {refused[0]}")
    return began, ready


async def run_steady(
    http: httpx.AsyncClient, port: int, clients: Sequence[Client], *, seconds: float, ramp: float, meter: CpuMeter
) -> list[str]:
    """N clients for `seconds`; the goal lines."""
    ws_url = f"ws://127.0.0.1:{port}/graphql"
    endtime = (datetime.now(UTC) + timedelta(seconds=seconds + 600)).isoformat(timespec="seconds")
    _, ready = await open_clients(clients, ws_url, ramp=ramp, endtime=endtime, label="start")
    steady = await measure_window(clients, ready + WARMUP, seconds, meter)
    report("steady", clients, steady.window, steady.cpu)
    errors = sum(error_counts(clients).values())
    return [
        Goal("p99 delivery lateness", steady.window.p99_ms(), GOAL_P99_MS, "ms").line(),
        f"delivered {steady.window.delivered:.4f} of due (goal 1, ratio {steady.window.delivered:.4f}); "
        f"errors {errors} (goal 0)",
    ]


@dataclass
class Measured:
    """A measured window and the CPU used during it."""

    window: Window
    cpu: str


async def measure_window(clients: Sequence[Client], t0: float, seconds: float, meter: CpuMeter) -> Measured:
    """Wait for `t0`, let `seconds` pass, wait GRACE for the last deliveries, measure [t0, t0 + seconds)."""
    await asyncio.sleep(max(0.0, t0 - time.time()))
    meter.start()
    await asyncio.sleep(max(0.0, t0 + seconds - time.time()))
    t1 = min(time.time(), t0 + seconds)  # the window is `seconds` long even when the caller came late
    cpu = meter.stop()
    await asyncio.sleep(GRACE)
    return Measured(window=measure(clients, t0, t1), cpu=cpu)


async def run_shrink(
    http: httpx.AsyncClient,
    port: int,
    clients: Sequence[Client],
    *,
    keep: int,
    before: float,
    after: float,
    ramp: float,
    meter: CpuMeter,
) -> list[str]:
    """All clients for `before` seconds, then all but `keep` end; the rest measured for `after` s."""
    http_url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
    endtime = (datetime.now(UTC) + timedelta(seconds=before + after + 600)).isoformat(timespec="seconds")
    _, ready = await open_clients(clients, ws_url, ramp=ramp, endtime=endtime, label="start")
    loaded = await measure_window(clients, ready + WARMUP, before, meter)
    report("before the shrink", clients, loaded.window, loaded.cpu)

    leaving, staying = clients[keep:], clients[:keep]
    ts = time.time()
    failures = await end_briefings(http, http_url, [c.token for c in leaving], concurrency=50)
    ended_in = time.time() - ts
    await until(lambda: all(_ended(c) for c in leaving), within=after)
    got_end = sum(_ended(c) for c in leaving)
    await asyncio.gather(*(c.sock.close() for c in leaving if c.sock is not None))
    for c in leaving:
        c.sock = None  # ended: measured no more
    print()
    print(
        f"shrink: endBriefing for {len(leaving)} clients took {ended_in:.1f} s "
        f"({len(failures)} failed{': ' + failures[0] if failures else ''}); "
        f"BriefingEnded received by {got_end}; their sockets closed"
    )
    shrunk = await measure_window(staying, ts, after, meter)
    report(f"after the shrink ({after:g} s from its start)", staying, shrunk.window, shrunk.cpu)
    window = shrunk.window
    cells = []
    for second in sorted(window.expected_by_second):
        late = window.by_second.get(second, [])
        cells.append(f"+{second}s {percentile(late, 99) * 1e3:.0f}ms {len(late)}/{window.expected_by_second[second]}")
    print("  per second of due time (p99, delivered/due):")
    for i in range(0, len(cells), 5):
        print("    " + "   ".join(cells[i : i + 5]))
    back = recovery(window, goal_ms=GOAL_P99_MS)
    tail = measure(staying, ts + after - 5.0, window.t1)
    print(f"  last 5 s: {ms_summary(tail.lateness)}; delivered {tail.delivered:.4f}")
    errors = sum(error_counts(staying).values())
    return [
        f"before the shrink, {len(clients)} clients: p99 {loaded.window.p99_ms():.1f} ms, "
        f"delivered {loaded.window.delivered:.4f} (overload: no goal)",
        Goal("time until every second is on time after the shrink", back, GOAL_RECOVERY_S, "s").line(),
        Goal("p99 delivery lateness, last 5 s after the shrink", tail.p99_ms(), GOAL_P99_MS, "ms").line(),
        f"after the shrink: delivered {window.delivered:.4f} of due; errors {errors} (goal 0)",
    ]


async def run(
    *, port: int, n: int, seconds: float, shrink: bool, ramp: float, meter: CpuMeter, children: Sequence[Child]
) -> None:
    """The client side of the benchmark; prints the figures."""
    http_url = f"http://127.0.0.1:{port}/graphql"
    total = 300 if shrink else n
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as http:
        began = time.perf_counter()
        names = [f"shop-{i:04d}" for i in range(total)]
        # sign the users up while the worker starts (both before anything is measured)
        ready_in, tokens = await asyncio.gather(wait_until_serving(http, port), sign_up(http, http_url, names))
        print(
            f"signed up {total} users, and a probe briefing was delivered, {time.perf_counter() - began:.1f} s "
            f"after the API listened (probe: {ready_in:.1f} s)"
        )
        clients = [Client(name=name, token=token) for name, token in zip(names, tokens, strict=True)]
        try:
            if shrink:
                goals = await run_shrink(http, port, clients, keep=100, before=20.0, after=15.0, ramp=ramp, meter=meter)
            else:
                goals = await run_steady(http, port, clients, seconds=seconds, ramp=ramp, meter=meter)
            print()
            await finish(http, http_url, [c for c in clients if c.sock is not None])
        finally:
            leftover = [c.token for c in clients if c.sock is not None or c.refused]
            await end_briefings(http, http_url, leftover)  # best effort: nothing keeps running
    keep_logs(children)
    print()
    for line in goals:
        print(line)


def bench(*, n: int, seconds: float, shrink: bool, ramp: float, mongo: Service, redis_svc: Service) -> None:
    """Start server and worker against the store and Redis, run the clients, stop everything."""
    clear_data(mongo_url=mongo.url, redis_url=redis_svc.url)
    for line in machine_lines():
        print(line)
    with tempfile.TemporaryDirectory(prefix="bench-clients-") as scratch_dir:
        scratch = Path(scratch_dir)
        cameras_file, detector_note = demo_camera_file(scratch)
        extra = {"BRIEFING_CAMERAS_FILE": str(cameras_file)} if cameras_file else {}
        env = service_env(mongo_url=mongo.url, redis_url=redis_svc.url, **extra)
        print(f"{detector_note}; interval 1 s, template captions; one API process, one worker")
        port = free_port()
        children: list[Child] = []
        try:
            server = spawn_api("api", port, env, scratch)
            children.append(server)
            worker = spawn("worker", ["worker"], env, scratch)
            children.append(worker)
            wait_for_port(port, timeout=90, proc=server.proc)
            pids = {"api": server.proc.pid, "worker": worker.proc.pid, "client": psutil.Process().pid}
            pids.update({name: s.proc.pid for name, s in (("ferretdb", mongo), ("redis", redis_svc)) if s.proc})
            meter = CpuMeter(pids)
            asyncio.run(
                asyncio.wait_for(
                    run(port=port, n=n, seconds=seconds, shrink=shrink, ramp=ramp, meter=meter, children=children),
                    timeout=seconds + 600,
                )
            )
        finally:
            for child in reversed(children):
                child.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, start the backing services, run, stop everything."""
    parser = argparse.ArgumentParser(description="N shop owners' briefings, measured from their clients")
    parser.add_argument("--n", type=int, default=100, help="clients, each its own user and briefing (default 100)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window (default 30)")
    parser.add_argument("--ramp", type=float, default=1.0, help="client starts spread over this many seconds")
    parser.add_argument("--shrink", action="store_true", help="300 clients for 20 s, then 200 end; 100 for 15 s")
    args = parser.parse_args(argv)
    with backing_services() as (mongo, redis_svc):
        bench(n=args.n, seconds=args.seconds, shrink=args.shrink, ramp=args.ramp, mongo=mongo, redis_svc=redis_svc)


if __name__ == "__main__":
    main()
