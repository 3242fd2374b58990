"""Throwaway FerretDB and Redis servers on free loopback ports, for tests and benchmarks.

`make test` provisions the binaries; `TEST_MONGODB_URI` / `TEST_REDIS_URL` point the suite at
servers that are already running (a real MongoDB works too) instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
from pymongo import MongoClient
from pymongo.uri_parser import parse_uri

TOOLS_DIR = Path(os.environ.get("BRIEFING_TOOLS_DIR", Path.home() / ".cache/bangguseok/bin"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on the port, or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """Terminate a child process and wait for it; kill it if it ignores that for `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Service:
    """A started server process and how to reach it."""

    url: str
    port: int
    proc: subprocess.Popen[bytes] | None
    workdir: Path | None

    def stop(self) -> None:
        """Terminate the process (then kill it) and remove its scratch directory."""
        if self.proc is not None:
            stop_process(self.proc)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _binary(name: str) -> str:
    for candidate in (TOOLS_DIR / name, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise FileNotFoundError(f"{name} is not installed: run `make test` (it provisions {name})")


def start_redis(*, port: int | None = None) -> Service:
    """Start `redis-server` without persistence on a free port."""
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="briefing-redis-"))
    proc = subprocess.Popen(
        [
            _binary("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc=proc)
    return Service(url=f"redis://127.0.0.1:{port}/0", port=port, proc=proc, workdir=workdir)


def start_ferretdb(*, port: int | None = None, data_dir: Path | None = None, database: str = "briefing") -> Service:
    """Start FerretDB on its embedded SQLite backend on a free port."""
    port = port or free_port()
    scratch = data_dir is None
    workdir = Path(tempfile.mkdtemp(prefix="briefing-ferretdb-")) if data_dir is None else data_dir
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            _binary("ferretdb"),
            "--handler=sqlite",
            # Writers take SQLite's lock when their transaction begins, so a write never fails with
            # SQLITE_BUSY upgrading a read lock (the busy timeout only helps a waiting BEGIN).
            f"--sqlite-url=file:{workdir}/?_txlock=immediate",
            f"--state-dir={workdir}",
            f"--listen-addr=127.0.0.1:{port}",
            "--telemetry=disable",
            f"--debug-addr={os.environ.get('FERRETDB_DEBUG_ADDR', '-')}",
            f"--log-level={os.environ.get('FERRETDB_LOG_LEVEL', 'error')}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc=proc)
    return Service(
        url=f"mongodb://127.0.0.1:{port}/{database}", port=port, proc=proc, workdir=workdir if scratch else None
    )


@contextlib.contextmanager
def backing_services() -> Iterator[tuple[Service, Service]]:
    """MongoDB-compatible store and Redis: the configured ones, or throwaway ones started here."""
    started: list[Service] = []
    try:
        mongo_url = os.environ.get("TEST_MONGODB_URI")
        redis_url = os.environ.get("TEST_REDIS_URL")
        mongo = Service(mongo_url, 0, None, None) if mongo_url else start_ferretdb()
        if not mongo_url:
            started.append(mongo)
        redis = Service(redis_url, 0, None, None) if redis_url else start_redis()
        if not redis_url:
            started.append(redis)
        yield mongo, redis
    finally:
        for service in started:
            service.stop()


def service_env(*, mongo_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for a server or worker process pointed at the test services."""
    passed = ("BRIEFING_SLOW_QUERY_MS",)  # diagnostics an operator of a bench may turn on
    env = {k: v for k, v in os.environ.items() if k in passed or not k.startswith(("BRIEFING_", "OPENAI_"))}
    env.update(
        {
            "MONGODB_URI": mongo_url,
            "REDIS_URL": redis_url,
            "BRIEFING_ENV": "dev",
            "BRIEFING_LOG_LEVEL": "WARNING",
            "BRIEFING_HASH_CONCURRENCY": "2",
            "BRIEFING_WORKER_METRICS_PORT": "0",  # no fixed port per test worker; a test that scrapes one sets it
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def clear_data(*, mongo_url: str, redis_url: str) -> None:
    """Delete every document and Redis key, keeping collections and indexes."""
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:
        database = client[parse_uri(mongo_url).get("database") or "briefing"]
        for name in database.list_collection_names():
            database[name].delete_many({})
    finally:
        client.close()
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    r.close()
