"""CSV export: `GET /export/requests/<id>.csv` against the live server, with briefings seeded in the store."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import MongoClient

from tests.conftest import GraphQLClient, LiveServer

BRIEFINGS = (
    "query($id: ID!) { briefings(requestId: $id) "
    "{ seq capturedAt caption counts { label count } captionSource error } }"
)
START = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 12:00 in Seoul


@pytest.fixture
def db(mongo_url: str) -> Iterator[Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    yield client.get_default_database("briefing")
    client.close()


def seed_request(db: Any, *, owner: str) -> ObjectId:
    user = db["users"].find_one({"username": owner})
    assert user is not None
    request_id = ObjectId()
    db["requests"].insert_one(
        {
            "_id": request_id,
            "owner_id": user["_id"],
            "name": "2026-11-01 12:00:00",
            "interval": 60,
            "endtime": "23:00",
            "starts_at": START,
            "ends_at": START + timedelta(hours=1),
            "camera_id": "demo",
            "status": "ENDED",
            "ended_at": START + timedelta(hours=1),
            "end_reason": "REACHED_ENDTIME",
            "skipped_ticks": 0,
            "created_at": START,
        }
    )
    return request_id


def briefing_doc(request_id: ObjectId, seq: int, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": f"{request_id}:{seq:08d}",
        "request_id": request_id,
        "seq": seq,
        "captured_at": START + timedelta(minutes=seq),
        "caption": f"caption {seq}",
        "counts": [{"label": "male", "count": seq}, {"label": "female", "count": 0}],
        "caption_source": "TEMPLATE",
        "error": None,
        "detections": [{"label": "male", "score": 0.9, "box": [0.0, 0.0, 1.0, 1.0]}],
        "created_at": START,
    }
    doc.update(fields)
    return doc


def export(server: LiveServer, request_id: object, token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.base}/export/requests/{request_id}.csv", headers=headers, timeout=60)


def rows_of(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf"), response.content[:20]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def test_owner_downloads_every_briefing_in_seq_order_with_local_times_and_a_column_per_label(
    gql: GraphQLClient, server: LiveServer, db: Any
) -> None:
    # given a request whose briefings are stored out of order: a Korean caption with a comma, a quote
    # and a line break, a failed frame, an LLM caption, another class, and a caption starting with "="
    token = gql.login("alice")
    request_id = seed_request(db, owner="alice")
    db["briefings"].insert_many(
        [
            briefing_doc(request_id, 3, caption='=HYPERLINK("http://evil")', caption_source="LLM"),
            briefing_doc(request_id, 1, caption='현재 매장에는 남자 1명, 여자 0명이 있습니다.\n"좋아요"'),
            briefing_doc(request_id, 2, counts=[], caption="카메라 오류", error="camera offline"),
            briefing_doc(
                request_id,
                4,
                captured_at=START + timedelta(minutes=4, milliseconds=250),
                counts=[{"label": "dog", "count": 2}, {"label": "male", "count": 4}, {"label": "female", "count": 1}],
            ),
        ]
    )
    # when the owner asks for the CSV
    response = export(server, request_id, token)
    # then it is a UTF-8 (with BOM) CSV attachment, not cached
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="briefing-{request_id}.csv"'
    assert response.headers["cache-control"] == "no-store"
    rows = rows_of(response)
    # and the columns are seq, captured_at, the labels (male, female first), caption, caption_source, error
    assert rows[0] == ["seq", "captured_at", "male", "female", "dog", "caption", "caption_source", "error"]
    assert rows[1:] == [
        [
            "1",
            "2026-11-01T12:01:00+09:00",
            "1",
            "0",
            "",
            '현재 매장에는 남자 1명, 여자 0명이 있습니다.\n"좋아요"',
            "TEMPLATE",
            "",
        ],
        ["2", "2026-11-01T12:02:00+09:00", "", "", "", "카메라 오류", "TEMPLATE", "camera offline"],
        ["3", "2026-11-01T12:03:00+09:00", "3", "0", "", '\'=HYPERLINK("http://evil")', "LLM", ""],
        ["4", "2026-11-01T12:04:00.250+09:00", "4", "1", "2", "caption 4", "TEMPLATE", ""],
    ]
    # and the same as briefings(requestId) says, cell for cell (the formula aside)
    served = gql(BRIEFINGS, {"id": str(request_id)}, token=token)["data"]["briefings"]
    assert [int(row[0]) for row in rows[1:]] == [b["seq"] for b in served]
    for row, briefing in zip(rows[1:], served, strict=True):
        assert datetime.fromisoformat(row[1]) == datetime.fromisoformat(briefing["capturedAt"])
        assert row[5].removeprefix("'") == briefing["caption"]
        assert (row[6], row[7] or None) == (briefing["captionSource"], briefing["error"])
        assert {c["label"]: str(c["count"]) for c in briefing["counts"]} == {
            label: cell for label, cell in zip(rows[0][2:5], row[2:5], strict=True) if cell
        }


def test_a_request_without_briefings_is_a_header_only(gql: GraphQLClient, server: LiveServer, db: Any) -> None:
    token = gql.login("bob")
    request_id = seed_request(db, owner="bob")
    rows = rows_of(export(server, request_id, token))
    assert rows == [["seq", "captured_at", "caption", "caption_source", "error"]]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YWxpY2U6cHc="])
def test_without_a_valid_token_the_answer_is_401(
    gql: GraphQLClient, server: LiveServer, db: Any, authorization: str | None
) -> None:
    # given a request with a briefing
    gql.login("carol")
    request_id = seed_request(db, owner="carol")
    db["briefings"].insert_one(briefing_doc(request_id, 1))
    # when asked without a (valid) bearer token
    headers = {"authorization": authorization} if authorization else {}
    response = httpx.get(f"{server.base}/export/requests/{request_id}.csv", headers=headers)
    # then 401, saying how to authenticate, and nothing of the request
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert "caption" not in response.text


def test_another_users_request_and_a_malformed_id_are_404_alike(
    gql: GraphQLClient, server: LiveServer, db: Any
) -> None:
    # given dave's request and erin's token
    gql.login("dave")
    erin = gql.login("erin")
    request_id = seed_request(db, owner="dave")
    db["briefings"].insert_one(briefing_doc(request_id, 1))
    # when erin asks for dave's request, a request that does not exist, or a malformed id
    answers = [export(server, rid, erin) for rid in (request_id, ObjectId(), "not-an-id")]
    # then each is the same 404
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert {r.json()["message"] for r in answers} == {"Request not found"}


def test_a_long_request_is_streamed_in_batches(gql: GraphQLClient, server: LiveServer, db: Any) -> None:
    # given a request of 5 000 briefings (the export reads them 1 000 at a time)
    token = gql.login("frank")
    request_id = seed_request(db, owner="frank")
    total = 5000
    db["briefings"].insert_many([briefing_doc(request_id, seq) for seq in range(1, total + 1)])
    # when it is downloaded
    with httpx.stream(
        "GET",
        f"{server.base}/export/requests/{request_id}.csv",
        headers={"authorization": f"Bearer {token}"},
        timeout=120,
    ) as response:
        assert response.status_code == 200
        # then the body is streamed (chunked, no length known up front) in several pieces
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        pieces = list(response.iter_raw())
    body = b"".join(pieces).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert len(pieces) > 1
    assert len(rows) == total + 1
    assert [int(row[0]) for row in rows[1:]] == list(range(1, total + 1))
