"""The owner's whole journey in Chromium: sign up, a live 1-second briefing on the demo camera that
survives a page reload and a dropped network without a gap or a duplicate, its end, the history
with its chart, the AI summary and the CSV download, checked against the GraphQL API."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, SUMMARY_MODEL, needs_browser
from tests.browser.owner_app import OwnerApp, request_id_from_url
from tests.conftest import GraphQLClient, LiveServer
from tests.language.fake_openai import FakeOpenAI, Reply

pytestmark = needs_browser

BRIEFINGS = (
    "query($id: ID!) { briefings(requestId: $id) "
    "{ seq capturedAt caption captionSource error counts { label count } } }"
)
REQUESTS = "{ requests { id status active briefingCount } }"
SUMMARY_TEXT = "[요약] 오늘 매장에는 여성 고객이 조금 더 많았습니다.\n제안: 오후에 음료 재고를 보충하십시오."


def _stored(gql: GraphQLClient, token: str, request_id: str) -> list[dict[str, Any]]:
    body = gql(BRIEFINGS, {"id": request_id}, token=token)
    assert "errors" not in body, body
    briefings: list[dict[str, Any]] = body["data"]["briefings"]
    return briefings


def _assert_feed_matches_store(shown: list[int], stored: list[dict[str, Any]]) -> None:
    """The feed shows every stored briefing up to its newest, once each, newest first."""
    assert shown, "the feed is empty"
    assert len(shown) == len(set(shown)), f"duplicate briefings in the feed: {shown}"
    assert shown == sorted(shown, reverse=True), f"the feed is out of order: {shown}"
    expected = [b["seq"] for b in stored if b["seq"] <= shown[0]]
    assert sorted(shown) == expected, f"gap: the feed shows {sorted(shown)}, the store has {expected}"


def _active_request(gql: GraphQLClient, token: str) -> str:
    body = gql(REQUESTS, token=token)
    active = [r for r in body["data"]["requests"] if r["active"]]
    assert len(active) == 1, body
    return str(active[0]["id"])


def _milliseconds(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_an_owner_runs_a_briefing_through_a_reload_and_an_outage_then_reads_its_history(
    browser_page: Page,
    browser_context: BrowserContext,
    app_gql: GraphQLClient,
    app_server: LiveServer,
    fake_llm: FakeOpenAI,
    artifacts: Path,
) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    urls: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))

    # Given a new owner, who gets the app in Korean and signs up with the one form
    app.open("/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    app.screenshot("signin", PHONE)
    app.sign_up("cafe_owner")
    expect(page.get_by_text("cafe_owner 계정을 새로 만들었습니다.")).to_be_visible()
    token = app.token()
    page.set_viewport_size(DESKTOP)

    # When they start a briefing on the demo camera every second
    app.start_briefing(interval=1, minutes_ahead=10)

    # Then three live briefings arrive, with captions and counts per class, and the chart draws them
    first = app.wait_for_feed(at_least=3)
    request_id = _active_request(app_gql, token)
    _assert_feed_matches_store(first, _stored(app_gql, token, request_id))
    newest = page.locator("[data-testid=feed] li[data-seq]").first
    expect(newest.locator(".caption")).to_contain_text("현재 매장에는")
    expect(newest.locator("[data-label=male]")).to_contain_text("남성")
    expect(newest.locator("[data-label=female]")).to_contain_text("여성")
    expect(page.locator("[data-link=live]")).to_have_text("실시간 연결됨")
    assert app.chart_pixels("live-chart")["painted"] > 0

    # When the page is reloaded mid-briefing
    before_reload = app.feed_seqs()[0]
    page.reload()

    # Then the feed resumes after the last briefing it showed, says so, and misses or repeats nothing
    expect(page.locator("[data-resumed-cause=reload]")).to_contain_text("이어받았습니다")
    after_reload = app.wait_for_seq_beyond(before_reload + 1)
    _assert_feed_matches_store(after_reload, _stored(app_gql, token, request_id))
    app.screenshot("live", DESKTOP)
    app.screenshot("live", PHONE)
    page.set_viewport_size(DESKTOP)

    # When the network drops for a few ticks and comes back
    browser_context.set_offline(True)
    app.wait_for_link("offline")
    app.screenshot("offline", PHONE)
    last_online = app.feed_seqs()[0]
    page.wait_for_timeout(3_000)  # the worker keeps ticking meanwhile
    assert app.feed_seqs()[0] <= last_online + 1  # at most one was already on its way
    browser_context.set_offline(False)

    # Then it resumes after the last seq shown, catching up on what it missed, without gap or duplicate
    expect(page.locator("[data-resumed-cause=network]")).to_contain_text("연결이 복구되어")
    app.wait_for_link("live")
    resumed = app.wait_for_seq_beyond(last_online + 3)
    _assert_feed_matches_store(resumed, _stored(app_gql, token, request_id))

    # When they end it
    page.get_by_role("button", name="종료", exact=True).click()

    # Then the app says it ended and the feed holds exactly what the store holds
    expect(page.get_by_text("브리핑이 끝났습니다: 직접 종료")).to_be_visible()
    stored = _stored(app_gql, token, request_id)
    page.wait_for_timeout(500)
    final = app.feed_seqs()
    assert sorted(final) == [b["seq"] for b in stored]
    assert len(stored) >= 6

    # When they open the history
    page.get_by_role("link", name="기록", exact=True).click()

    # Then the request is listed with its status and briefing count
    row = page.locator(f"[data-request-id='{request_id}']")
    expect(row).to_contain_text("종료")
    expect(row).to_contain_text(f"브리핑 {len(stored)}건")
    app.screenshot("history", DESKTOP)
    app.screenshot("history", PHONE)
    page.set_viewport_size(DESKTOP)

    # When they open the request
    row.get_by_role("link").click()
    page.wait_for_url(f"**/history/{request_id}")
    assert request_id_from_url(page.url) == request_id

    # Then the chart of counts over time is drawn, with a line per class, and the table lists every briefing
    expect(page.locator("[data-testid=history-chart] canvas")).to_be_visible()
    pixels = app.chart_pixels("history-chart")
    assert pixels["painted"] > 0 and pixels["male"] + pixels["female"] > 20, pixels
    expect(page.locator("[data-testid=briefings-table] tbody tr")).to_have_count(len(stored))

    # When they ask for the AI summary (the model takes a moment)
    fake_llm.script(Reply.text(SUMMARY_TEXT, delay=2.0))
    page.get_by_role("button", name="요약 만들기").click()

    # Then a loading state shows while it is written, then the model's summary
    expect(page.get_by_test_id("summary-loading")).to_contain_text("요약을 쓰는 중")
    summary = page.get_by_test_id("summary")
    expect(summary).to_contain_text("오늘 매장에는 여성 고객이 조금 더 많았습니다.", timeout=20_000)
    expect(summary).to_have_attribute("data-source", "LLM")
    expect(summary).to_contain_text(SUMMARY_MODEL)
    assert fake_llm.requests and fake_llm.requests[-1].body["model"] == SUMMARY_MODEL
    app.screenshot("request", DESKTOP)
    app.screenshot("request", PHONE)
    page.set_viewport_size(DESKTOP)

    # When they download the CSV
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV 내려받기").click()
    download = download_info.value
    raw = Path(download.path()).read_bytes()

    # Then it holds the same briefings as `briefings(requestId)`, with a BOM for spreadsheets
    assert raw.startswith(b"\xef\xbb\xbf")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [int(r["seq"]) for r in rows] == [b["seq"] for b in stored]
    for row_, briefing in zip(rows, stored, strict=True):
        assert _milliseconds(row_["captured_at"]) == _milliseconds(briefing["capturedAt"])
        assert row_["caption"] == briefing["caption"]
        assert row_["caption_source"] == briefing["captionSource"]
        assert (row_["error"] or None) == briefing["error"]
        for count in briefing["counts"]:
            assert int(row_[count["label"]]) == count["count"]

    # And nothing was fetched from any host but the server, and the CSP never had to block anything
    own = f"127.0.0.1:{app_server.port}"
    foreign = [u for u in urls if urlsplit(u).scheme not in ("blob", "data") and urlsplit(u).netloc != own]
    assert foreign == []
    assert not [m for m in console if "Content Security Policy" in m], console
