"""Smaller behaviours in Chromium: editing the caption instructions by keyboard, the server's
BAD_USER_INPUT messages next to the field they name, and switching the app to English."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, needs_browser
from tests.browser.owner_app import OwnerApp
from tests.conftest import GraphQLClient

pytestmark = needs_browser

DEFAULTS = ["한국어로 말해줘", "공손하게 말해줘", "간단명료하게 말해줘"]


def _custom(gql: GraphQLClient, token: str) -> list[str]:
    body = gql("{ custom }", token=token)
    assert "errors" not in body, body
    return list(body["data"]["custom"])


def test_instructions_are_added_reordered_by_keyboard_removed_and_saved(
    browser_page: Page, app_gql: GraphQLClient, artifacts: Path
) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    # Given a new owner on the settings page, with the three default instructions
    app.open("/settings")
    app.sign_up("settings_owner")
    items = page.get_by_test_id("instructions").locator("input")
    expect(items).to_have_count(3)

    # When they add one, move it to the top with the keyboard alone, remove the old second and save
    page.get_by_label("새 지시문").fill("매장 이름은 방구석 카페라고 불러줘")
    page.keyboard.press("Enter")
    expect(items).to_have_count(4)
    page.get_by_role("button", name="4번 위로").focus()
    for _ in range(3):
        page.keyboard.press("Enter")  # focus follows the moved instruction
    page.get_by_role("button", name="2번 삭제").click()
    page.get_by_role("button", name="저장").click()

    # Then the app says so and the server holds that list, in that order
    expect(page.get_by_text("저장했습니다.")).to_be_visible()
    expected = ["매장 이름은 방구석 카페라고 불러줘", DEFAULTS[1], DEFAULTS[2]]
    assert _custom(app_gql, app.token()) == expected
    app.screenshot("settings", DESKTOP)
    app.screenshot("settings", PHONE)


def test_a_rejected_instruction_shows_the_servers_message_next_to_it(
    browser_page: Page, app_gql: GraphQLClient, artifacts: Path
) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    app.open("/settings")
    app.sign_up("long_winded")
    expect(page.get_by_test_id("instructions").locator("input")).to_have_count(3)

    # When they add an instruction longer than the server allows and save
    page.get_by_label("새 지시문").fill("가" * 201)
    page.get_by_role("button", name="추가").click()
    page.get_by_role("button", name="저장").click()

    # Then the BAD_USER_INPUT message appears by that instruction, which is marked invalid, and nothing is saved
    fourth = page.get_by_label("지시문 4")
    expect(fourth).to_have_attribute("aria-invalid", "true")
    message = page.locator(f'[id="{fourth.get_attribute("aria-describedby")}"]')
    expect(message).to_have_text("Instruction 4 is 201 characters; at most 200 are allowed")
    assert _custom(app_gql, app.token()) == DEFAULTS


def test_a_rejected_interval_is_shown_under_the_interval_field(browser_page: Page, artifacts: Path) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    app.open("/")
    app.sign_up("hasty_owner")

    # When they ask for a briefing every 0 seconds
    app.start_briefing(interval=0)

    # Then the server's message is tied to the interval field and no briefing runs
    interval = page.get_by_label("간격", exact=True)
    expect(interval).to_have_attribute("aria-invalid", "true")
    described = str(interval.get_attribute("aria-describedby"))
    expect(page.locator(f'[id="{described.split()[-1]}"]')).to_contain_text("interval must be between 1 and")
    expect(page.get_by_role("button", name="시작")).to_be_enabled()


def test_the_app_switches_to_english_and_keeps_it_after_a_reload(browser_page: Page, artifacts: Path) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    app.open("/history")
    app.sign_up("bilingual")

    # When they switch the language
    page.get_by_role("button", name="Switch the app to English").click()

    # Then the page speaks English, says so to assistive technology, and stays English after a reload
    expect(page.get_by_role("heading", level=1)).to_have_text("History")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    nav = page.get_by_role("navigation", name="Main menu")
    expect(nav.get_by_role("link")).to_have_text(["Live", "History", "Settings"])
    expect(nav.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    app.screenshot("history-english", PHONE)

    # And back to Korean
    page.get_by_role("button", name="앱을 한국어로 보기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("브리핑 기록")
