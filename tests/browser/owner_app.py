"""The owner's web app as a person uses it (Korean UI), for the browser tests: what to click, what to read."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, ViewportSize, expect

SEOUL = ZoneInfo("Asia/Seoul")
FEED_ITEMS = "[data-testid=feed] li[data-seq]"


class OwnerApp:
    """One browser tab on the app."""

    def __init__(self, page: Page, artifacts: Path) -> None:
        self.page = page
        self.artifacts = artifacts

    # --- getting in -------------------------------------------------------------------------------

    def open(self, path: str = "/") -> None:
        self.page.goto(path)

    def sign_up(self, username: str, password: str = "correct horse") -> None:
        """Fill the one form that signs up or in, and wait for the signed-in shell."""
        page = self.page
        page.get_by_label("아이디").fill(username)
        page.get_by_label("비밀번호").fill(password)
        page.get_by_role("button", name="로그인 / 가입").click()
        expect(page.get_by_role("navigation", name="주 메뉴")).to_be_visible()

    def token(self) -> str:
        """The bearer token the app keeps in localStorage."""
        token = self.page.evaluate("() => localStorage.getItem('briefing.token')")
        assert isinstance(token, str) and token, "no token in localStorage"
        return token

    # --- the live page ----------------------------------------------------------------------------

    def start_briefing(self, *, interval: int = 1, unit: str = "초", minutes_ahead: int = 10) -> None:
        """Pick the demo camera, the interval and an end time `minutes_ahead` from now, and start."""
        page = self.page
        page.get_by_label("카메라").select_option("demo")
        page.get_by_label("간격", exact=True).fill(str(interval))
        page.get_by_label("간격 단위").select_option(label=unit)
        end = datetime.now(SEOUL) + timedelta(minutes=minutes_ahead)
        page.get_by_label("종료 시각").fill(end.strftime("%H:%M"))
        page.get_by_role("button", name="시작").click()

    def feed_seqs(self) -> list[int]:
        """The seqs the feed shows, top (newest) first."""
        seqs: list[Any] = self.page.eval_on_selector_all(FEED_ITEMS, "items => items.map(i => Number(i.dataset.seq))")
        return [int(s) for s in seqs]

    def wait_for_feed(self, *, at_least: int, timeout: float = 20_000) -> list[int]:
        """Wait until the feed shows at least that many briefings; returns their seqs (newest first)."""
        self.page.wait_for_function(
            f"n => document.querySelectorAll('{FEED_ITEMS}').length >= n", arg=at_least, timeout=timeout
        )
        return self.feed_seqs()

    def wait_for_seq_beyond(self, seq: int, *, timeout: float = 20_000) -> list[int]:
        """Wait until the newest briefing shown is past `seq`."""
        self.page.wait_for_function(
            """s => { const top = document.querySelector('[data-testid=feed] li[data-seq]');
                      return top !== null && Number(top.dataset.seq) > s; }""",
            arg=seq,
            timeout=timeout,
        )
        return self.feed_seqs()

    def link_state(self) -> str:
        return str(self.page.locator("[data-link]").get_attribute("data-link"))

    def wait_for_link(self, state: str, *, timeout: float = 15_000) -> None:
        expect(self.page.locator(f"[data-link={state}]")).to_be_visible(timeout=timeout)

    # --- charts, downloads, screenshots -----------------------------------------------------------

    def chart_pixels(self, test_id: str) -> dict[str, int]:
        """Pixels on the chart's canvas: painted at all, and close to each series colour."""
        result: dict[str, int] = self.page.evaluate(
            """testId => {
                 const canvas = document.querySelector(`[data-testid=${testId}] canvas`);
                 if (!canvas) return {painted: 0, male: 0, female: 0, width: 0};
                 const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                 const near = (i, r, g, b) =>
                   Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60;
                 let painted = 0, male = 0, female = 0;
                 for (let i = 0; i < data.length; i += 4) {
                   if (data[i + 3] === 0) continue;
                   painted++;
                   if (near(i, 37, 99, 235)) male++;
                   if (near(i, 219, 39, 119)) female++;
                 }
                 return {painted, male, female, width: canvas.width};
               }""",
            test_id,
        )
        return result

    def screenshot(self, name: str, viewport: ViewportSize) -> Path:
        """Save a full-page screenshot at that window size (the window keeps it afterwards)."""
        self.page.set_viewport_size(viewport)
        self.page.wait_for_timeout(250)  # charts follow their container's width
        path = self.artifacts / f"{name}-{viewport['width']}x{viewport['height']}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def request_id_from_url(url: str) -> str:
    found = re.search(r"/history/([A-Za-z0-9]+)$", url)
    assert found, url
    return found.group(1)
