"""A private stack for fault and multi-process tests: their own Redis (which they may stop, restart on
the same port or flush), a private database on the session FerretDB, and their own API processes and
workers, each logging to a file so that a test can tell which worker ran which tick.

Nothing here is shared with the session `server` / `worker` / `redis_url` fixtures. Every process
imports torch, so starting one costs 10-20 s of CPU on a small machine: `engine_stack` starts two
API processes and two workers once for the test session, and both tests/engine/test_faults.py and
tests/engine/test_multiprocess.py use it (a test that kills a process starts its replacement).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.uri_parser import parse_uri
from redis import Redis

from devtools.services import Service, free_port, start_redis, stop_process, wait_for_port
from devtools.wsclient import TransportWS
from tests.conftest import ROOT, GraphQLClient, service_env
from tests.language.fake_openai import FakeOpenAI, Reply

T = TypeVar("T")

END = "mutation { endBriefing { message } }"


def private_mongo_url(base_url: str, *, prefix: str) -> str:
    """`base_url` with its database replaced by a fresh, unique name."""
    database = parse_uri(base_url).get("database")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    head, _, query = base_url.partition("?")
    if database:
        head = head[: head.rindex("/" + database)]
    return f"{head.rstrip('/')}/{name}" + (f"?{query}" if query else "")


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.1) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


@dataclass
class Proc:
    """An API process or a worker started by a stack, with its output in a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stored_ticks(self, request_id: str) -> set[int]:
        """The seqs of the request's ticks this worker completed with a stored briefing (arq's log)."""
        pattern = re.compile(rf"← tick:{re.escape(request_id)}:(\d+):tick ● 'stored'")
        return {int(m.group(1)) for m in pattern.finditer(self.output())}

    def started_ticks(self, request_id: str) -> set[int]:
        """The seqs of the request's ticks this worker started (arq's log)."""
        pattern = re.compile(rf"→ tick:{re.escape(request_id)}:(\d+):tick\(")
        return {int(m.group(1)) for m in pattern.finditer(self.output())}

    def stop(self) -> None:
        stop_process(self.proc)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@dataclass
class Stack:
    """Redis, a private database, API processes and workers; `close()` stops and removes all of it."""

    mongo_url: str
    redis: Service
    env_extra: dict[str, str] = field(default_factory=dict)
    logdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="briefing-stack-")))
    servers: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)
    _mongo: MongoClient[dict[str, Any]] | None = None

    # --- processes ------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        return service_env(
            mongo_url=self.mongo_url,
            redis_url=self.redis.url,
            BRIEFING_LOG_LEVEL="INFO",  # arq logs every job start/finish: which worker ran which tick
            **{**self.env_extra, **extra},
        )

    def _spawn(self, name: str, args: list[str], env: dict[str, str], port: int | None = None) -> Proc:
        log = self.logdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return Proc(name=name, proc=proc, log=log, port=port)

    def spawn_server(self, *, port: int | None = None, **extra: str) -> Proc:
        """Start an API process, on a free port unless `port` is given (not waiting for it: see `ready`)."""
        port = port or free_port()
        name = f"api{len(self.servers) + 1}"
        server = self._spawn(name, ["serve", "--host", "127.0.0.1", "--port", str(port)], self.env(**extra), port)
        self.servers.append(server)
        return server

    def spawn_worker(self, **extra: str) -> Proc:
        """Start a worker (not waiting for it: see `ready`)."""
        worker = self._spawn(f"worker{len(self.workers) + 1}", ["worker"], self.env(**extra))
        self.workers.append(worker)
        return worker

    def ready(self, *procs: Proc, timeout: float = 120) -> None:
        """Wait until every API process accepts connections and every worker polls its queue.

        A worker is ready about a second after arq said "Starting worker": the imports (torch) are the
        slow part, on_startup follows in well under a second. (arq's health-check key is no signal:
        a restarted or flushed Redis loses it until the worker's next heartbeat.)"""
        deadline = time.monotonic() + timeout
        for proc in procs:
            left = max(1.0, deadline - time.monotonic())
            if proc.port is not None:
                try:
                    wait_for_port(proc.port, timeout=left, proc=proc.proc)
                except (RuntimeError, TimeoutError) as error:
                    raise AssertionError(f"{proc.name} did not start: {error}\n{proc.output()[-3000:]}") from None
                continue
            wait_for(
                lambda p=proc: (not p.alive and _fail(p)) or "Starting worker for" in p.output(),  # type: ignore[misc]
                timeout=left,
                what=f"{proc.name} to start",
                every=0.2,
            )
        if any(p.port is None for p in procs):
            time.sleep(1.0)  # on_startup (database, cameras, detector objects) takes well under that

    @property
    def server(self) -> Proc:
        """The first API process still running."""
        return next(s for s in self.servers if s.alive)

    def alive_workers(self) -> list[Proc]:
        return [w for w in self.workers if w.alive]

    def alive_servers(self) -> list[Proc]:
        return [s for s in self.servers if s.alive]

    # --- Redis ----------------------------------------------------------------------------------

    def r(self) -> Redis:
        return Redis.from_url(self.redis.url, socket_timeout=5)

    def restart_redis(self, *, down_for: float = 1.0) -> None:
        """Stop the redis-server process, wait, and start a new, empty one on the same port."""
        port = self.redis.port
        self.redis.stop()
        time.sleep(down_for)
        self.redis = start_redis(port=port)

    def flush_redis(self) -> None:
        client = self.r()
        try:
            client.flushall()
        finally:
            client.close()

    # --- MongoDB --------------------------------------------------------------------------------

    def db(self) -> Database[dict[str, Any]]:
        if self._mongo is None:
            self._mongo = MongoClient(self.mongo_url)
        return self._mongo.get_default_database()

    def briefings(self, request_id: str) -> list[dict[str, Any]]:
        """Every stored briefing of the request, in seq order (duplicates, if any, included)."""
        rows = self.db()["briefings"].find({"request_id": ObjectId(request_id)}).sort("seq", 1)
        return list(rows)

    def stored_seqs(self, request_id: str) -> list[int]:
        return [int(b["seq"]) for b in self.briefings(request_id)]

    def request(self, request_id: str) -> dict[str, Any]:
        found = self.db()["requests"].find_one({"_id": ObjectId(request_id)})
        assert found is not None, request_id
        return found

    def skipped_ticks(self, request_id: str) -> int:
        """Slots the request skipped: recorded on its briefings (plus the request's legacy counter)."""
        briefings = self.db()["briefings"].find({"request_id": ObjectId(request_id)}, {"skipped_before": 1})
        return int(self.request(request_id).get("skipped_ticks", 0)) + sum(
            int(b.get("skipped_before", 0)) for b in briefings
        )

    # --- API ------------------------------------------------------------------------------------

    def login(self, username: str, server: Proc | None = None) -> str:
        client = GraphQLClient((server or self.server).http_url)
        try:
            return client.login(username)
        finally:
            client.http.close()

    def end_briefing(self, token: str, server: Proc | None = None) -> dict[str, object]:
        client = GraphQLClient((server or self.server).http_url)
        try:
            return client(END, token=token)
        finally:
            client.http.close()

    def end_quietly(self, token: str) -> None:
        """Best-effort end of the user's briefing in a `finally`, whatever state the stack is in."""
        with contextlib.suppress(Exception):
            self.end_briefing(token)

    # --- teardown -------------------------------------------------------------------------------

    def close(self) -> None:
        procs = [*self.servers, *self.workers]
        for proc in procs:  # all at once: each takes a moment to shut down
            if proc.alive:
                proc.proc.terminate()
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.stop()
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                closer()
        shutil.rmtree(self.logdir, ignore_errors=True)
        with contextlib.suppress(Exception):
            self.redis.stop()
        if self._mongo is not None:
            with contextlib.suppress(Exception):
                self._mongo.drop_database(self.db().name)
            self._mongo.close()
        else:
            with contextlib.suppress(Exception), MongoClient(self.mongo_url) as client:  # type: ignore[var-annotated]
                client.drop_database(client.get_default_database().name)

    def logs(self) -> str:
        """The tail of every process's log, for failure messages."""
        return "\n".join(f"--- {p.name} ---\n{p.output()[-2500:]}" for p in [*self.servers, *self.workers])


def _fail(proc: Proc) -> bool:
    raise AssertionError(f"{proc.name} exited with {proc.proc.returncode}:\n{proc.output()[-3000:]}")


@contextlib.contextmanager
def private_stack(base_mongo_url: str, *, prefix: str, **env_extra: str) -> Iterator[Stack]:
    """A Stack with its own Redis and database; everything it started is stopped on exit."""
    stack = Stack(mongo_url=private_mongo_url(base_mongo_url, prefix=prefix), redis=start_redis(), env_extra=env_extra)
    try:
        yield stack
    finally:
        stack.close()


# --- subscribing ----------------------------------------------------------------------------------


def take_briefings(
    ws: TransportWS, op: str, *, until: Callable[[list[dict[str, Any]]], bool], timeout: float
) -> list[dict[str, Any]]:
    """Events of `op` (errors fail) until `until(events)` holds; fails after `timeout` seconds."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    for event in ws.events(op, timeout=timeout):
        assert "errors" not in event, event
        events.append(event)
        if until(events):
            return events
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"the stream stopped or timed out before the condition held; got {events}")


def seqs_of(events: list[dict[str, Any]]) -> list[int]:
    """The seqs of the Briefing events, in the order received."""
    return [int(e["seq"]) for e in events if e.get("__typename") == "Briefing"]


def assert_once_each(stored: list[int]) -> None:
    """Exactly one stored Briefing per seq, in strictly increasing order."""
    assert stored == sorted(set(stored)), f"duplicate or unordered seqs in the store: {stored}"


# --- the shared engine stack ----------------------------------------------------------------------

RECONCILE_SECONDS = 1.0
TICK_TIMEOUT_SECONDS = 4
FRAME_TIMEOUT_SECONDS = 3
RERUN_AFTER_SECONDS = TICK_TIMEOUT_SECONDS + 10
"""arq runs a dead worker's job again once its in-progress key expires: job timeout + 10 s after it started."""


class SlowCamera:
    """An HTTP snapshot camera on a loopback port. Once armed, its next GET hangs (the tick that asked
    is stuck in its frame read, in the middle of the tick); every other GET answers 503."""

    def __init__(self) -> None:
        self.armed = threading.Event()
        self.hung = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self.gets = 0
        camera = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                with camera._lock:
                    camera.gets += 1
                    hang = camera.armed.is_set()
                    camera.armed.clear()
                if hang:
                    camera.hung.set()
                    camera._closing.wait(60)
                    return
                self.send_response(503)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/snapshot.jpg"

    def arm(self) -> None:
        """Make the next GET hang."""
        self.hung.clear()
        self.armed.set()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


SHOP_CAMERA = "shop"
"""The synthetic shop with the demo camera's entrance line and counter zone (watched, tracked)."""


@dataclass
class Engine:
    """The shared stack and its stand-ins: the LLM (answers 500 unless told otherwise), the `till`
    camera (SlowCamera) and the `door` camera (a port that refuses connections)."""

    stack: Stack
    fake_llm: FakeOpenAI
    camera: SlowCamera
    dead_port: int

    def ensure(self, *, servers: int, workers: int) -> None:
        """Start API processes and workers until that many run, and wait until they are ready."""
        while len(self.stack.alive_servers()) < servers:
            self.stack.spawn_server()
        while len(self.stack.alive_workers()) < workers:
            self.stack.spawn_worker()
        self.stack.ready(*self.stack.alive_servers(), *self.stack.alive_workers())


@contextlib.contextmanager
def open_engine(base_mongo_url: str) -> Iterator[Engine]:
    """Start the shared stack: Redis, a private database, two API processes and two workers."""
    fake_llm = FakeOpenAI(default=Reply.status(500))
    camera = SlowCamera()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # bound, never listening: connections to it are refused
    dead_port = int(dead.getsockname()[1])
    try:
        with private_stack(
            base_mongo_url,
            prefix="engine_faults",
            BRIEFING_RECONCILE_INTERVAL_SECONDS=str(RECONCILE_SECONDS),
            BRIEFING_TICK_TIMEOUT_SECONDS=str(TICK_TIMEOUT_SECONDS),
            BRIEFING_FRAME_TIMEOUT_SECONDS=str(FRAME_TIMEOUT_SECONDS),
            BRIEFING_CAPTION_TIMEOUT_SECONDS="10",
            OPENAI_API_KEY="test",
            OPENAI_BASE_URL=fake_llm.base_url,
        ) as stack:
            cameras = stack.logdir / "cameras.toml"
            cameras.write_text(
                '[[cameras]]\nid = "demo"\nname = "Demo store"\nsource = "synthetic:1"\n\n'
                f'[[cameras]]\nid = "till"\nname = "Till camera"\nsource = "{camera.url}"\n\n'
                f'[[cameras]]\nid = "door"\nname = "Door camera"\nsource = "http://127.0.0.1:{dead_port}/snapshot.jpg"\n\n'
                f'[[cameras]]\nid = "{SHOP_CAMERA}"\nname = "Shop with a door"\nsource = "synthetic:1"\n'
                'entrance = { line = [[122, 115], [194, 115]], inside = "right" }\n'
                'zones = [{ id = "counter", polygon = [[137, 200], [218, 200], [218, 226], [137, 226]] }]\n'
            )
            stack.env_extra["BRIEFING_CAMERAS_FILE"] = str(cameras)
            engine = Engine(stack=stack, fake_llm=fake_llm, camera=camera, dead_port=dead_port)
            engine.ensure(servers=2, workers=2)
            yield engine
    finally:
        camera.close()
        fake_llm.close()
        dead.close()


_shared: Engine | None = None


@pytest.fixture(scope="session")
def engine(backing: tuple[Service, Service]) -> Iterator[Engine]:
    """The engine stack shared by the fault and multi-process test modules (started once a session)."""
    global _shared
    if _shared is not None:  # the other module's copy of this fixture started it
        yield _shared
        return
    with open_engine(backing[0].url) as started:
        _shared = started
        try:
            yield started
        finally:
            _shared = None
