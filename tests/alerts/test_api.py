"""Alert rules, stored alerts and the webhook through the API: CRUD, validation and ownership."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import MongoClient

from tests.conftest import GraphQLClient, error_codes

RULE_FIELDS = "id kind cameraId threshold seconds zoneId label enabled createdAt"
SET_RULE = f"mutation($r: AlertRuleInput!) {{ setAlertRule(input: $r) {{ {RULE_FIELDS} }} }}"
DELETE_RULE = "mutation($id: ID!) { deleteAlertRule(id: $id) }"
RULES = f"{{ alertRules {{ {RULE_FIELDS} }} }}"
ALERTS = "query($id: ID!, $n: Int) { alerts(requestId: $id, limit: $n) { id kind message firedAt observed } }"
SET_WEBHOOK = "mutation($u: String) { setWebhook(url: $u) { secret webhook { url createdAt } } }"
CROWDED = {"kind": "OCCUPANCY", "threshold": 5, "seconds": 60}


def _set(gql: GraphQLClient, token: str, rule: dict[str, Any]) -> dict[str, Any]:
    body = gql(SET_RULE, {"r": rule}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["setAlertRule"]
    return result


def _refusal(body: dict[str, Any]) -> tuple[str, str | None]:
    error = body["errors"][0]
    return error["extensions"]["code"], error["extensions"].get("field")


def test_a_new_rule_is_stored_and_listed(gql: GraphQLClient) -> None:
    # given a signed-in owner
    token = gql.login("alice")
    # when they add "5 or more people for a minute" on the demo camera
    created = _set(gql, token, {**CROWDED, "cameraId": "demo"})
    # then the rule comes back as stored, enabled, and is listed
    assert created["kind"] == "OCCUPANCY"
    assert (created["cameraId"], created["threshold"], created["seconds"], created["enabled"]) == ("demo", 5, 60, True)
    assert gql(RULES, token=token)["data"]["alertRules"] == [created]


def test_a_rule_with_an_id_is_changed_in_place(gql: GraphQLClient) -> None:
    # given a stored rule
    token = gql.login("alice")
    created = _set(gql, token, CROWDED)
    # when it is sent again with its id and new settings
    changed = _set(gql, token, {"id": created["id"], "kind": "CAMERA_UNREADABLE", "seconds": 30, "enabled": False})
    # then the same rule now has the new settings, and there is still one rule
    assert changed["id"] == created["id"]
    assert (changed["kind"], changed["threshold"], changed["seconds"], changed["enabled"]) == (
        "CAMERA_UNREADABLE",
        None,
        30,
        False,
    )
    assert [rule["id"] for rule in gql(RULES, token=token)["data"]["alertRules"]] == [created["id"]]


def test_a_deleted_rule_is_gone(gql: GraphQLClient) -> None:
    # given a stored rule
    token = gql.login("alice")
    created = _set(gql, token, CROWDED)
    # when it is deleted
    assert gql(DELETE_RULE, {"id": created["id"]}, token=token)["data"] == {"deleteAlertRule": True}
    # then it is no longer listed, and deleting it again is NOT_FOUND
    assert gql(RULES, token=token)["data"]["alertRules"] == []
    assert error_codes(gql(DELETE_RULE, {"id": created["id"]}, token=token)) == ["NOT_FOUND"]


def test_another_users_rule_is_not_found_for_change_or_delete(gql: GraphQLClient) -> None:
    # given alice's rule
    alice, mallory = gql.login("alice"), gql.login("mallory")
    created = _set(gql, alice, CROWDED)
    # when mallory tries to list, change and delete it
    assert gql(RULES, token=mallory)["data"]["alertRules"] == []
    change = gql(SET_RULE, {"r": {**CROWDED, "id": created["id"], "threshold": 1}}, token=mallory)
    delete = gql(DELETE_RULE, {"id": created["id"]}, token=mallory)
    # then both are NOT_FOUND, like an id that never existed, and alice's rule is untouched
    assert error_codes(change) == error_codes(delete) == ["NOT_FOUND"]
    assert error_codes(gql(DELETE_RULE, {"id": str(ObjectId())}, token=mallory)) == ["NOT_FOUND"]
    assert error_codes(gql(DELETE_RULE, {"id": "not-an-id"}, token=mallory)) == ["NOT_FOUND"]
    assert gql(RULES, token=alice)["data"]["alertRules"] == [created]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "OCCUPANCY", "seconds": 60}, "threshold"),
        ({"kind": "OCCUPANCY", "threshold": 0, "seconds": 60}, "threshold"),
        ({"kind": "OCCUPANCY", "threshold": 1001, "seconds": 60}, "threshold"),
        ({"kind": "ENTRIES", "threshold": -3, "seconds": 600}, "threshold"),
        ({"kind": "CAMERA_UNREADABLE", "threshold": 2, "seconds": 60}, "threshold"),
        ({"kind": "OCCUPANCY", "threshold": 5, "seconds": 0}, "seconds"),
        ({"kind": "OCCUPANCY", "threshold": 5, "seconds": 86_401}, "seconds"),
        ({"kind": "OCCUPANCY", "threshold": 5, "seconds": 60, "cameraId": "lobby"}, "cameraId"),
        ({"kind": "ZONE_EMPTY", "seconds": 60, "zoneId": "counter"}, "cameraId"),
        ({"kind": "ZONE_EMPTY", "seconds": 60, "cameraId": "demo"}, "zoneId"),
        ({"kind": "ZONE_EMPTY", "seconds": 60, "cameraId": "demo", "zoneId": "kitchen"}, "zoneId"),
        ({"kind": "ZONE_EMPTY", "seconds": 60, "cameraId": "demo", "zoneId": "a b"}, "zoneId"),
        ({"kind": "OCCUPANCY", "threshold": 5, "seconds": 60, "zoneId": "counter"}, "zoneId"),
        ({"kind": "OCCUPANCY", "threshold": 5, "seconds": 60, "label": "<script>"}, "label"),
        ({"kind": "ENTRIES", "threshold": 5, "seconds": 60, "label": "female"}, "label"),
    ],
)
def test_a_rule_that_cannot_mean_anything_is_refused_naming_the_field(
    gql: GraphQLClient, rule: dict[str, Any], field: str
) -> None:
    # given a signed-in owner / when they send a bad rule
    token = gql.login("alice")
    body = gql(SET_RULE, {"r": rule}, token=token)
    # then it is BAD_USER_INPUT on that field, and nothing is stored
    assert _refusal(body) == ("BAD_USER_INPUT", field)
    assert gql(RULES, token=token)["data"]["alertRules"] == []


def test_a_zone_rule_names_one_of_the_cameras_zones(gql: GraphQLClient) -> None:
    # given the demo camera, which has a "counter" zone / when a rule watches it
    token = gql.login("alice")
    created = _set(gql, token, {"kind": "ZONE_EMPTY", "seconds": 120, "cameraId": "demo", "zoneId": "counter"})
    # then it is stored with its zone and no threshold
    assert (created["zoneId"], created["threshold"], created["cameraId"]) == ("counter", None, "demo")


def test_a_user_has_at_most_twenty_rules(gql: GraphQLClient) -> None:
    # given a user with 20 rules
    token = gql.login("alice")
    for threshold in range(1, 21):
        _set(gql, token, {**CROWDED, "threshold": threshold})
    # when they add a 21st
    body = gql(SET_RULE, {"r": CROWDED}, token=token)
    # then it is refused and 20 remain; changing one of them still works
    assert _refusal(body)[0] == "BAD_USER_INPUT"
    rules = gql(RULES, token=token)["data"]["alertRules"]
    assert len(rules) == 20
    assert _set(gql, token, {**CROWDED, "id": rules[0]["id"], "threshold": 99})["threshold"] == 99


def _user_id(gql: GraphQLClient, token: str) -> str:
    return str(gql("{ me { id } }", token=token)["data"]["me"]["id"])


def _store_request_with_alerts(mongo_url: str, *, owner: str, fired: list[int]) -> str:
    """A request of `owner` with alerts fired `fired` seconds after 9:00, stored directly."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        db = client.get_default_database("briefing")
        start = datetime(2026, 5, 1, 9, tzinfo=UTC)
        request_id = (
            db["requests"]
            .insert_one(
                {
                    "owner_id": ObjectId(owner),
                    "name": "2026-05-01 18:00:00",
                    "interval": 60,
                    "endtime": "20:00",
                    "starts_at": start,
                    "ends_at": start + timedelta(hours=2),
                    "camera_id": "demo",
                    "status": "ENDED",
                    "created_at": start,
                }
            )
            .inserted_id
        )
        rule_id = ObjectId()
        for second in fired:
            moment = start + timedelta(seconds=second)
            db["alerts"].insert_one(
                {
                    "_id": f"{rule_id}:{request_id}:{second}",
                    "owner_id": ObjectId(owner),
                    "rule_id": rule_id,
                    "request_id": request_id,
                    "camera_id": "demo",
                    "kind": "OCCUPANCY",
                    "since": moment - timedelta(seconds=60),
                    "fired_at": moment,
                    "message": f"alert at {second}",
                    "details": {"observed": 6, "threshold": 5, "seconds": 60},
                    "announced": True,
                }
            )
        return str(request_id)
    finally:
        client.close()


def test_alerts_of_a_request_are_listed_newest_first_up_to_the_limit(gql: GraphQLClient, mongo_url: str) -> None:
    # given a request of alice's with three alerts
    token = gql.login("alice")
    request_id = _store_request_with_alerts(mongo_url, owner=_user_id(gql, token), fired=[10, 30, 20])
    # when she lists them, and then only the newest two
    every = gql(ALERTS, {"id": request_id}, token=token)["data"]["alerts"]
    two = gql(ALERTS, {"id": request_id, "n": 2}, token=token)["data"]["alerts"]
    # then they come newest first
    assert [a["message"] for a in every] == ["alert at 30", "alert at 20", "alert at 10"]
    assert [a["message"] for a in two] == ["alert at 30", "alert at 20"]
    assert every[0]["kind"] == "OCCUPANCY" and every[0]["observed"] == 6


def test_alerts_of_another_users_request_are_not_found(gql: GraphQLClient, mongo_url: str) -> None:
    # given a request of alice's with an alert
    alice, mallory = gql.login("alice"), gql.login("mallory")
    request_id = _store_request_with_alerts(mongo_url, owner=_user_id(gql, alice), fired=[10])
    # then mallory's read is NOT_FOUND, like an unknown request
    assert error_codes(gql(ALERTS, {"id": request_id}, token=mallory)) == ["NOT_FOUND"]
    assert error_codes(gql(ALERTS, {"id": str(ObjectId())}, token=mallory)) == ["NOT_FOUND"]


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_an_alerts_limit_out_of_bounds_is_refused(gql: GraphQLClient, limit: int) -> None:
    token = gql.login("alice")
    body = gql(ALERTS, {"id": str(ObjectId()), "n": limit}, token=token)
    assert _refusal(body) == ("BAD_USER_INPUT", "limit")


def test_set_webhook_returns_its_secret_once(gql: GraphQLClient) -> None:
    # given a signed-in owner / when they set a webhook
    token = gql.login("alice")
    body = gql(SET_WEBHOOK, {"u": " https://hooks.example.com/briefing?token=abc "}, token=token)
    result = body["data"]["setWebhook"]
    # then the secret comes back with the (trimmed) URL, and later reads show the URL only
    assert result["secret"].startswith("whsec_") and len(result["secret"]) > 40
    assert result["webhook"]["url"] == "https://hooks.example.com/briefing?token=abc"
    shown = gql("{ webhook { url createdAt } }", token=token)["data"]["webhook"]
    assert shown == result["webhook"]
    # and setting it again rotates the secret
    again = gql(SET_WEBHOOK, {"u": "https://hooks.example.com/briefing"}, token=token)["data"]["setWebhook"]
    assert again["secret"] != result["secret"]


def test_a_null_webhook_url_removes_it(gql: GraphQLClient) -> None:
    token = gql.login("alice")
    gql(SET_WEBHOOK, {"u": "http://127.0.0.1:9/hook"}, token=token)
    assert gql(SET_WEBHOOK, {"u": None}, token=token)["data"]["setWebhook"] == {"secret": None, "webhook": None}
    assert gql("{ webhook { url } }", token=token)["data"]["webhook"] is None


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "https://user:hunter2@example.com/hook",
        "https://token@example.com/hook",
        "http://",
        "https:///path-only",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_a_webhook_url_that_is_not_plain_http_is_refused(gql: GraphQLClient, url: str) -> None:
    # given a signed-in owner / when they set a webhook that is not http(s), holds credentials, or is malformed
    token = gql.login("alice")
    body = gql(SET_WEBHOOK, {"u": url}, token=token)
    # then it is refused on `url`, the message does not repeat a password, and no webhook is stored
    assert _refusal(body) == ("BAD_USER_INPUT", "url")
    assert "hunter2" not in body["errors"][0]["message"]
    assert gql("{ webhook { url } }", token=token)["data"]["webhook"] is None
