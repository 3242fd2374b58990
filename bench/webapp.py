"""The owner's web app in a real browser: JavaScript of the first load, and live event to DOM latency.

Run from the repository root (after ``make assets`` and ``scripts/provision.sh chromium``)::

    .venv/bin/python -m bench.webapp                  # a 1-second briefing watched for 60 s
    .venv/bin/python -m bench.webapp --seconds 120

It starts a throwaway FerretDB and Redis (or uses ``TEST_MONGODB_URI`` / ``TEST_REDIS_URL``, whose
data it clears), the API (``python -m server.cli serve``) and one worker as subprocesses, and opens
the app in Debian's Chromium through Playwright (headless, 1280×800). Before the app loads, an init
script stamps (``performance.timeOrigin + performance.now()``) every WebSocket message carrying a
``Briefing`` and, with a ``MutationObserver``, every feed item the app adds to the page. The bench
signs up, starts a 1-second briefing on the demo camera, waits ``--seconds``, ends it, and then
reads when each briefing was announced (the time in the id of its Redis stream entry, ``XADD`` on
the same host clock, millisecond resolution).

Figures:

* first load: the JavaScript ``index.html`` loads up front (module script and modulepreloads), gzip
  level 9 from the built files, and what the browser actually received for scripts on the first
  visit (``encodedBodySize``: the server gzips assets); goal <= 250 KB.
* live event -> DOM per briefing: DOM insertion minus the announce time (p50 / p99 / max), split
  into announce -> WebSocket message (the server's fan-out and the socket) and WebSocket message ->
  DOM (Apollo Client and React in the page). No goal was set; 100 ms is printed for reference, the
  fan-out goal of ``bench.fanout``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from playwright.sync_api import Page, sync_playwright
from redis import Redis

from bench.common import ROOT, Goal, cores, cpu_model, demo_camera_file, ms_summary, percentile
from devtools.services import Service, backing_services, clear_data, free_port, service_env, stop_process, wait_for_port
from server.webapp import APP_DIR, BUILD_HINT, webapp_built

FIRST_LOAD_GOAL_KB = 250.0
DOM_REFERENCE_MS = 100.0
SEOUL = ZoneInfo("Asia/Seoul")

# Runs in the page before any of its scripts.
STAMPS = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__bench = { ws: {}, dom: {} };
  const Original = window.WebSocket;
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const at = now();
        try {
          const message = JSON.parse(event.data);
          const data = message.payload && message.payload.data;
          const item = data && (data.briefing || data.reloadBriefing);
          const fresh = item && item.__typename === 'Briefing' && !(item.seq in window.__bench.ws);
          if (fresh) window.__bench.ws[item.seq] = at;
        } catch (e) { /* not JSON */ }
      });
    }
  };
  const observer = new MutationObserver((records) => {
    const at = now();
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1 && node.matches('li[data-seq]') && node.closest('[data-testid=feed]')) {
          const seq = Number(node.dataset.seq);
          if (!(seq in window.__bench.dom)) window.__bench.dom[seq] = at;
        }
      }
    }
  });
  const watch = () => observer.observe(document.body, { childList: true, subtree: true });
  document.addEventListener('DOMContentLoaded', watch);
})();
"""


def first_load_files() -> list[Path]:
    """The JavaScript files index.html loads up front."""
    page = (APP_DIR / "index.html").read_text(encoding="utf-8")
    urls = re.findall(r'<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="(/assets/[^"]+\.js)"', page)
    return [APP_DIR / url.lstrip("/") for url in urls]


def announcements(redis_url: str, request_id: str) -> dict[int, float]:
    """Seq -> when the tick announced it (the ms time in its Redis stream entry id), epoch seconds."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        entries: list[tuple[str, dict[str, str]]] = client.xrange(f"briefing:events:{request_id}")  # type: ignore[assignment]
    finally:
        client.close()
    announced: dict[int, float] = {}
    for entry_id, fields in entries:
        event = json.loads(fields["event"])
        if event.get("kind") == "briefing":
            announced.setdefault(int(event["seq"]), int(entry_id.split("-")[0]) / 1000.0)
    return announced


def drive(page: Page, *, seconds: float) -> None:
    """Sign up, start a 1-second briefing on the demo camera, watch it, end it."""
    page.goto("/")
    page.get_by_label("아이디").fill("bench_owner")
    page.get_by_label("비밀번호").fill("correct horse")
    page.get_by_role("button", name="로그인 / 가입").click()
    page.get_by_label("카메라").select_option("demo")
    page.get_by_label("간격", exact=True).fill("1")
    end = datetime.now(SEOUL) + timedelta(seconds=seconds + 180)
    page.get_by_label("종료 시각").fill(end.strftime("%H:%M"))
    page.get_by_role("button", name="시작").click()
    page.wait_for_selector("[data-testid=feed] li[data-seq]", timeout=60_000)
    page.wait_for_timeout(seconds * 1000)
    page.get_by_role("button", name="종료", exact=True).click()
    page.get_by_text("브리핑이 끝났습니다").wait_for(timeout=15_000)


def run(*, seconds: float, mongo: Service, redis_svc: Service) -> None:
    """Start API and worker, measure in Chromium, print the figures."""
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: scripts/provision.sh chromium")
    if not webapp_built():
        raise SystemExit(f"the web app is not built: {BUILD_HINT}")
    clear_data(mongo_url=mongo.url, redis_url=redis_svc.url)
    print(f"machine: {cpu_model()}, {cores()}")

    files = first_load_files()
    gzipped = sum(len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in files)
    raw = sum(path.stat().st_size for path in files)

    children: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-webapp-") as scratch:
        cameras_file, detector_note = demo_camera_file(Path(scratch))
        extra = {"BRIEFING_CAMERAS_FILE": str(cameras_file)} if cameras_file else {}
        env = service_env(mongo_url=mongo.url, redis_url=redis_svc.url, **extra)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            server = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=env,
            )
            children.append(server)
            children.append(subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], cwd=ROOT, env=env))
            wait_for_port(port, timeout=60, proc=server)
            time.sleep(5)  # the worker imports torch before it polls
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True)
                context = browser.new_context(
                    base_url=base, viewport={"width": 1280, "height": 800}, locale="ko-KR", timezone_id="Asia/Seoul"
                )
                context.add_init_script(STAMPS)
                page = context.new_page()
                drive(page, seconds=seconds)
                stamps: dict[str, dict[str, float]] = page.evaluate("() => window.__bench")
                received: float = page.evaluate(
                    """() => performance.getEntriesByType('resource')
                        .filter(e => e.initiatorType === 'script' || e.name.endsWith('.js'))
                        .reduce((sum, e) => sum + e.encodedBodySize, 0)"""
                )
                token = page.evaluate("() => localStorage.getItem('briefing.token')")
                browser.close()
            body = httpx.post(
                f"{base}/graphql",
                json={"query": "{ requests { id skippedTicks } }"},
                headers={"authorization": f"Bearer {token}"},
            ).json()
            request: dict[str, Any] = body["data"]["requests"][0]
        finally:
            for child in reversed(children):
                stop_process(child)

    announced = announcements(redis_svc.url, str(request["id"]))
    dom = {int(k): v / 1000 for k, v in stamps["dom"].items()}
    ws = {int(k): v / 1000 for k, v in stamps["ws"].items()}
    seqs = sorted(set(dom) & set(ws) & set(announced))
    to_dom = [dom[s] - announced[s] for s in seqs]
    to_ws = [ws[s] - announced[s] for s in seqs]
    ws_to_dom = [dom[s] - ws[s] for s in seqs]

    print(
        f"{detector_note}; 1-second briefing watched {seconds:g} s in Chromium (headless, 1280x800), template captions"
    )
    print(f"first load: {len(files)} script(s), {raw / 1024:.1f} KiB raw")
    print("  " + Goal("gzip -9 of the built files", gzipped / 1024, FIRST_LOAD_GOAL_KB, "KiB").line())
    print("  " + Goal("received by the browser (gzip)", received / 1024, FIRST_LOAD_GOAL_KB, "KiB").line())
    print(f"live briefings measured: {len(seqs)} (skipped ticks {request['skippedTicks']})")
    print(f"  announce -> DOM      {ms_summary(to_dom)}")
    print(f"  announce -> WS msg   {ms_summary(to_ws)}")
    print(f"  WS msg -> DOM        {ms_summary(ws_to_dom)}")
    if to_dom:
        print("  " + Goal("announce -> DOM p99", percentile(to_dom, 99) * 1e3, DOM_REFERENCE_MS, "ms").line())


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, start the backing services, run, stop everything."""
    parser = argparse.ArgumentParser(description="first-load JavaScript and live event to DOM latency of the web app")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to watch the briefing (default 60)")
    args = parser.parse_args(argv)
    with backing_services() as (mongo, redis_svc):
        run(seconds=args.seconds, mongo=mongo, redis_svc=redis_svc)


if __name__ == "__main__":
    main()
