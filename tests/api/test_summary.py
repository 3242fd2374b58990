"""`aiSummary`: the template without an LLM, caching until a new briefing, ownership, and the LLM path
against the local OpenAI-compatible stand-in."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import MongoClient

from tests.conftest import GraphQLClient, LiveServer, error_codes, service_env, start_server
from tests.language.fake_openai import FakeOpenAI, Reply

SUMMARY = (
    "mutation($id: ID!, $refresh: Boolean) { aiSummary(requestId: $id, refresh: $refresh) "
    "{ requestId text source model createdAt cached } }"
)
SUMMARY_MODEL = "fake-summary-model"
PEAK = 7  # the seeded briefings count 1..PEAK men, one woman each


def _db(mongo_url: str) -> MongoClient[dict[str, object]]:
    return MongoClient(mongo_url)


def _seed_request(mongo_url: str, *, owner: str, created: datetime, briefings: int) -> str:
    """A finished request of `owner` with briefings seq 1..n: `seq` men and one woman each."""
    client = _db(mongo_url)
    try:
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
                "skipped_ticks": 0,
                "created_at": created,
            }
        )
        for seq in range(1, briefings + 1):
            _insert_briefing(db=db, request_id=request_id, seq=seq, created=created)
    finally:
        client.close()
    return str(request_id)


def _insert_briefing(*, db: object, request_id: ObjectId, seq: int, created: datetime) -> None:
    db["briefings"].insert_one(  # type: ignore[index]
        {
            "request_id": request_id,
            "seq": seq,
            "captured_at": created + timedelta(minutes=seq),
            "caption": f"caption {seq}",
            "counts": [{"label": "male", "count": seq}, {"label": "female", "count": 1}],
            "caption_source": "TEMPLATE",
            "error": None,
            "detections": [],
            "created_at": created,
        }
    )


def _add_briefing(mongo_url: str, *, request_id: str, seq: int) -> None:
    client = _db(mongo_url)
    try:
        db = client.get_default_database("briefing")
        _insert_briefing(db=db, request_id=ObjectId(request_id), seq=seq, created=datetime(2026, 11, 1, tzinfo=UTC))
    finally:
        client.close()


def _stored_summaries(mongo_url: str, *, request_id: str) -> list[dict[str, object]]:
    client = _db(mongo_url)
    try:
        db = client.get_default_database("briefing")
        return list(db["summaries"].find({"request_id": ObjectId(request_id)}))
    finally:
        client.close()


def _summary(gql: GraphQLClient, request_id: str, *, token: str, refresh: bool | None = None) -> dict[str, Any]:
    body = gql(SUMMARY, {"id": request_id, "refresh": refresh}, token=token)
    assert "errors" not in body, body
    summary: dict[str, Any] = body["data"]["aiSummary"]
    return summary


# --- without an LLM (the session server has no key) ------------------------------------------


def test_template_summary_is_cached_until_refresh_or_a_new_briefing(gql: GraphQLClient, mongo_url: str) -> None:
    token = gql.login("sumi")
    request_id = _seed_request(mongo_url, owner="sumi", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), briefings=5)

    first = _summary(gql, request_id, token=token)
    assert first["requestId"] == request_id
    assert first["source"] == "TEMPLATE"
    assert first["model"] is None
    assert first["cached"] is False
    assert "[요약]" in str(first["text"])  # Korean by default (the user's default instructions)
    assert "5명" in str(first["text"])  # the peak of the seeded counts (5 men) … and more
    assert "브리핑 5건" in str(first["text"])

    second = _summary(gql, request_id, token=token)
    assert second["cached"] is True
    assert second["text"] == first["text"]
    assert second["createdAt"] == first["createdAt"]

    refreshed = _summary(gql, request_id, token=token, refresh=True)
    assert refreshed["cached"] is False
    assert refreshed["source"] == "TEMPLATE"
    assert refreshed["createdAt"] >= first["createdAt"]
    assert _summary(gql, request_id, token=token, refresh=False)["cached"] is True

    _add_briefing(mongo_url, request_id=request_id, seq=6)
    after_new = _summary(gql, request_id, token=token)
    assert after_new["cached"] is False
    assert "브리핑 6건" in str(after_new["text"])
    assert _summary(gql, request_id, token=token)["cached"] is True

    stored = _stored_summaries(mongo_url, request_id=request_id)
    assert len(stored) == 1
    assert stored[0]["briefing_count"] == 6
    assert stored[0]["source"] == "TEMPLATE"
    assert stored[0]["text"] == after_new["text"]


def test_summary_follows_the_users_instructions(gql: GraphQLClient, mongo_url: str) -> None:
    token = gql.login("english")
    gql('mutation { updateCustom(custom: ["Speak English"]) { message } }', token=token)
    request_id = _seed_request(mongo_url, owner="english", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), briefings=3)
    text = str(_summary(gql, request_id, token=token)["text"])
    assert text.startswith("[Summary]")


def test_a_request_without_briefings_gets_a_template_summary(gql: GraphQLClient, mongo_url: str) -> None:
    token = gql.login("empty")
    request_id = _seed_request(mongo_url, owner="empty", created=datetime(2026, 11, 1, tzinfo=UTC), briefings=0)
    first = _summary(gql, request_id, token=token)
    assert first["source"] == "TEMPLATE" and first["cached"] is False
    assert _summary(gql, request_id, token=token)["cached"] is True
    assert _stored_summaries(mongo_url, request_id=request_id)[0]["briefing_count"] == 0


def test_concurrent_calls_store_one_summary(gql: GraphQLClient, mongo_url: str) -> None:
    token = gql.login("racer")
    request_id = _seed_request(mongo_url, owner="racer", created=datetime(2026, 11, 1, tzinfo=UTC), briefings=4)
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        clients = [GraphQLClient(gql.url) for _ in range(6)]
        try:
            results = list(pool.map(lambda c: c(SUMMARY, {"id": request_id}, token=token), clients))
        finally:
            for client in clients:
                client.http.close()
    assert all("errors" not in body for body in results), results
    summaries = [body["data"]["aiSummary"] for body in results]
    assert [s["cached"] for s in summaries].count(False) == 1
    assert len({s["text"] for s in summaries}) == 1
    assert len(_stored_summaries(mongo_url, request_id=request_id)) == 1


def test_another_users_request_and_a_malformed_id_are_not_found(gql: GraphQLClient, mongo_url: str) -> None:
    gql.login("owner")
    request_id = _seed_request(mongo_url, owner="owner", created=datetime(2026, 11, 3, tzinfo=UTC), briefings=2)
    intruder = gql.login("intruder")
    theirs = gql(SUMMARY, {"id": request_id}, token=intruder)
    missing = gql(SUMMARY, {"id": str(ObjectId())}, token=intruder)
    malformed = gql(SUMMARY, {"id": "not-an-id"}, token=intruder)
    assert error_codes(theirs) == error_codes(missing) == error_codes(malformed) == ["NOT_FOUND"]
    assert theirs["errors"][0]["message"] == missing["errors"][0]["message"]
    assert _stored_summaries(mongo_url, request_id=request_id) == []


def test_summary_needs_a_token(gql: GraphQLClient, mongo_url: str) -> None:
    gql.login("owner")
    request_id = _seed_request(mongo_url, owner="owner", created=datetime(2026, 11, 3, tzinfo=UTC), briefings=1)
    assert error_codes(gql(SUMMARY, {"id": request_id})) == ["UNAUTHENTICATED"]
    assert error_codes(gql(SUMMARY, {"id": request_id}, token="not-a-token")) == ["UNAUTHENTICATED"]


# --- with an LLM: a server of our own pointed at the local OpenAI-compatible stand-in ----------


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    """The OpenAI stand-in for this module's LLM server."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm_server(mongo_url: str, redis_url: str, fake_openai: FakeOpenAI) -> Iterator[LiveServer]:
    """A uvicorn with an API key, pointed at the stand-in, with quick retries."""
    live = start_server(
        env=service_env(
            mongo_url=mongo_url,
            redis_url=redis_url,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=fake_openai.base_url,
            BRIEFING_SUMMARY_MODEL=SUMMARY_MODEL,
            BRIEFING_LLM_MAX_RETRIES="2",
        )
    )
    yield live
    live.stop()


@pytest.fixture
def llm_gql(llm_server: LiveServer, fake_openai: FakeOpenAI, redis_url: str) -> Iterator[GraphQLClient]:
    """A client of the LLM server; the stand-in starts each test with no requests and no script."""
    fake_openai.reset()
    fake_openai.set_default(Reply.status(500))
    client = GraphQLClient(llm_server.http_url)
    yield client
    client.http.close()


def test_llm_summary_is_written_from_the_statistics(
    llm_gql: GraphQLClient, fake_openai: FakeOpenAI, mongo_url: str
) -> None:
    token = llm_gql.login("llmuser")
    request_id = _seed_request(
        mongo_url, owner="llmuser", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), briefings=PEAK
    )
    fake_openai.script(Reply.text("오늘 매장에는 남성 고객이 많았습니다.\n제안: 피크 시간에 재고를 보충하십시오."))

    first = _summary(llm_gql, request_id, token=token)
    assert first["source"] == "LLM"
    assert first["model"] == SUMMARY_MODEL
    assert first["cached"] is False
    assert str(first["text"]).startswith("오늘 매장에는 남성 고객이 많았습니다.")

    assert len(fake_openai.requests) == 1
    sent = fake_openai.requests[0]
    assert sent.path.endswith("/chat/completions")
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.body["model"] == SUMMARY_MODEL
    assert sent.body["temperature"] == 0.7
    assert sent.body["top_p"] == 0.9
    assert '"peak_total": {"count": 8' in sent.prompt  # 7 men + 1 woman at the busiest briefing
    assert f'"male": {{"count": {PEAK}' in sent.prompt
    assert '"briefings": 7' in sent.prompt
    assert "한국어로 말해줘" in sent.prompt  # the user's instructions travel with the statistics

    cached = _summary(llm_gql, request_id, token=token)
    assert cached["cached"] is True and cached["source"] == "LLM" and cached["text"] == first["text"]
    assert len(fake_openai.requests) == 1  # served from the store: no second LLM call
    stored = _stored_summaries(mongo_url, request_id=request_id)
    assert len(stored) == 1 and stored[0]["model"] == SUMMARY_MODEL and stored[0]["briefing_count"] == PEAK


def test_llm_failure_gives_a_template_summary(llm_gql: GraphQLClient, fake_openai: FakeOpenAI, mongo_url: str) -> None:
    token = llm_gql.login("unlucky")
    request_id = _seed_request(mongo_url, owner="unlucky", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), briefings=3)
    fake_openai.set_default(Reply.status(500))  # every attempt, retries included

    body = llm_gql(SUMMARY, {"id": request_id}, token=token)
    assert "errors" not in body, body
    summary = body["data"]["aiSummary"]
    assert summary["source"] == "TEMPLATE"
    assert summary["model"] is None
    assert summary["cached"] is False
    assert "[요약]" in summary["text"]
    assert len(fake_openai.requests) == 3  # the first try and two retries, all answered 500

    # The LLM is back: a refresh replaces the template with the model's summary, still one document.
    fake_openai.script(Reply.text("회복된 요약입니다."))
    refreshed = _summary(llm_gql, request_id, token=token, refresh=True)
    assert refreshed["source"] == "LLM" and refreshed["text"] == "회복된 요약입니다." and refreshed["cached"] is False
    assert len(_stored_summaries(mongo_url, request_id=request_id)) == 1


def test_concurrent_llm_calls_ask_the_model_once(
    llm_gql: GraphQLClient, fake_openai: FakeOpenAI, mongo_url: str
) -> None:
    token = llm_gql.login("busy")
    request_id = _seed_request(mongo_url, owner="busy", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), briefings=3)
    fake_openai.set_default(Reply.text("느린 요약입니다.", delay=0.5))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        clients = [GraphQLClient(llm_gql.url) for _ in range(4)]
        try:
            results = list(pool.map(lambda c: c(SUMMARY, {"id": request_id, "refresh": True}, token=token), clients))
        finally:
            for client in clients:
                client.http.close()
    assert all("errors" not in body for body in results), results
    assert {body["data"]["aiSummary"]["text"] for body in results} == {"느린 요약입니다."}
    assert len(fake_openai.requests) == 1
    assert len(_stored_summaries(mongo_url, request_id=request_id)) == 1
