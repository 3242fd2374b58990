"""Custom instructions and the history queries, including the ownership rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import MongoClient

from tests.conftest import GraphQLClient, error_codes

UPDATE = "mutation($c: [String!]!) { updateCustom(custom: $c) { message } }"
REQUESTS = "{ requests { id name interval endtime startsAt endsAt cameraId status active endReason briefingCount } }"
BRIEFINGS = (
    "query($id: ID!) { briefings(requestId: $id) "
    "{ id requestId seq capturedAt caption counts { label count } captionSource error } }"
)


def test_update_custom_replaces_the_list(gql: GraphQLClient) -> None:
    token = gql.login("alice")
    body = gql(UPDATE, {"c": ["  Speak English  ", "Be brief"]}, token=token)
    assert body["data"] == {"updateCustom": {"message": "Success to update Custom."}}
    assert gql("{ custom }", token=token)["data"] == {"custom": ["Speak English", "Be brief"]}


def test_custom_may_be_emptied(gql: GraphQLClient) -> None:
    token = gql.login("alice")
    gql(UPDATE, {"c": []}, token=token)
    assert gql("{ custom }", token=token)["data"] == {"custom": []}


def test_custom_rejects_too_many_items_and_keeps_the_old_list(gql: GraphQLClient) -> None:
    token = gql.login("bob")
    body = gql(UPDATE, {"c": [f"rule {i}" for i in range(21)]}, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "At most 20" in body["errors"][0]["message"]
    assert gql("{ custom }", token=token)["data"]["custom"][0] == "한국어로 말해줘"


def test_custom_rejects_blank_and_overlong_items(gql: GraphQLClient) -> None:
    token = gql.login("carol")
    assert error_codes(gql(UPDATE, {"c": ["ok", "   "]}, token=token)) == ["BAD_USER_INPUT"]
    assert error_codes(gql(UPDATE, {"c": ["x" * 201]}, token=token)) == ["BAD_USER_INPUT"]
    assert gql(UPDATE, {"c": ["x" * 200]}, token=token)["data"] is not None


def test_custom_rejects_control_bidi_and_zero_width_only_items_and_keeps_the_old_list(gql: GraphQLClient) -> None:
    # given a user with the default instructions
    token = gql.login("dave")
    for item in ["nul\x00here", "\x1b[31mred\x1b[0m", "abc\u202edcba", "\u200b\u200b", "tab\tok?"]:
        # when an instruction holds a NUL, an ANSI escape, a bidi override, only zero-width spaces, a tab
        body = gql(UPDATE, {"c": ["fine", item]}, token=token)
        # then it is refused, naming the field, and nothing changes
        assert error_codes(body) == ["BAD_USER_INPUT"], item
        assert body["errors"][0]["extensions"]["field"] == "custom"
    assert gql("{ custom }", token=token)["data"]["custom"][0] == "한국어로 말해줘"
    assert gql(UPDATE, {"c": ["영어로 말해줘 (English)"]}, token=token)["data"] is not None


def test_update_custom_needs_a_token(gql: GraphQLClient) -> None:
    assert error_codes(gql(UPDATE, {"c": ["x"]})) == ["UNAUTHENTICATED"]


def _seed_request(
    mongo_url: str,
    *,
    owner: str,
    created: datetime,
    briefings: int,
    skipped_before: int = 0,
    skipped_ticks: int = 0,
    keyed: bool = False,
    gaps: frozenset[int] = frozenset(),
) -> str:
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    db = client.get_default_database("briefing")
    user = db["users"].find_one({"username": owner})
    assert user is not None
    request_id = ObjectId()
    db["requests"].insert_one(
        {
            "_id": request_id,
            "owner_id": user["_id"],
            "name": created.strftime("%Y-%m-%d %H:%M:%S"),
            "interval": 60,
            "endtime": "23:00",
            "starts_at": created,
            "ends_at": created + timedelta(hours=1),
            "camera_id": "demo",
            "status": "ENDED",
            "ended_at": created + timedelta(hours=1),
            "end_reason": "REACHED_ENDTIME",
            "skipped_ticks": skipped_ticks,
            "keyed": keyed,
            "created_at": created,
        }
    )
    for seq in range(briefings, 0, -1):  # stored out of order on purpose
        if seq in gaps:
            continue
        key = {"_id": f"{request_id}:{seq:08d}"} if keyed else {}
        db["briefings"].insert_one(
            {
                **key,
                "request_id": request_id,
                "seq": seq,
                "captured_at": created + timedelta(minutes=seq),
                "caption": f"caption {seq}",
                "counts": [{"label": "male", "count": seq}, {"label": "female", "count": 0}],
                "caption_source": "TEMPLATE",
                "error": None,
                "detections": [],
                "skipped_before": skipped_before if seq > 1 else 0,
                "created_at": created,
            }
        )
    client.close()
    return str(request_id)


def test_requests_are_listed_newest_first_with_counts(gql: GraphQLClient, mongo_url: str) -> None:
    token = gql.login("dave")
    base = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    older = _seed_request(mongo_url, owner="dave", created=base, briefings=2)
    newer = _seed_request(mongo_url, owner="dave", created=base + timedelta(days=1), briefings=3)
    rows = gql(REQUESTS, token=token)["data"]["requests"]
    assert [r["id"] for r in rows] == [newer, older]
    assert [r["briefingCount"] for r in rows] == [3, 2]
    assert rows[0]["status"] == "ENDED" and rows[0]["active"] is False and rows[0]["endReason"] == "REACHED_ENDTIME"


def test_skipped_ticks_add_what_each_briefing_and_the_request_record(gql: GraphQLClient, mongo_url: str) -> None:
    # Given a request whose briefings 2..4 each skipped 2 slots, and which counted 1 itself (older rows)
    token = gql.login("frank")
    created = datetime(2026, 11, 3, tzinfo=UTC)
    _seed_request(mongo_url, owner="frank", created=created, briefings=4, skipped_before=2, skipped_ticks=1)
    # When the owner lists their requests
    rows = gql("{ requests { briefingCount skippedTicks } }", token=token)["data"]["requests"]
    # Then both the count and the skips are totalled
    assert rows == [{"briefingCount": 4, "skippedTicks": 7}]


def test_briefings_come_oldest_first(gql: GraphQLClient, mongo_url: str) -> None:
    token = gql.login("erin")
    request_id = _seed_request(mongo_url, owner="erin", created=datetime(2026, 11, 2, tzinfo=UTC), briefings=4)
    rows = gql(BRIEFINGS, {"id": request_id}, token=token)["data"]["briefings"]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert rows[1]["counts"] == [{"label": "male", "count": 2}, {"label": "female", "count": 0}]
    assert rows[0]["requestId"] == request_id and rows[0]["error"] is None


def test_a_keyed_requests_briefings_are_read_by_key_skipped_slots_and_all(gql: GraphQLClient, mongo_url: str) -> None:
    # Given a request whose briefings are stored under `<request>:<seq>` keys, slots 2 and 5 skipped
    token = gql.login("grace")
    created = datetime(2026, 11, 28, tzinfo=UTC)
    request_id = _seed_request(
        mongo_url, owner="grace", created=created, briefings=6, keyed=True, gaps=frozenset({2, 5})
    )
    # When its briefings are read
    rows = gql(BRIEFINGS, {"id": request_id}, token=token)["data"]["briefings"]
    # Then every stored one comes back once, in order
    assert [r["seq"] for r in rows] == [1, 3, 4, 6]


def test_another_users_request_is_not_found_like_a_missing_one(gql: GraphQLClient, mongo_url: str) -> None:
    gql.login("owner")
    request_id = _seed_request(mongo_url, owner="owner", created=datetime(2026, 11, 3, tzinfo=UTC), briefings=1)
    intruder = gql.login("intruder")
    theirs = gql(BRIEFINGS, {"id": request_id}, token=intruder)
    missing = gql(BRIEFINGS, {"id": str(ObjectId())}, token=intruder)
    malformed = gql(BRIEFINGS, {"id": "not-an-id"}, token=intruder)
    assert error_codes(theirs) == error_codes(missing) == error_codes(malformed) == ["NOT_FOUND"]
    assert theirs["errors"][0]["message"] == missing["errors"][0]["message"]
    assert gql(REQUESTS, token=intruder)["data"] == {"requests": []}
