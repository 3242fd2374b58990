"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download) against a real
uvicorn serving the built web app, the session worker ticking its briefings, and the local
OpenAI-compatible stand-in writing its summaries. Screenshots go to var/test-artifacts/browser/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, expect, sync_playwright

from server.webapp import BUILD_HINT, webapp_built
from tests.conftest import ROOT, GraphQLClient, LiveServer, LiveWorker, service_env, start_server
from tests.language.fake_openai import FakeOpenAI, Reply

ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
SUMMARY_MODEL = "fake-summary-model"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}

CHROMIUM = shutil.which("chromium")

# expect() waits 5 s by default, whatever the context's timeout: too short for a loaded 2-core CI box
expect.set_options(timeout=15_000)

needs_browser = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: scripts/provision.sh chromium"),
    pytest.mark.skipif(not webapp_built(), reason=f"the web app is not built: {BUILD_HINT}"),
]
"""`pytestmark` of the modules that open the app in Chromium."""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are saved (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API runs an event loop in the main thread while it is open: closed with this
    package, so that the asyncio tests collected after it (pytest-asyncio) get a thread without one."""
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    assert CHROMIUM is not None
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    """The OpenAI stand-in behind the app server's summaries."""
    with FakeOpenAI(default=Reply.status(500)) as fake:
        yield fake


@pytest.fixture(scope="session")
def app_server(mongo_url: str, redis_url: str, fake_llm: FakeOpenAI, worker: LiveWorker) -> Iterator[LiveServer]:
    """A uvicorn serving the app and the API, summaries through the stand-in; the session worker ticks."""
    live = start_server(
        env=service_env(
            mongo_url=mongo_url,
            redis_url=redis_url,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=fake_llm.base_url,
            BRIEFING_SUMMARY_MODEL=SUMMARY_MODEL,
            BRIEFING_LLM_MAX_RETRIES="0",
        )
    )
    yield live
    live.stop()


@pytest.fixture
def app_gql(app_server: LiveServer, fake_llm: FakeOpenAI) -> Iterator[GraphQLClient]:
    """GraphQL over HTTP to the app server, to check what the browser shows against the API."""
    fake_llm.reset()
    fake_llm.set_default(Reply.status(500))
    client = GraphQLClient(app_server.http_url)
    yield client
    client.http.close()


@pytest.fixture
def browser_context(browser: Browser, app_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh profile (empty localStorage) of a Korean owner in Seoul, on a desktop-sized window."""
    context = browser.new_context(
        base_url=app_server.base,
        viewport=DESKTOP,
        locale="ko-KR",
        timezone_id="Asia/Seoul",
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def browser_page(browser_context: BrowserContext, app_gql: GraphQLClient) -> Page:
    """A tab of that profile; the data is cleared (autouse `_clean`) before it opens."""
    return browser_context.new_page()
