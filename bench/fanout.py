"""Live fan-out: 1000 and then 5000 `reloadBriefing` subscribers on one running request, in one run.

Run from the repository root::

    .venv/bin/python -m bench.fanout                          # 1000, then 5000 subscriptions, 10 per socket
    .venv/bin/python -m bench.fanout --per-socket 1           # one subscription per socket
    .venv/bin/python -m bench.fanout --deflate                # the server with per-message deflate on
    .venv/bin/python -m bench.fanout --no-coalesce            # one socket write per frame (uvicorn's own)

It starts a throwaway FerretDB and Redis (or uses ``TEST_MONGODB_URI`` / ``TEST_REDIS_URL``, whose
data it clears), the API server (``python -m server.cli serve``: uvicorn with the loop and HTTP
implementations it picks itself, uvloop and httptools when installed) and one worker
(``python -m server.cli worker``) as subprocesses, with ``BRIEFING_MAX_SUBSCRIPTIONS_PER_USER`` and
``BRIEFING_WS_MAX_OPERATIONS`` raised so that one user may hold every subscription. This process is
the client: one user logs in over HTTP, starts a 1-second briefing on the demo camera with one
``briefing`` subscription, then opens the subscribers (asyncio ``websockets``, graphql-transport-ws)
with ``reloadBriefing(after)`` on that request, the way a reconnecting client resumes. Each step of
``--subscribers`` (default 1000, 5000) adds sockets until that many subscriptions are open, then
measures a window of ``--seconds``. Every received frame is stamped with ``time.time()`` before
anything else is done with it; the client parses only what it must (acknowledgements, the first
result of each operation, completions).

Figures, per step:

* delivery latency per event per subscriber = receive time minus the moment the event was
  announced, i.e. the time in the id of its Redis stream entry (``XADD`` on the same host clock,
  millisecond resolution); also printed against ``Briefing.created_at`` read from the store (set
  when the tick builds the document, before its insert and announcement). Only live events
  announced inside the window count, delivered to every subscription open in that step. Goal p99
  <= 100 ms at 1000 subscribers (the 5000 step is printed against the same goal).
* resident memory per idle subscription = (RSS of the uvicorn process with the step's subscriptions
  open, between two events) - (RSS before opening any, with the `briefing` subscription and one
  warm-up subscriber open), divided by the number of subscriptions. Goal <= 100 KiB at 1000
  (stretch 50 KiB).

The client shares the machine with the server, the worker, FerretDB and Redis: at 5000 subscribers
its own receiving (a websocket frame each) is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil  # type: ignore[import-untyped]
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.common import ROOT, Goal, cores, cpu_model, demo_camera_file, ms_summary, percentile
from devtools.services import Service, backing_services, clear_data, free_port, service_env, stop_process, wait_for_port
from devtools.wsclient import EVENT_FIELDS, RELOAD

GOAL_SUBSCRIBERS = 1000
GOAL_P99_MS = 100.0
GOAL_KIB = 100.0
STRETCH_KIB = 50.0
BRIEFING = (
    'subscription($i: Int!, $e: String!) { briefing(interval: $i, endtime: $e, cameraId: "demo") '
    f"{{ {EVENT_FIELDS} }} }}"
)
PROTOCOL = [Subprotocol("graphql-transport-ws")]


@dataclass
class Socket:
    """One client websocket carrying `ops` reloadBriefing operations; frames kept with receive times."""

    ws: ClientConnection
    ops: int
    frames: list[tuple[float, str]] = field(default_factory=list)
    ready: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    async def pump(self) -> None:
        """Stamp every frame on receipt; parse only what must be: pings, the first result of each
        operation and completions (the live events are read after the run)."""
        async for raw in self.ws:
            stamp = time.time()
            text = raw if isinstance(raw, str) else raw.decode()
            self.frames.append((stamp, text))
            if '"type":"next"' in text and len(self.ready) >= self.ops:
                continue
            message = json.loads(text)
            kind = message.get("type")
            if kind == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                self.ready.add(str(message["id"]))
            elif kind in ("complete", "error"):
                self.completed.add(str(message["id"]))


async def open_socket(url: str, token: str) -> ClientConnection:
    """A graphql-transport-ws connection, acknowledged."""
    ws = await connect(url, subprotocols=PROTOCOL, open_timeout=30, max_size=2**20, ping_interval=None)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"connection refused: {ack}")
    return ws


async def open_subscribers(
    url: str, token: str, *, sockets: int, per_socket: int, after: Callable[[], int]
) -> list[Socket]:
    """Open the sockets and subscribe `per_socket` reloadBriefing(after) operations on each (a
    reconnecting client's call: it replays only the briefings after `after()`, the seq before the
    newest one at that moment). At most 20 sockets are in flight: a socket counts until every one of
    its operations has delivered its first event, so the replays never queue up behind each other."""
    gate = asyncio.Semaphore(20)

    async def one() -> Socket:
        async with gate:
            sock = Socket(ws=await open_socket(url, token), ops=per_socket)
            since = after()
            for op in range(1, per_socket + 1):
                await sock.ws.send(
                    json.dumps(
                        {"id": str(op), "type": "subscribe", "payload": {"query": RELOAD, "variables": {"a": since}}}
                    )
                )
            sock.task = asyncio.create_task(sock.pump())
            try:
                await wait_until(lambda: len(sock.ready) >= per_socket, limit=120, what="a socket's first events")
            except TimeoutError:
                last = sock.frames[-1][1][:300] if sock.frames else "none"
                raise TimeoutError(
                    f"a socket's operations did not all deliver within 120 s: {len(sock.ready)} delivered, "
                    f"{len(sock.completed)} ended, {len(sock.frames)} frames, the last: {last}"
                ) from None
            return sock

    return list(await asyncio.gather(*(one() for _ in range(sockets))))


def rss(pid: int) -> int:
    """Resident set size of a process in bytes."""
    return int(psutil.Process(pid).memory_info().rss)


def cpu(pid: int) -> float:
    """User+system CPU seconds of a process (NaN when it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    except psutil.Error:
        return float("nan")


async def quiet_rss(pid: int, *, samples: int = 5) -> int:
    """Median RSS over a few samples a quarter second apart (between two events)."""
    values = []
    for _ in range(samples):
        values.append(rss(pid))
        await asyncio.sleep(0.25)
    return int(statistics.median(values))


async def wait_until(predicate: Any, *, limit: float, what: str) -> None:
    """Poll `predicate()` every 50 ms; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def briefing_frames(socks: list[Socket], *, field: str = "reloadBriefing") -> Iterator[tuple[float, int]]:
    """(receive time, seq) of every Briefing delivered to any subscriber of the `field` subscription."""
    for sock in socks:
        for stamp, text in sock.frames:
            message = json.loads(text)
            if message.get("type") != "next":
                continue
            data = (message.get("payload") or {}).get("data") or {}
            event = data.get(field) or {}
            if event.get("__typename") == "Briefing":
                yield stamp, int(event["seq"])


@dataclass
class Step:
    """What one step (a number of open subscriptions) measured."""

    total: int
    sockets: int
    opened_s: float
    failed: int
    rss_before: int
    rss_after: int
    window: tuple[float, float]
    cpu: dict[str, float]
    subs: list[Socket]

    @property
    def kib_per_subscription(self) -> float:
        """RSS growth per open subscription, in KiB."""
        return (self.rss_after - self.rss_before) / self.total / 1024


async def run_clients(
    *,
    server: subprocess.Popen[bytes],
    port: int,
    mongo_url: str,
    redis_url: str,
    totals: list[int],
    per_socket: int,
    seconds: float,
    procs: dict[str, int],
) -> None:
    """Everything the client side does; prints the figures."""
    http_url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
    async with httpx.AsyncClient(timeout=30) as http:
        body = (
            await http.post(
                http_url,
                json={
                    "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                    "variables": {"u": "fanout-owner", "p": "correct horse battery"},
                },
            )
        ).json()
        token = str(body["data"]["login"]["token"])

        budget = len(totals) * (seconds + 120) + 120
        endtime = (datetime.now(UTC) + timedelta(seconds=budget)).isoformat(timespec="seconds")
        control = Socket(ws=await open_socket(ws_url, token), ops=1)
        await control.ws.send(
            json.dumps(
                {"id": "b", "type": "subscribe", "payload": {"query": BRIEFING, "variables": {"i": 1, "e": endtime}}}
            )
        )
        control.task = asyncio.create_task(control.pump())
        await wait_until(
            lambda: sum('"Briefing"' in t for _, t in control.frames) >= 2, limit=60, what="the first briefings"
        )
        started = json.loads(control.frames[0][1])["payload"]["data"]["briefing"]
        request_id = str(started["request"]["id"])

        warm = await open_subscribers(ws_url, token, sockets=1, per_socket=1, after=lambda: 0)
        await wait_until(lambda: bool(warm[0].ready), limit=30, what="the warm-up subscriber")
        await asyncio.sleep(1.0)
        rss_before = await quiet_rss(server.pid)

        def latest() -> int:
            return max(seq for _, seq in briefing_frames([control], field="briefing")) - 1

        steps: list[Step] = []
        subs: list[Socket] = []
        for total in totals:
            sockets = total // per_socket - len(subs)
            print(f"step {total}: opening {sockets} more sockets", flush=True)
            opened = time.perf_counter()
            subs.extend(await open_subscribers(ws_url, token, sockets=sockets, per_socket=per_socket, after=latest))
            expected = len(subs) * per_socket
            await wait_until(
                lambda expected=expected: sum(len(s.ready) for s in subs) >= expected,
                limit=300,
                what=f"{expected} subscriptions to deliver their first event",
            )
            opened = time.perf_counter() - opened
            print(f"step {total}: open after {opened:.1f} s; measuring {seconds:g} s", flush=True)
            await asyncio.sleep(1.5)
            rss_after = await quiet_rss(server.pid)
            start = time.time()
            cpu_before = {name: cpu(pid) for name, pid in procs.items()}
            await asyncio.sleep(seconds)
            used = {name: (cpu(pid) - cpu_before[name]) / seconds for name, pid in procs.items()}
            window = (start, time.time())
            await asyncio.sleep(1.0)  # the last events of the window arrive
            steps.append(
                Step(
                    total=expected,
                    sockets=len(subs),
                    opened_s=opened,
                    failed=sum(len(s.completed) for s in subs),
                    rss_before=rss_before,
                    rss_after=rss_after,
                    window=window,
                    cpu=used,
                    subs=list(subs),
                )
            )

        ended = (
            await http.post(
                http_url,
                json={"query": "mutation { endBriefing { message } }"},
                headers={"authorization": f"Bearer {token}"},
            )
        ).json()
        with contextlib.suppress(TimeoutError):
            await wait_until(lambda: all(len(s.completed) >= s.ops for s in subs), limit=30, what="completion")
        for sock in [control, *warm, *subs]:
            await sock.ws.close()
            if sock.task is not None:
                sock.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sock.task

    announced, created = await _announcements(redis_url=redis_url, mongo_url=mongo_url, request_id=request_id)
    print()
    print(f"endBriefing: {ended.get('data') or ended.get('errors')}")
    print("delivery latency = client receive time (time.time() on receipt) - announce time of the event (XADD)")
    summary: list[str] = []
    for step in steps:
        live = {seq for seq, at in announced.items() if step.window[0] <= at < step.window[1]}
        from_announce: list[float] = []
        from_created: list[float] = []
        for stamp, seq in briefing_frames(step.subs):
            if seq in live:
                from_announce.append(stamp - announced[seq])
                if seq in created:
                    from_created.append(stamp - created[seq])
        print()
        print(
            f"{step.total} subscriptions on {step.sockets} sockets ({per_socket} per socket): opened and first "
            f"event delivered in {step.opened_s:.1f} s; {step.failed} completed early"
        )
        print(f"  from XADD (stream id)       {ms_summary(from_announce)}")
        print(f"  from Briefing.created_at    {ms_summary(from_created)}")
        print(f"  deliveries {len(from_announce)} of {len(live) * step.total} expected ({len(live)} live events)")
        print(
            f"  uvicorn RSS {step.rss_before / 2**20:.1f} MiB before, {step.rss_after / 2**20:.1f} MiB with "
            f"{step.total} idle subscriptions -> {step.kib_per_subscription:.1f} KiB per subscription"
        )
        print("  CPU cores busy during the window: " + ", ".join(f"{k} {v:.2f}" for k, v in step.cpu.items()))
        p50, p99 = percentile(from_announce, 50) * 1e3, percentile(from_announce, 99) * 1e3
        summary.append(
            f"{step.total:>5} subscribers: delivery p50 {p50:.1f} ms, "
            + Goal("p99", p99, GOAL_P99_MS, "ms").line()
            + ("" if step.total == GOAL_SUBSCRIBERS else f" [goal set for {GOAL_SUBSCRIBERS}]")
        )
        summary.append(
            f"{step.total:>5} subscribers: "
            + Goal("RSS per idle subscription", step.kib_per_subscription, GOAL_KIB, "KiB").line()
            + f" (stretch {STRETCH_KIB:g} KiB, ratio {step.kib_per_subscription / STRETCH_KIB:.2f})"
        )
    print()
    print(f"machine: {cpu_model()}, {cores()}")
    for line in summary:
        print(line)


async def _announcements(
    *, redis_url: str, mongo_url: str, request_id: str
) -> tuple[dict[int, float], dict[int, float]]:
    """When each briefing of the request was announced (stream entry id) and created (store)."""
    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = await r.xrange(f"briefing:events:{request_id}")
    finally:
        await r.aclose()
    announced: dict[int, float] = {}
    for entry_id, fields in entries:
        event = json.loads(fields["event"])
        if event.get("kind") == "briefing":
            announced.setdefault(int(event["seq"]), int(str(entry_id).split("-")[0]) / 1000.0)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        database = client[parse_uri(mongo_url).get("database") or "briefing"]
        created = {
            int(doc["seq"]): doc["created_at"].timestamp()
            async for doc in database["briefings"].find({}, {"seq": 1, "created_at": 1, "request_id": 1})
            if str(doc["request_id"]) == request_id
        }
    finally:
        await client.close()
    return announced, created


def bench(
    *,
    totals: list[int],
    per_socket: int,
    seconds: float,
    deflate: bool,
    coalesce: bool,
    mongo: Service,
    redis_svc: Service,
) -> None:
    """Start server and worker against the store and Redis, run the clients, stop everything."""
    clear_data(mongo_url=mongo.url, redis_url=redis_svc.url)
    children: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as scratch:
        cameras_file, detector_note = demo_camera_file(Path(scratch))
        extra = {
            "BRIEFING_MAX_SUBSCRIPTIONS_PER_USER": str(max(totals) + 10),
            "BRIEFING_WS_MAX_OPERATIONS": str(max(per_socket, 1)),
            "BRIEFING_WS_PER_MESSAGE_DEFLATE": "true" if deflate else "false",
            "BRIEFING_WS_COALESCE_WRITES": "true" if coalesce else "false",
        }
        if cameras_file is not None:
            extra["BRIEFING_CAMERAS_FILE"] = str(cameras_file)
        env = service_env(mongo_url=mongo.url, redis_url=redis_svc.url, **extra)
        port = free_port()
        print(f"machine: {cpu_model()}, {cores()}")
        print(
            f"{detector_note}; interval 1 s, template captions; server env: "
            + ", ".join(f"{k}={v}" for k, v in extra.items() if k != "BRIEFING_CAMERAS_FILE")
        )
        try:
            server = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=env,
            )
            children.append(server)
            worker = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], cwd=ROOT, env=env)
            children.append(worker)
            wait_for_port(port, timeout=60, proc=server)
            procs = {"server": server.pid, "worker": worker.pid, "client": psutil.Process().pid}
            procs.update({name: s.proc.pid for name, s in (("ferretdb", mongo), ("redis", redis_svc)) if s.proc})
            loop_kind = "uvloop" if _has("uvloop") else "asyncio"
            print(f"uvicorn loop auto ({loop_kind}), http auto ({'httptools' if _has('httptools') else 'h11'})")
            asyncio.run(
                asyncio.wait_for(
                    run_clients(
                        server=server,
                        port=port,
                        mongo_url=mongo.url,
                        redis_url=redis_svc.url,
                        totals=totals,
                        per_socket=per_socket,
                        seconds=seconds,
                        procs=procs,
                    ),
                    timeout=len(totals) * (seconds + 360) + 120,
                )
            )
        finally:
            for child in reversed(children):
                stop_process(child)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, start the backing services, run, stop everything."""
    parser = argparse.ArgumentParser(description="delivery latency and memory of 1000 and 5000 live subscribers")
    parser.add_argument(
        "--subscribers",
        default="1000,5000",
        help="comma-separated subscription counts, measured in turn on one server (default 1000,5000)",
    )
    parser.add_argument("--per-socket", type=int, default=10, help="subscriptions per websocket (default 10)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window per step (default 15)")
    parser.add_argument("--deflate", action="store_true", help="run the server with per-message deflate on")
    parser.add_argument(
        "--no-coalesce", action="store_true", help="one socket write per frame (BRIEFING_WS_COALESCE_WRITES=false)"
    )
    args = parser.parse_args(argv)
    totals = sorted({int(n) for n in str(args.subscribers).split(",") if n.strip()})
    with backing_services() as (mongo, redis_svc):
        bench(
            totals=totals,
            per_socket=args.per_socket,
            seconds=args.seconds,
            deflate=args.deflate,
            coalesce=not args.no_coalesce,
            mongo=mongo,
            redis_svc=redis_svc,
        )


if __name__ == "__main__":
    main()
