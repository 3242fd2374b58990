"""What an idle service costs: CPU of the API and a worker with no briefing running.

Starts FerretDB and Redis (or uses TEST_MONGODB_URI / TEST_REDIS_URL), `briefing serve` and
`briefing worker` as `make dev` runs them, waits for both to settle, then measures each process's
CPU over `--seconds` (default 30). Goal: at most 1 % of a core per process.

    python -m bench.idle [--seconds 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import psutil  # type: ignore[import-untyped]

from bench.common import ROOT, Goal, cores, cpu_model
from devtools.services import backing_services, free_port, service_env, stop_process, wait_for_port

GOAL_PERCENT = 1.0
SETTLE_SECONDS = 20.0


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    """Start the service, let it idle, print each process's share of a core."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured idle time (default 30)")
    args = parser.parse_args()
    with backing_services() as (mongo, redis):
        env = service_env(mongo_url=mongo.url, redis_url=redis.url)
        port = free_port()
        api = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env
        )
        worker = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], cwd=ROOT, env=env)
        try:
            wait_for_port(port, timeout=60, proc=api)
            time.sleep(SETTLE_SECONDS)  # the worker imports torch and starts up
            procs = {"api": psutil.Process(api.pid), "worker": psutil.Process(worker.pid)}
            for name, service in (("ferretdb", mongo), ("redis", redis)):
                if service.proc is not None:
                    procs[name] = psutil.Process(service.proc.pid)
            before = {name: _cpu_seconds(p) for name, p in procs.items()}
            started = time.monotonic()
            time.sleep(args.seconds)
            wall = time.monotonic() - started
            after = {name: _cpu_seconds(p) for name, p in procs.items()}
        finally:
            stop_process(worker)
            stop_process(api)
    print(f"machine: {cpu_model()}, {cores()}")
    print(f"idle service, no briefing running, measured {wall:.0f} s after a {SETTLE_SECONDS:.0f} s settle")
    for name in procs:
        print(Goal(f"{name} CPU", (after[name] - before[name]) / wall * 100, GOAL_PERCENT, "% of a core").line())


if __name__ == "__main__":
    main()
