"""Soak: K briefings and M subscribers for a long while, with reconnects and a worker killed every few minutes.

Run from the repository root (not part of ``make test``)::

    .venv/bin/python bench/soak.py                      # 30 minutes, K=50 briefings, M=500 subscribers
    .venv/bin/python bench/soak.py --minutes 2 --kill-every 60 --reconnect-every 30   # a smoke run

It starts a throwaway FerretDB and Redis (or uses ``TEST_MONGODB_URI`` / ``TEST_REDIS_URL``, whose data
it clears), then ``briefing serve`` and one ``briefing worker`` as subprocesses (``bench.live``). This
process is every client (asyncio ``websockets``, graphql-transport-ws, ``devtools.aiows``):

1. K users sign up and each starts a briefing (``--interval`` seconds, ending after the run) on its own
   socket, then closes it: the briefing keeps running.
2. M subscriber sockets open, socket i signed in as user i mod K, each with ``reloadBriefing(after: 0)``.
   Each subscriber closes its socket and reconnects with ``reloadBriefing(after: <last seq it saw>)``
   every ``--reconnect-every`` seconds (each at its own random phase), as a phone moving between networks.
3. Every ``--kill-every`` seconds the worker is killed (SIGKILL) and a new one started.
4. Every ``--sample-every`` seconds the resident memory (RSS) of each process is printed.

At the end every briefing is ended and the figures printed:

* RSS of each process over time, and for each its growth from the first sample after the warm-up (the
  first quarter of the run) to the last (goal: within 10 %); the worker is a new process after each
  kill, so its figure compares the lives of successive workers at the same age;
* deliveries lost: per subscriber, the stored seqs between the first and the last it received that it
  never received, across all its connections (goal 0);
* deliveries duplicated: seqs a subscriber received more than once (goal 0);
* GraphQL errors and refused connections (goal 0), ticks stored and skipped, and the processes' logged
  problems.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil  # type: ignore[import-untyped]
from websockets.exceptions import WebSocketException

from bench.common import demo_camera_file
from bench.live import Child, end_briefings, keep_logs, machine_lines, sign_up, spawn, spawn_api, wait_until_serving
from bench.reconnect import Owner, start_owner, stored
from devtools.aiows import RELOAD, AioSocket, Refused
from devtools.services import Service, backing_services, clear_data, free_port, service_env, wait_for_port

GOAL_RSS_GROWTH = 0.10
OP = "r"
MB = 1024 * 1024


@dataclass
class Subscriber:
    """One subscriber: its current socket and every seq it received over all its connections."""

    owner: Owner
    sock: AioSocket | None = None
    seqs: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    connections: int = 0

    def harvest(self) -> None:
        """Take what the current socket received (its frames are then let go)."""
        if self.sock is not None:
            self.seqs.extend(self.sock.seqs(OP))
            self.errors.extend(str(e) for e in self.sock.errors(OP))

    @property
    def last(self) -> int:
        """The last seq received (what the next connection asks to resume after)."""
        current = self.sock.seqs(OP) if self.sock is not None else []
        return max([0, *self.seqs, *current])


async def connect(sub: Subscriber, ws_url: str) -> None:
    """Open a socket and follow the owner's request after the last seq seen (retrying refusals)."""
    for attempt in range(1, 6):
        try:
            sock = await AioSocket.open(ws_url, sub.owner.token, within=30)
        except (Refused, OSError, TimeoutError, WebSocketException):
            sub.refused += 1
            await asyncio.sleep(0.5 * attempt)
            continue
        await sock.subscribe(OP, RELOAD, {"a": sub.last})
        sub.sock = sock
        sub.connections += 1
        return


async def follow(sub: Subscriber, ws_url: str, *, every: float, until: float) -> None:
    """Connect, then reconnect every `every` seconds (from a random phase) until `until` (time.time())."""
    await asyncio.sleep(random.uniform(0.0, min(every, 5.0)))
    await connect(sub, ws_url)
    await asyncio.sleep(random.uniform(0.0, every))
    while time.time() + every < until:
        old = sub.sock
        if old is not None:
            await old.close()
            sub.harvest()
            sub.sock = None
        await connect(sub, ws_url)
        await asyncio.sleep(every)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (NaN when it is gone)."""
    try:
        return float(psutil.Process(pid).memory_info().rss) / MB
    except psutil.Error:
        return float("nan")


@dataclass
class Memory:
    """RSS samples per process name: (seconds since the start, MiB, age of the process in seconds)."""

    samples: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)

    def sample(self, t: float, pids: dict[str, int]) -> str:
        """Take one sample of every process; the printed line."""
        parts = []
        for name, pid in pids.items():
            value = rss_mb(pid)
            try:
                age = time.time() - psutil.Process(pid).create_time()
            except psutil.Error:
                age = float("nan")
            self.samples.setdefault(name, []).append((t, value, age))
            parts.append(f"{name} {value:7.1f}")
        return f"t={t / 60:5.1f} min  RSS MiB: " + "  ".join(parts)

    def growth(self, name: str, *, warm: float) -> tuple[float, float, float] | None:
        """(baseline MiB, last MiB, growth ratio) from the first sample after `warm` seconds to the last."""
        rows = [row for row in self.samples.get(name, []) if row[0] >= warm and row[1] == row[1]]
        if len(rows) < 2:
            return None
        base, last = rows[0][1], rows[-1][1]
        return base, last, (last - base) / base if base else float("nan")

    def worker_growth(self) -> tuple[float, float, float] | None:
        """For the worker (restarted on each kill): the oldest sample of each life compared across lives,
        taken at the same age (the youngest of the per-life maxima ages)."""
        rows = self.samples.get("worker", [])
        lives: list[list[tuple[float, float, float]]] = []
        for row in rows:
            if not lives or row[2] < lives[-1][-1][2]:
                lives.append([])
            lives[-1].append(row)
        lives = [life for life in lives if life]
        if len(lives) < 2:
            return None
        age = min(life[-1][2] for life in lives)
        at_age = [min(life, key=lambda row: abs(row[2] - age))[1] for life in lives]
        base, last = at_age[0], at_age[-1]
        return base, last, (last - base) / base if base else float("nan")


def deliveries(subs: Sequence[Subscriber], rows: dict[str, list[tuple[int, float]]]) -> tuple[int, int, int]:
    """(delivered, lost, duplicated) over every subscriber, against the stored seqs."""
    delivered = lost = duplicated = 0
    for sub in subs:
        got = sub.seqs
        if not got:
            continue
        counts = Counter(got)
        duplicated += sum(n - 1 for n in counts.values() if n > 1)
        first, last = min(got), max(got)
        store = {seq for seq, _ in rows.get(sub.owner.request_id, []) if first <= seq <= last}
        lost += len(store - counts.keys())
        delivered += len(counts)
    return delivered, lost, duplicated


async def run(
    *,
    args: argparse.Namespace,
    port: int,
    mongo_url: str,
    env: dict[str, str],
    scratch: Path,
    children: list[Child],
    fixed_pids: dict[str, int],
) -> list[str]:
    """The client side, the worker kills and the sampling; returns the goal lines."""
    http_url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
    seconds = args.minutes * 60.0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as http:
        names = [f"soak-{i:03d}" for i in range(args.k)]
        _, tokens = await asyncio.gather(wait_until_serving(http, port), sign_up(http, http_url, names))
        owners = [Owner(name=n, token=t) for n, t in zip(names, tokens, strict=True)]
        endtime = (datetime.now(UTC) + timedelta(seconds=seconds + 600)).isoformat(timespec="seconds")
        gate = asyncio.Semaphore(20)

        async def start(owner: Owner) -> None:
            async with gate:
                await start_owner(owner, ws_url, endtime)

        await asyncio.gather(*(start(o) for o in owners))
        subs = [Subscriber(owner=owners[i % args.k]) for i in range(args.m)]
        print(f"{args.k} briefings started every {args.interval} s; {args.m} subscribers connecting")
        began = time.time()
        until = began + seconds
        memory = Memory()
        followers = [asyncio.create_task(follow(s, ws_url, every=args.reconnect_every, until=until)) for s in subs]
        next_kill, next_sample, kills = began + args.kill_every, began, 0
        try:
            while time.time() < until:
                now = time.time()
                if now >= next_sample:
                    pids = {"api": children[0].proc.pid, "worker": children[1].proc.pid, **fixed_pids}
                    print(memory.sample(now - began, pids), flush=True)
                    next_sample += args.sample_every
                if now >= next_kill:
                    dead = children[1]
                    dead.kill()
                    children[1] = spawn(f"worker-{kills + 1}", ["worker"], env, scratch)
                    children.append(dead)  # kept for its log
                    kills += 1
                    print(f"t={(now - began) / 60:5.1f} min  worker killed (SIGKILL) and restarted", flush=True)
                    next_kill += args.kill_every
                await asyncio.sleep(0.5)
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
        await asyncio.sleep(2 * args.interval + 2)  # the last replays and live events reach the sockets
        for sub in subs:
            if sub.sock is not None:
                await sub.sock.close()
            sub.harvest()
            sub.sock = None
        failures = await end_briefings(http, http_url, [o.token for o in owners])
        rows = await stored(mongo_url, owners)

    delivered, lost, duplicated = deliveries(subs, rows)
    errors = [e for s in subs for e in s.errors]
    refused = sum(s.refused for s in subs)
    silent = sum(not s.seqs for s in subs)
    stored_count = sum(len(r) for r in rows.values())
    print()
    print(
        f"ran {seconds / 60:.1f} min: {args.k} briefings, {args.m} subscribers, "
        f"{sum(s.connections for s in subs)} connections ({args.reconnect_every:g} s apart each), "
        f"{kills} worker kills; {stored_count} briefings stored; endBriefing failures {len(failures)}"
    )
    print("RSS growth from the first sample after the warm-up (first quarter) to the last:")
    goals = []
    for name in ["api", *fixed_pids]:
        found = memory.growth(name, warm=seconds / 4)
        if found is not None:
            base, last, ratio = found
            print(f"  {name:8s} {base:7.1f} -> {last:7.1f} MiB  ({ratio:+.1%})")
            if name == "api":
                goals.append(f"API RSS growth {ratio:+.1%} (goal within {GOAL_RSS_GROWTH:.0%})")
    worker = memory.worker_growth()
    if worker is not None:
        base, last, ratio = worker
        print(f"  worker   {base:7.1f} -> {last:7.1f} MiB  (first life vs last, same age; {ratio:+.1%})")
        goals.append(f"worker RSS, first life vs last at the same age {ratio:+.1%} (goal within {GOAL_RSS_GROWTH:.0%})")
    goals += [
        f"deliveries: {delivered} delivered, lost {lost} (goal 0), duplicated {duplicated} (goal 0)",
        f"subscribers that received nothing {silent} (goal 0); GraphQL errors {len(errors)} (goal 0)"
        + (f" (first: {errors[0][:200]})" if errors else "")
        + f"; connection attempts refused {refused} (goal 0)",
    ]
    return goals


def bench(args: argparse.Namespace, *, mongo: Service, redis_svc: Service) -> None:
    """Start server and worker against the store and Redis, soak, stop everything."""
    clear_data(mongo_url=mongo.url, redis_url=redis_svc.url)
    for line in machine_lines():
        print(line)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch_dir:
        scratch = Path(scratch_dir)
        cameras_file, detector_note = demo_camera_file(scratch)
        per_user = -(-args.m // args.k)
        extra = {"BRIEFING_MAX_SUBSCRIPTIONS_PER_USER": str(2 * per_user + 10)}  # reconnects overlap briefly
        if cameras_file is not None:
            extra["BRIEFING_CAMERAS_FILE"] = str(cameras_file)
        env = service_env(mongo_url=mongo.url, redis_url=redis_svc.url, **extra)
        print(
            f"{detector_note}; {args.minutes:g} min, K={args.k} briefings every {args.interval} s, "
            f"M={args.m} subscribers reconnecting every {args.reconnect_every:g} s, "
            f"worker killed every {args.kill_every:g} s"
        )
        port = free_port()
        children: list[Child] = []
        goals: list[str] = []
        try:
            children.append(spawn_api("api", port, env, scratch))
            children.append(spawn("worker", ["worker"], env, scratch))
            wait_for_port(port, timeout=90, proc=children[0].proc)
            fixed = {"client": psutil.Process().pid}
            fixed.update({name: s.proc.pid for name, s in (("ferretdb", mongo), ("redis", redis_svc)) if s.proc})
            goals = asyncio.run(
                run(
                    args=args,
                    port=port,
                    mongo_url=mongo.url,
                    env=env,
                    scratch=scratch,
                    children=children,
                    fixed_pids=fixed,
                )
            )
        finally:
            for child in reversed(children):
                child.stop()
            keep_logs(children)
    print()
    for line in goals:
        print(line)


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, start the backing services, soak, stop everything."""
    parser = argparse.ArgumentParser(description="K briefings and M reconnecting subscribers for a long while")
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    parser.add_argument("--k", type=int, default=50, help="running briefings, one user each (default 50)")
    parser.add_argument("--m", type=int, default=500, help="subscriber sockets (default 500)")
    parser.add_argument("--interval", type=int, default=2, help="briefing interval in seconds (default 2)")
    parser.add_argument("--reconnect-every", type=float, default=60.0, help="seconds between a subscriber's reconnects")
    parser.add_argument("--kill-every", type=float, default=300.0, help="seconds between worker kills (default 300)")
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds between RSS samples (default 60)")
    args = parser.parse_args(argv)
    with backing_services() as (mongo, redis_svc):
        bench(args, mongo=mongo, redis_svc=redis_svc)


if __name__ == "__main__":
    main()
