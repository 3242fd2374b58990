"""Tracking and alerts in Chromium: a briefing on the demo camera shows entries, exits and the counter
zone; an alert rule made in the settings fires on the synthetic shop (it always has people), shows
in the live feed and then in the request page's list; rules are switched off and deleted by keyboard;
the webhook form shows its signing secret once. Checked against the GraphQL API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, needs_browser
from tests.browser.owner_app import OwnerApp
from tests.conftest import GraphQLClient

pytestmark = needs_browser

RULES = "{ alertRules { id kind cameraId threshold seconds zoneId label enabled } }"
REQUEST = "{ requests { id visitors visitorsByLabel { label count } meanDwellMinutes } }"
BRIEFINGS = "query($id: ID!) { briefings(requestId: $id) { seq tracked entered { count } } }"
ALERTS = "query($id: ID!) { alerts(requestId: $id) { id kind firedAt observed } }"
TRACKED_ITEM = "[data-testid=feed] li[data-seq]:has([data-testid=movement])"
FEED_ALERT = "[data-testid=feed] [data-alert-id]"


def _data(gql: GraphQLClient, query: str, token: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = gql(query, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_an_alert_rule_made_in_settings_fires_in_the_live_feed_and_is_listed_with_the_request(
    browser_page: Page, app_gql: GraphQLClient, artifacts: Path
) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    # Given a new owner on the settings page
    app.open("/settings")
    app.sign_up("alert_owner")
    token = app.token()
    form = page.get_by_test_id("rule-form")

    # When they ask for an occupancy rule on the demo camera with a threshold the server refuses
    form.get_by_label("종류").select_option(label="사람이 많을 때")
    form.get_by_label("카메라").select_option("demo")
    threshold = form.get_by_label("기준 인원 (이상)")
    threshold.fill("0")
    form.get_by_label("지속 시간").fill("2")
    form.get_by_role("button", name="규칙 만들기").click()

    # Then the server's message shows next to the threshold, which is marked invalid
    expect(threshold).to_have_attribute("aria-invalid", "true", timeout=15_000)
    expect(form.locator(".field-invalid .field-error")).to_contain_text("threshold must be between 1 and")
    assert _data(app_gql, RULES, token)["alertRules"] == []

    # When they correct it to 1 person for 2 seconds
    threshold.fill("1")
    form.get_by_role("button", name="규칙 만들기").click()

    # Then the rule is listed in words and stored as asked
    rules = page.get_by_test_id("rules").locator("li[data-rule-id]")
    expect(rules).to_have_count(1, timeout=15_000)
    expect(rules.first).to_contain_text("1명 이상이 2초 동안 계속되면")
    expect(form.locator(".field-error")).to_have_count(0)
    stored = _data(app_gql, RULES, token)["alertRules"]
    assert [(r["kind"], r["cameraId"], r["threshold"], r["seconds"], r["enabled"]) for r in stored] == [
        ("OCCUPANCY", "demo", 1, 2, True)
    ]
    app.screenshot("settings-alerts", PHONE)
    app.screenshot("settings-alerts", DESKTOP)

    # When they start a 1-second briefing on the demo camera
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="실시간").click()
    app.start_briefing(interval=1, minutes_ahead=10)

    # Then tracked briefings show entries, exits and the counter zone
    tracked = page.locator(TRACKED_ITEM).first
    expect(tracked).to_be_visible(timeout=30_000)
    expect(tracked.locator("[data-testid=movement]")).to_contain_text("들어옴")
    expect(tracked.locator("[data-testid=movement]")).to_contain_text("나감")
    expect(tracked.locator("[data-zone=counter]")).to_contain_text("카운터")
    expect(tracked.locator("[data-zone=counter]")).to_have_text(
        f"카운터 {tracked.locator('[data-zone=counter]').get_attribute('data-count')}명"
    )

    # And the rule fires: an alert in the feed, in its own style, and announced by the banner
    alert = page.locator(FEED_ALERT).first
    expect(alert).to_be_visible(timeout=30_000)
    expect(alert).to_contain_text("1명 이상이 2초 동안 계속되었습니다.")
    expect(alert.locator(".badge-alert")).to_have_text("알림")
    banner = page.get_by_role("alert").filter(has_text="2초 동안 계속되었습니다")
    expect(banner).to_be_visible()
    alert_id = str(alert.get_attribute("data-alert-id"))
    app.wait_for_feed(at_least=4)
    app.screenshot("live-tracked", DESKTOP)
    app.screenshot("live-tracked", PHONE)
    page.set_viewport_size(DESKTOP)

    # When the banner is dismissed by keyboard, the alert stays in the feed
    page.get_by_role("button", name="알림 닫기").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("alert-banner")).to_have_count(0)
    expect(page.locator(f"{FEED_ALERT}[data-alert-id='{alert_id}']")).to_be_visible()

    # When they end it and open it in the history
    page.get_by_role("button", name="종료", exact=True).click()
    expect(page.get_by_text("브리핑이 끝났습니다: 직접 종료")).to_be_visible()
    page.get_by_role("link", name="기록에서 보기").click()
    page.wait_for_url("**/history/*")
    request_id = page.url.rsplit("/", 1)[1]

    # Then the request page lists its alerts newest first, the live one among them, as the API has them
    listed = page.get_by_test_id("alerts").locator("[data-alert-id]")
    expect(listed.first).to_be_visible()
    api_alerts = _data(app_gql, ALERTS, token, {"id": request_id})["alerts"]
    expect(listed).to_have_count(len(api_alerts))
    shown_ids = [str(i) for i in listed.evaluate_all("items => items.map(i => i.dataset.alertId)")]
    assert shown_ids == [a["id"] for a in api_alerts]
    assert alert_id in shown_ids
    fired = [str(s) for s in listed.locator("time").evaluate_all("ts => ts.map(t => t.dateTime)")]
    assert fired == sorted(fired, reverse=True)

    # And the visitors, their mean stay, and the visitors-per-hour chart match the API
    request = next(r for r in _data(app_gql, REQUEST, token)["requests"] if r["id"] == request_id)
    briefings = _data(app_gql, BRIEFINGS, token, {"id": request_id})["briefings"]
    entered = sum(c["count"] for b in briefings if b["tracked"] for c in b["entered"])
    expect(page.get_by_test_id("visitors-total")).to_have_attribute("data-visitors", str(request["visitors"]))
    expect(page.get_by_test_id("visitors-total")).to_contain_text(f"{request['visitors']}명")
    expect(page.get_by_test_id("mean-stay")).to_be_visible()
    chart = page.get_by_test_id("visitors-chart")
    expect(chart.locator("canvas")).to_be_visible()
    expect(chart).to_have_attribute("data-visitors", str(entered))
    assert int(str(chart.get_attribute("data-hours"))) >= 1
    expect(chart).to_have_attribute("aria-label", f"시간대별 방문객 막대그래프: {_hours_text(chart)}")
    app.screenshot("request-alerts", DESKTOP)
    app.screenshot("request-alerts", PHONE)
    page.set_viewport_size(DESKTOP)

    # When they switch to English, the alerts are in English too
    page.get_by_role("button", name="Switch the app to English").click()
    expect(listed.first).to_contain_text("at least 1 for 2 s")
    expect(page.get_by_text("Visitors per hour", exact=True)).to_be_visible()
    app.screenshot("request-alerts-en", PHONE)


def _hours_text(chart: Any) -> str:
    """The chart's own description, re-read (the test checks its prefix and that it names hours)."""
    label = str(chart.get_attribute("aria-label"))
    prefix = "시간대별 방문객 막대그래프: "
    assert label.startswith(prefix) and "시 " in label and label.endswith("명"), label
    return label[len(prefix) :]


def test_rules_are_checked_by_field_switched_off_and_deleted_and_the_webhook_secret_shows_once(
    browser_page: Page, app_gql: GraphQLClient, artifacts: Path
) -> None:
    page = browser_page
    app = OwnerApp(page, artifacts)
    app.open("/settings")
    app.sign_up("hook_owner")
    token = app.token()
    form = page.get_by_test_id("rule-form")

    # When they ask for a zone rule on a zone the demo camera does not have
    form.get_by_label("종류").select_option(label="구역이 비었을 때")
    expect(form.get_by_label("기준 인원 (이상)")).to_have_count(0)  # only the fields the kind needs
    expect(form.get_by_label("카메라")).to_have_value("demo")  # a zone belongs to a camera: it picks one
    zone = form.get_by_label("구역", exact=True)
    zone.fill("kitchen")
    form.get_by_label("지속 시간").fill("5")
    form.get_by_label("시간 단위").select_option(label="분")
    form.get_by_role("button", name="규칙 만들기").click()

    # Then the server's message is next to the zone field
    expect(zone).to_have_attribute("aria-invalid", "true", timeout=15_000)
    expect(form.locator(".field-invalid .field-error")).to_contain_text("has no zone")

    # When they name the counter instead, the rule is made (5 minutes) and listed
    zone.fill("counter")
    form.get_by_role("button", name="규칙 만들기").click()
    rules = page.get_by_test_id("rules").locator("li[data-rule-id]")
    expect(rules).to_have_count(1, timeout=15_000)
    expect(rules.first).to_contain_text("카운터 구역이 5분 동안 비어 있으면")

    # When they switch it off with the keyboard
    toggle = rules.first.get_by_role("checkbox")
    toggle.focus()
    page.keyboard.press("Space")

    # Then it shows as off and is stored off
    expect(rules.first).to_have_attribute("data-enabled", "false")
    expect(rules.first).to_contain_text("꺼짐")
    stored = _data(app_gql, RULES, token)["alertRules"]
    assert [(r["kind"], r["cameraId"], r["zoneId"], r["seconds"], r["enabled"]) for r in stored] == [
        ("ZONE_EMPTY", "demo", "counter", 300, False)
    ]

    # When they give a webhook URL that is not http(s)
    url = page.get_by_label("웹훅 주소")
    expect(page.get_by_test_id("webhook-current")).to_have_text("설정된 웹훅이 없습니다.")
    url.fill("ftp://example.test/hook")
    page.get_by_role("button", name="웹훅 설정").click()

    # Then the server's message shows next to it
    expect(url).to_have_attribute("aria-invalid", "true", timeout=15_000)
    expect(page.get_by_test_id("webhook").locator(".field-error")).to_contain_text("http:// or https://")

    # When they give a good one
    url.fill("http://127.0.0.1:9/briefing-hook")
    page.get_by_role("button", name="웹훅 설정").click()

    # Then the signing secret is shown once, with the hint to copy it, and the webhook is stored
    secret = page.get_by_test_id("webhook-secret")
    expect(secret).to_have_value(re.compile(r"^whsec_[A-Za-z0-9_-]{20,}$"), timeout=15_000)
    expect(page.get_by_test_id("webhook-secret-box")).to_contain_text("지금 한 번만 보여 드립니다")
    expect(page.get_by_test_id("webhook-current")).to_contain_text("http://127.0.0.1:9/briefing-hook")
    assert _data(app_gql, "{ webhook { url } }", token)["webhook"] == {"url": "http://127.0.0.1:9/briefing-hook"}
    app.screenshot("settings-webhook", PHONE)
    app.screenshot("settings-webhook", DESKTOP)

    # When they copy it, the button says so (or says how to copy by hand)
    page.get_by_role("button", name="복사").click()
    expect(page.get_by_test_id("webhook-secret-box").get_by_role("status")).to_have_text(
        re.compile(r"^(복사했습니다\.|복사하지 못했습니다\. 직접 선택해서 복사하세요\.)$")
    )

    # And after a reload the secret is gone for good
    page.reload()
    expect(page.get_by_test_id("webhook-current")).to_contain_text("http://127.0.0.1:9/briefing-hook")
    expect(page.get_by_test_id("webhook-secret")).to_have_count(0)

    # When they delete the rule and remove the webhook
    rules.first.get_by_role("button", name="규칙 삭제").click()
    expect(rules).to_have_count(0)
    expect(page.get_by_text("알림 규칙이 없습니다.")).to_be_visible()
    page.get_by_role("button", name="웹훅 삭제").click()
    expect(page.get_by_test_id("webhook-current")).to_have_text("설정된 웹훅이 없습니다.")
    assert _data(app_gql, RULES, token)["alertRules"] == []
    assert _data(app_gql, "{ webhook { url } }", token)["webhook"] is None
