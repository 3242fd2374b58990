"""Reconnect storm: the API process dies under 1000 subscribers; they all come back at once.

Run from the repository root::

    .venv/bin/python bench/reconnect.py                   # K=50 briefings, M=1000 subscriber sockets
    .venv/bin/python bench/reconnect.py --k 5 --m 50 --sub-limit 10   # subscriptions at the per-user limit

It starts a throwaway FerretDB and Redis (or uses ``TEST_MONGODB_URI`` / ``TEST_REDIS_URL``, whose
data it clears), then ``briefing serve`` on a fixed port and one ``briefing worker`` as
subprocesses. This process is every client (graphql-transport-ws over `devtools.leanws`, a lean
asyncio client, so that its own queueing takes as little as possible of the figures):

1. K users sign up (``login`` over HTTP) and each starts a 1-second briefing with ``briefing`` on
   its own socket (``BriefingStarted`` gives the request's ``startsAt``), then closes that socket:
   the briefing keeps running.
2. M subscriber sockets open, socket i authenticated as user i mod K, each with one
   ``reloadBriefing(after: 0)``; the run waits until every one receives live briefings.
3. The API process is killed (SIGKILL: the sockets just drop) and a new one is started on the same
   port. Once it listens, every subscriber reconnects at a uniformly random moment within
   ``--spread`` seconds (a client's jittered retry) and subscribes
   ``reloadBriefing(after: <last seq it saw>)``.

Figures:

* per socket, the time from the start of its reconnect (TCP connect) to ``connection_ack``, and
  from the start of the storm to its ack (goal: every socket acknowledged within 2 s);
* continuity: per subscriber, the seqs received before and after the restart together must be
  strictly consecutive -- exactly the request's stored seqs from the first received to the last,
  with no gap and no duplicate;
* errors: GraphQL errors received, reconnects refused (and retried, up to 5 attempts);
* on time: ``Briefing.created_at`` (stored) minus the due time ``startsAt + (seq-1)·interval`` for
  every tick of the K requests due in a baseline window before the kill and in the window from the
  kill to 5 s after the last ack, with the ticks skipped in each; also the delivery lateness
  (client receive time minus due time) of live briefings due after the storm.

``BRIEFING_MAX_SUBSCRIPTIONS_PER_USER`` is raised to M unless ``--sub-limit`` says otherwise:
the leases of the killed process stay in Redis until they expire, so a user whose subscriptions
were at the limit cannot resubscribe at once (``--sub-limit`` shows it).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil  # type: ignore[import-untyped]
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri

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
from devtools.aiows import RELOAD, START, Refused, parse_time
from devtools.leanws import LeanSocket
from devtools.services import Service, backing_services, clear_data, free_port, service_env, wait_for_port

GOAL_ACK_S = 2.0
GOAL_STORED_P99_MS = 100.0
ATTEMPTS = 5
ACK_WAIT = 30.0
RESUME_WAIT = 45.0
SETTLE = 3.0


@dataclass
class Owner:
    """One of the K users and the request its briefing started."""

    name: str
    token: str
    request_id: str = ""
    starts_at: float = math.nan
    interval: int = 1

    def due(self, seq: int) -> float:
        """Due time of tick `seq`."""
        return self.starts_at + (seq - 1) * self.interval


@dataclass
class Subscriber:
    """One subscriber socket: its connection before the restart and after it."""

    owner: Owner
    before: LeanSocket | None = None
    after: LeanSocket | None = None
    after_seq: int = 0
    began: float = math.nan
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    snapshot: list[int] = field(default_factory=list)

    def seqs(self) -> list[int]:
        """Every seq received, in order, across both connections."""
        return [*(self.before.seqs("r") if self.before else []), *(self.after.seqs("r") if self.after else [])]

    def errors(self) -> list[Any]:
        """GraphQL errors received on either connection."""
        return [*(self.before.errors("r") if self.before else []), *(self.after.errors("r") if self.after else [])]


async def start_owner(owner: Owner, ws_url: str, endtime: str) -> None:
    """Start the owner's briefing on its own socket, note the request, close the socket."""
    sock = await LeanSocket.open(ws_url, owner.token, within=60)
    try:
        await sock.subscribe("b", START, {"i": 1, "e": endtime, "c": "demo"})
        if not await until(lambda: bool(sock.events("b")) or sock.closed, within=60):
            raise RuntimeError(f"{owner.name}: no BriefingStarted within 60 s")
        first = sock.events("b")[0][1]
        if first.get("__typename") != "BriefingStarted":
            raise RuntimeError(f"{owner.name}: {sock.errors('b') or first}")
        owner.request_id = str(first["request"]["id"])
        owner.starts_at = parse_time(str(first["request"]["startsAt"]))
        owner.interval = int(first["request"]["interval"])
    finally:
        await sock.close()


async def connect(sub: Subscriber, ws_url: str, *, delay: float) -> LeanSocket | None:
    """After `delay`, connect and subscribe reloadBriefing(after).

    A refused or dropped connection is retried (up to ATTEMPTS, backing off 0.5 s, 1 s, ...); a
    `connection_ack` that takes longer than ACK_WAIT seconds is a failure."""
    await asyncio.sleep(delay)
    sub.began = time.time()
    for attempt in range(1, ATTEMPTS + 1):
        sub.attempts = attempt
        try:
            sock = await LeanSocket.open(ws_url, sub.owner.token, within=ACK_WAIT)
        except TimeoutError:
            sub.failures.append(f"no connection_ack within {ACK_WAIT:g} s")
            return None
        except (Refused, OSError) as error:
            sub.failures.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.5 * attempt)
            continue
        await sock.subscribe("r", RELOAD, {"a": sub.after_seq})
        return sock
    return None


async def open_all(subs: Sequence[Subscriber], ws_url: str, *, spread: float) -> float:
    """Connect every subscriber, each at a random moment within `spread` s; returns when the storm began."""
    began = time.time()

    async def one(sub: Subscriber) -> None:
        sock = await connect(sub, ws_url, delay=random.uniform(0.0, spread))
        if sub.before is None:
            sub.before = sock
        else:
            sub.after = sock

    await asyncio.gather(*(one(sub) for sub in subs))
    return began


def current(sock: LeanSocket | None) -> bool:
    """The socket received at least one briefing (or an error, or closed)."""
    return sock is not None and (bool(sock.seqs("r")) or bool(sock.errors("r")) or sock.closed)


def resumed(sub: Subscriber) -> bool:
    """The subscriber received a briefing after the restart."""
    return sub.after is not None and bool(sub.after.seqs("r"))


async def stored(mongo_url: str, owners: Sequence[Owner]) -> dict[str, list[tuple[int, float]]]:
    """(seq, created_at) of every stored briefing of the owners' requests, per request, in seq order."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        database = client[parse_uri(mongo_url).get("database") or "briefing"]
        ids = [ObjectId(o.request_id) for o in owners]
        found: dict[str, list[tuple[int, float]]] = {o.request_id: [] for o in owners}
        async for doc in database["briefings"].find(
            {"request_id": {"$in": ids}}, {"request_id": 1, "seq": 1, "created_at": 1}
        ):
            found.setdefault(str(doc["request_id"]), []).append((int(doc["seq"]), doc["created_at"].timestamp()))
        for rows in found.values():
            rows.sort()
        return found
    finally:
        await client.close()


def stored_lateness(
    owners: Sequence[Owner], rows: dict[str, list[tuple[int, float]]], t0: float, t1: float
) -> tuple[list[float], int, int]:
    """(created_at - due for ticks due in [t0, t1), number stored, number due)."""
    late: list[float] = []
    due_count = 0
    for owner in owners:
        by_seq = dict(rows.get(owner.request_id, []))
        first = max(1, math.ceil((t0 - owner.starts_at) / owner.interval) + 1)
        last = math.ceil((t1 - owner.starts_at) / owner.interval)
        for seq in range(first, last + 1):
            due_count += 1
            if seq in by_seq:
                late.append(by_seq[seq] - owner.due(seq))
    return late, len(late), due_count


def late_by_second(
    owners: Sequence[Owner], rows: dict[str, list[tuple[int, float]]], t0: float, t1: float, *, over: float
) -> dict[int, int]:
    """How many ticks due in [t0, t1) were stored more than `over` seconds late, by whole second of
    their due time after `t0` (where in the storm the lateness falls)."""
    counts: dict[int, int] = {}
    for owner in owners:
        for seq, created in rows.get(owner.request_id, []):
            due = owner.due(seq)
            if t0 <= due < t1 and created - due > over:
                second = int(due - t0)
                counts[second] = counts.get(second, 0) + 1
    return dict(sorted(counts.items()))


def late_by_request(
    owners: Sequence[Owner], rows: dict[str, list[tuple[int, float]]], t0: float, t1: float, *, over: float
) -> list[tuple[str, int, float]]:
    """(owner, ticks due in [t0, t1) stored more than `over` s late, their median lateness in ms), the
    most affected first: one request late in every tick reads differently from a moment of load."""
    found: list[tuple[str, int, float]] = []
    for owner in owners:
        late = sorted(
            created - owner.due(seq)
            for seq, created in rows.get(owner.request_id, [])
            if t0 <= owner.due(seq) < t1 and created - owner.due(seq) > over
        )
        if late:
            found.append((owner.name, len(late), late[len(late) // 2] * 1e3))
    return sorted(found, key=lambda item: -item[1])


def continuity(sub: Subscriber, rows: dict[str, list[tuple[int, float]]]) -> str | None:
    """None when the subscriber got exactly the stored seqs from its first to its last; else what is wrong."""
    got = sub.snapshot  # what it had received when the window closed: all of it is stored by then
    if not got:
        return "received nothing"
    if sub.after is None or not sub.after.seqs("r"):
        return "received nothing after the restart"
    if len(got) != len(set(got)):
        return f"duplicates: {sorted({s for s in got if got.count(s) > 1})}"
    if got != sorted(got):
        return f"out of order: {got}"
    store = [seq for seq, _ in rows.get(sub.owner.request_id, []) if got[0] <= seq <= got[-1]]
    if got != store:
        missing = sorted(set(store) - set(got))
        return f"gap: missing {missing[:10]}{' ...' if len(missing) > 10 else ''}"
    return None


async def run(
    *,
    port: int,
    k: int,
    m: int,
    spread: float,
    mongo_url: str,
    env: dict[str, str],
    scratch: Path,
    children: list[Child],
    meter: CpuMeter,
) -> None:
    """The client side; kills and restarts the API; prints the figures."""
    http_url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as http:
        began = time.perf_counter()
        names = [f"owner-{i:03d}" for i in range(k)]
        _, tokens = await asyncio.gather(wait_until_serving(http, port), sign_up(http, http_url, names))
        owners = [Owner(name=n, token=t) for n, t in zip(names, tokens, strict=True)]
        print(f"signed up {k} users and the stack delivered a probe briefing in {time.perf_counter() - began:.1f} s")
        subs = [Subscriber(owner=owners[i % k]) for i in range(m)]
        goals: list[str] = []
        try:
            endtime = (datetime.now(UTC) + timedelta(minutes=15)).isoformat(timespec="seconds")
            gate = asyncio.Semaphore(20)

            async def start(owner: Owner) -> None:
                async with gate:
                    await start_owner(owner, ws_url, endtime)

            await asyncio.gather(*(start(o) for o in owners))
            opened = time.time()
            await open_all(subs, ws_url, spread=max(1.0, m / 250))
            if not await until(lambda: all(current(s.before) for s in subs), within=RESUME_WAIT):
                live_now = sum(bool(s.before and s.before.seqs("r")) for s in subs)
                print(f"warning: only {live_now} of {m} subscribers received a briefing within {RESUME_WAIT:g} s")
            initial = [s.before.ack_seconds for s in subs if s.before is not None]
            print(
                f"{k} briefings started; {m} subscribers connected and live {time.time() - opened:.1f} s later "
                f"(connect -> ack {ms_summary(initial)})"
            )
            await asyncio.sleep(SETTLE)
            base0 = time.time()
            await asyncio.sleep(5.0)

            # --- the kill and the storm ------------------------------------------------------------
            api = children[0]
            killed = time.time()
            api.kill()
            # what the old sockets had in flight is still read after the kill: a client resumes from
            # the last seq it received once its socket is closed, not from what it had seen at the kill
            await until(lambda: all(s.before is None or s.before.closed for s in subs), within=10)
            for sub in subs:
                sub.after_seq = max(sub.seqs() or [0])
            replacement = spawn_api("api-restarted", port, env, scratch)
            children[0] = replacement
            children.append(api)  # dead, kept for its log
            await asyncio.to_thread(wait_for_port, port, timeout=90, proc=replacement.proc)
            listening = time.time()
            meter.pids["api"] = replacement.proc.pid
            meter.start()
            storm = await open_all(subs, ws_url, spread=spread)
            last_connect = time.time()
            all_current = await until(
                lambda: all(s.after is None or current(s.after) for s in subs), within=RESUME_WAIT
            )
            resumed_at = time.time()
            cpu = meter.stop()
            await asyncio.sleep(5.0)
            end_window = time.time()
            for sub in subs:
                sub.snapshot = sub.seqs()
            await asyncio.sleep(2.0)  # the last deliveries and stores of the window
            rows = await stored(mongo_url, owners)

            # --- figures ---------------------------------------------------------------------------
            socks = [s.after for s in subs if s.after is not None]
            ack = [s.acked - s.started for s in socks]  # the successful attempt's own connect -> ack
            from_began = [sock.acked - sub.began for sub in subs if (sock := sub.after) is not None]
            from_storm = [sock.acked - storm for sock in socks]
            first_event = [
                sock.briefings("r")[0][0] - sub.began for sub in subs if (sock := sub.after) and sock.briefings("r")
            ]
            retried = sum(s.attempts > 1 for s in subs)
            failed = [s for s in subs if s.after is None]
            errors = [e for s in subs for e in s.errors()]
            broken = {id(s): why for s in subs if (why := continuity(s, rows)) is not None}
            base_late, base_n, base_due = stored_lateness(owners, rows, base0, killed)
            storm_late, storm_n, storm_due = stored_lateness(owners, rows, killed, end_window)
            live = [
                at - sub.owner.due(int(event["seq"]))
                for sub in subs
                if sub.after is not None
                for at, event in sub.after.briefings("r")
                if resumed_at <= sub.owner.due(int(event["seq"])) < end_window
            ]

            print()
            print(
                f"API killed; the new one listened {listening - killed:.1f} s later; {m} sockets reconnected "
                f"over {last_connect - storm:.2f} s (spread {spread:g} s); "
                f"{sum(resumed(s) for s in subs)} of {m} resumed (received a briefing) "
                f"{resumed_at - storm:.1f} s after the storm began{'' if all_current else ' (gave up waiting)'}"
            )
            print(f"  connect -> connection_ack (per socket, last attempt) {ms_summary(ack)}")
            print(f"  first attempt -> connection_ack                    {ms_summary(from_began)}")
            print(f"  storm start -> connection_ack                       {ms_summary(from_storm)}")
            print(f"  first attempt -> first Briefing (replay)            {ms_summary(first_event)}")
            print(
                f"  reconnects retried {retried}, failed for good {len(failed)}"
                + (f" (first failure: {failures[0]})" if (failures := [f for s in subs for f in s.failures]) else "")
            )
            print(f"  GraphQL errors {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
            not_resumed = [why for why in broken.values() if why.startswith("received nothing")]
            wrong = [why for why in broken.values() if not why.startswith("received nothing")]
            print(
                f"  continuity: {m - len(broken)} of {m} got exactly the stored seqs (no gap, no duplicate); "
                f"{len(not_resumed)} did not resume; {len(wrong)} with a gap, duplicate or disorder"
                + (f" (first: {wrong[0]})" if wrong else "")
            )
            print("stored lateness (Briefing.created_at - due) of the K running briefings:")
            print(f"  baseline, 5 s before the kill   {ms_summary(base_late)}; stored {base_n} of {base_due} due")
            print(f"  kill -> 5 s after the storm     {ms_summary(storm_late)}; stored {storm_n} of {storm_due} due")
            over = GOAL_STORED_P99_MS / 1e3
            late_seconds = late_by_second(owners, rows, killed, end_window, over=over)
            print(
                f"  stored over {GOAL_STORED_P99_MS:g} ms late, by second of due time after the kill "
                f"(API listening at +{listening - killed:.1f} s, storm at +{storm - killed:.1f} s): "
                + (", ".join(f"+{second} s: {n}" for second, n in late_seconds.items()) or "none")
            )
            by_request = late_by_request(owners, rows, base0, end_window, over=over)
            if by_request:
                print(
                    "  requests with ticks stored over the goal late (baseline to the end): "
                    + ", ".join(f"{name} {n} (median {ms:.0f} ms)" for name, n, ms in by_request[:5])
                )
            print(f"delivery lateness (receive - due) of live briefings after the storm {ms_summary(live)}")
            print(f"CPU cores busy during the storm: {cpu}")
            worst = max(from_began) if len(from_began) == m else math.inf
            goals += [
                Goal("slowest reconnect, first attempt -> connection_ack", worst, GOAL_ACK_S, "s").line(),
                f"subscribers resumed without gap or duplicate: {m - len(broken)} of {m} (goal all); "
                f"with a gap or duplicate {len(wrong)} (goal 0); not resumed {len(not_resumed)} (goal 0); "
                f"GraphQL errors {len(errors)} (goal 0)",
                Goal(
                    "p99 stored lateness, kill -> after the storm",
                    percentile(storm_late, 99) * 1e3,
                    GOAL_STORED_P99_MS,
                    "ms",
                ).line(),
                f"ticks stored of due from the kill to after the storm: {storm_n} of {storm_due} (goal all)",
            ]
        finally:
            for sub in subs:
                for sock in (sub.before, sub.after):
                    if sock is not None:
                        await sock.close()
            failures_end = await end_briefings(http, http_url, [o.token for o in owners])
            print(f"end: endBriefing for {k} briefings, {len(failures_end)} failed")
    keep_logs(children)
    print()
    for line in goals:
        print(line)


def bench(*, k: int, m: int, spread: float, sub_limit: int | None, mongo: Service, redis_svc: Service) -> None:
    """Start server and worker against the store and Redis, run the storm, stop everything."""
    clear_data(mongo_url=mongo.url, redis_url=redis_svc.url)
    for line in machine_lines():
        print(line)
    with tempfile.TemporaryDirectory(prefix="bench-reconnect-") as scratch_dir:
        scratch = Path(scratch_dir)
        cameras_file, detector_note = demo_camera_file(scratch)
        extra = {"BRIEFING_MAX_SUBSCRIPTIONS_PER_USER": str(sub_limit if sub_limit is not None else m + 10)}
        if cameras_file is not None:
            extra["BRIEFING_CAMERAS_FILE"] = str(cameras_file)
        env = service_env(mongo_url=mongo.url, redis_url=redis_svc.url, **extra)
        print(
            f"{detector_note}; K={k} briefings at 1 s, M={m} subscribers ({math.ceil(m / k)} per user), "
            f"BRIEFING_MAX_SUBSCRIPTIONS_PER_USER={extra['BRIEFING_MAX_SUBSCRIPTIONS_PER_USER']}"
        )
        port = free_port()
        children: list[Child] = []
        try:
            children.append(spawn_api("api", port, env, scratch))
            children.append(spawn("worker", ["worker"], env, scratch))
            wait_for_port(port, timeout=90, proc=children[0].proc)
            pids = {"worker": children[1].proc.pid, "client": psutil.Process().pid}
            pids.update({name: s.proc.pid for name, s in (("ferretdb", mongo), ("redis", redis_svc)) if s.proc})
            meter = CpuMeter(pids)
            asyncio.run(
                asyncio.wait_for(
                    run(
                        port=port,
                        k=k,
                        m=m,
                        spread=spread,
                        mongo_url=mongo.url,
                        env=env,
                        scratch=scratch,
                        children=children,
                        meter=meter,
                    ),
                    timeout=600,
                )
            )
        finally:
            for child in reversed(children):
                child.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, start the backing services, run, stop everything."""
    parser = argparse.ArgumentParser(description="kill the API under M subscribers; all reconnect at once")
    parser.add_argument("--k", type=int, default=50, help="running briefings, one user each (default 50)")
    parser.add_argument("--m", type=int, default=1000, help="subscriber sockets in all (default 1000)")
    parser.add_argument("--spread", type=float, default=1.0, help="reconnects spread over this many seconds")
    parser.add_argument("--sub-limit", type=int, default=None, help="BRIEFING_MAX_SUBSCRIPTIONS_PER_USER (default M)")
    args = parser.parse_args(argv)
    with backing_services() as (mongo, redis_svc):
        bench(k=args.k, m=args.m, spread=args.spread, sub_limit=args.sub_limit, mongo=mongo, redis_svc=redis_svc)


if __name__ == "__main__":
    main()
