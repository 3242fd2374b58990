"""The original phone app's REST and WebSocket routes (`BRIEFING_LEGACY_API=on`), sent the way that
Flutter app sends them: form-encoded bodies, `3:05%20PM` in the query string, nothing sent on the
sockets. Then the fence: off by default (404), passwordless legacy accounts or owners who allowed it,
allowed networks only (403), and the original's 422 shape for bad input."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from bson import ObjectId
from pymongo import MongoClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ROOT, GraphQLClient, LiveServer, LiveWorker, error_codes, service_env, start_server

SEOUL = ZoneInfo("Asia/Seoul")
JSON_UTF8 = "application/json; charset=UTF-8"
TEXT_FORM = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}_.+", re.DOTALL)
DEFAULT_CUSTOM = ["한국어로 말해줘", "공손하게 말해줘", "간단명료하게 말해줘"]
ACCESS = "mutation($on: Boolean!) { setLegacyAccess(enabled: $on) { username legacyAccess } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { message userId token } }"


@pytest.fixture(scope="module")
def legacy_server(mongo_url: str, redis_url: str) -> Iterator[LiveServer]:
    """A server with the legacy routes on (default networks: loopback and private ranges)."""
    live = start_server(env=service_env(mongo_url=mongo_url, redis_url=redis_url, BRIEFING_LEGACY_API="on"))
    yield live
    live.stop()


class App:
    """What the Flutter app does over HTTP: form-encoded POSTs, as Dart's `http.post(body: {...})`."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base, timeout=30)

    def post(self, path: str, **fields: str) -> httpx.Response:
        headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self.http.post(path, content=urlencode(fields), headers=headers)

    def socket(self, path: str, query: str) -> ClientConnection:
        sock: ClientConnection = connect(f"ws://127.0.0.1:{self.server.port}{path}?{query}", open_timeout=10)
        return sock


@pytest.fixture
def app(legacy_server: LiveServer) -> Iterator[App]:
    client = App(legacy_server)
    yield client
    client.http.close()


@pytest.fixture
def legacy_gql(legacy_server: LiveServer) -> Iterator[GraphQLClient]:
    client = GraphQLClient(legacy_server.http_url)
    yield client
    client.http.close()


def _endtime(minutes: int = 30) -> str:
    """A time-picker endtime as Flutter's `TimeOfDay.format` writes it (`3:05 PM`), URL-encoded as Dart does."""
    moment = datetime.now(SEOUL) + timedelta(minutes=minutes)
    text = f"{moment.hour % 12 or 12}:{moment.minute:02d} {'PM' if moment.hour >= 12 else 'AM'}"
    return text.replace(" ", "%20")


def _frames(sock: ClientConnection, count: int, *, timeout: float = 30) -> list[str]:
    return [str(sock.recv(timeout=timeout)) for _ in range(count)]


def _close_code(sock: ClientConnection, *, timeout: float = 30) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        while True:
            sock.recv(timeout=timeout)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def _refused_handshake(app: App, path: str, query: str) -> httpx.Response:
    with pytest.raises(InvalidStatus) as refused:
        app.socket(path, query)
    response = refused.value.response
    headers = dict(response.headers.raw_items())
    return httpx.Response(response.status_code, headers=headers, content=bytes(response.body or b""))


def _seed(mongo_url: str, *, owner: str, created: datetime, captions: list[str]) -> str:
    """A finished request of `owner` (interval 60 s, ending an hour after `created`) with one briefing per caption."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        db = client.get_default_database("briefing")
        user = db["users"].find_one({"username": owner})
        assert user is not None
        request_id = ObjectId()
        db["requests"].insert_one(
            {
                "_id": request_id,
                "owner_id": user["_id"],
                "name": created.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S"),
                "interval": 60,
                "endtime": "9:30 PM",
                "starts_at": created,
                "ends_at": created + timedelta(hours=1),
                "camera_id": "demo",
                "status": "EXPIRED",
                "end_reason": "REACHED_ENDTIME",
                "ended_at": created + timedelta(hours=1),
                "skipped_ticks": 0,
                "created_at": created,
            }
        )
        for seq, caption in enumerate(captions, start=1):
            db["briefings"].insert_one(
                {
                    "_id": f"{request_id}:{seq:08d}",
                    "request_id": request_id,
                    "seq": seq,
                    "captured_at": created + timedelta(minutes=seq),
                    "caption": caption,
                    "counts": [{"label": "male", "count": seq}, {"label": "female", "count": 1}],
                    "caption_source": "TEMPLATE",
                    "error": None,
                    "detections": [],
                    "created_at": created + timedelta(minutes=seq),
                }
            )
    finally:
        client.close()
    return str(request_id)


def _set_password(username: str, *, mongo_url: str, redis_url: str) -> subprocess.CompletedProcess[bytes]:
    """`briefing users set-password NAME`, the password on stdin (as a script would pipe it)."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "users", "set-password", username],
        cwd=ROOT,
        env=service_env(mongo_url=mongo_url, redis_url=redis_url),
        input=b"correct horse\n",
        capture_output=True,
        timeout=60,
        check=False,
    )


def _password_account(gql: GraphQLClient, username: str) -> str:
    """An account made through GraphQL (it has a password, and no legacy access); its token."""
    return gql.login(username)


# --- the routes -------------------------------------------------------------------------------


def test_login_signs_up_a_new_name_then_logs_it_in(app: App) -> None:
    # given no account named cafe1; when the app logs in twice
    first = app.post("/login", username="cafe1")
    second = app.post("/login", username="cafe1")
    # then the first signs up, the second logs in, both with the same id, as UTF-8 JSON
    assert first.status_code == 200 and first.headers["content-type"] == JSON_UTF8
    assert first.json()["message"] == "signup"
    assert re.fullmatch(r"[0-9a-f]{24}", first.json()["user_id"])
    assert second.json() == {"message": "login", "user_id": first.json()["user_id"]}


def test_custom_starts_with_the_defaults_and_is_replaced_by_update_custom(app: App) -> None:
    # given a legacy account
    app.post("/login", username="cafe2")
    assert app.post("/getCustom", username="cafe2").json() == DEFAULT_CUSTOM
    # when the app sends a JSON-encoded list
    updated = app.post("/updateCustom", username="cafe2", custom_list=json.dumps(["영어로 말해줘", "짧게"]))
    # then the original's message comes back and the list is stored, Korean unescaped on the wire
    assert updated.status_code == 200 and updated.headers["content-type"] == JSON_UTF8
    assert updated.json() == "success to update Custom"
    custom = app.post("/getCustom", username="cafe2")
    assert custom.headers["content-type"] == JSON_UTF8
    assert custom.content == '["영어로 말해줘","짧게"]'.encode()


def test_get_all_request_lists_requests_newest_first_with_the_local_endtime(app: App, mongo_url: str) -> None:
    # given two finished requests of a legacy account
    app.post("/login", username="cafe3")
    older = _seed(mongo_url, owner="cafe3", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), captions=["a"])
    newer = _seed(mongo_url, owner="cafe3", created=datetime(2026, 11, 2, 4, 30, tzinfo=UTC), captions=["b"])
    # when the app lists them
    answer = app.post("/getAllRequest", username="cafe3")
    # then they come newest first, named and with their end as HH:MM in Seoul time
    assert answer.headers["content-type"] == JSON_UTF8
    assert answer.json() == [
        {"request_id": newer, "request_name": "2026-11-02 13:30:00", "endtime": "14:30"},
        {"request_id": older, "request_name": "2026-11-01 12:00:00", "endtime": "13:00"},
    ]


def test_get_all_request_of_an_unknown_user_is_an_empty_list(app: App) -> None:
    answer = app.post("/getAllRequest", username="nobody-here")
    assert answer.status_code == 200 and answer.json() == []


def test_get_briefing_returns_the_text_forms_oldest_first(app: App, mongo_url: str) -> None:
    # given a request with two briefings captured at 03:01 and 03:02 UTC
    app.post("/login", username="cafe4")
    request_id = _seed(
        mongo_url, owner="cafe4", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), captions=["첫째", "둘째"]
    )
    # when the app asks for them
    answer = app.post("/getBriefing", request_id=request_id)
    # then each is "YYYY-MM-DD HH:MM_<caption>" in Seoul time
    assert answer.headers["content-type"] == JSON_UTF8
    assert answer.json() == ["2026-11-01 12:01_첫째", "2026-11-01 12:02_둘째"]


def test_ai_summary_is_raw_text_said_to_be_utf8_json(app: App, mongo_url: str) -> None:
    # given a request with briefings (no LLM configured: the template summary)
    app.post("/login", username="cafe5")
    request_id = _seed(mongo_url, owner="cafe5", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), captions=["a", "b"])
    # when the app asks for its summary
    answer = app.post("/aiSummary", request_id=request_id)
    # then the text comes as it is (not a JSON string), with the original's content type
    assert answer.status_code == 200
    assert answer.headers["content-type"] == JSON_UTF8
    assert "[요약]" in answer.text and "브리핑 2건" in answer.text
    assert not answer.text.startswith('"')


def test_ws_streams_one_text_frame_per_briefing(app: App, worker: LiveWorker) -> None:
    # given a legacy account; when the app opens /ws with a time-picker endtime, sending nothing
    app.post("/login", username="cafe6")
    with app.socket("/ws", f"username=cafe6&interval=1&endtime={_endtime()}") as sock:
        frames = _frames(sock, 2)
    # then every frame is the text form of a briefing
    assert all(TEXT_FORM.fullmatch(frame) for frame in frames), frames


def test_ws_ends_the_running_briefing_first(app: App, legacy_gql: GraphQLClient, worker: LiveWorker) -> None:
    # given a running briefing streamed on one socket
    app.post("/login", username="cafe7")
    with app.socket("/ws", f"username=cafe7&interval=1&endtime={_endtime()}") as first:
        _frames(first, 1)
        # when the app starts another one
        with app.socket("/ws", f"username=cafe7&interval=1&endtime={_endtime(40)}") as second:
            _frames(second, 1)
            # then the first stream ends (its briefing was replaced) and its socket closes normally
            assert _close_code(first) == 1000
    listed = app.post("/getAllRequest", username="cafe7").json()
    assert len(listed) == 2


def test_end_briefing_stops_the_stream(app: App, worker: LiveWorker) -> None:
    # given a running briefing streamed on /ws
    app.post("/login", username="cafe8")
    with app.socket("/ws", f"username=cafe8&interval=1&endtime={_endtime()}") as sock:
        _frames(sock, 1)
        # when the app ends it
        ended = app.post("/endBriefing", username="cafe8")
        # then the original's message comes back and the socket closes normally
        assert ended.headers["content-type"] == JSON_UTF8
        assert ended.json() == {"message": "브리핑 성공적으로 종료"}
        assert _close_code(sock) == 1000


def test_end_briefing_without_a_running_one_answers_the_same(app: App) -> None:
    app.post("/login", username="cafe9")
    assert app.post("/endBriefing", username="cafe9").json() == {"message": "브리핑 성공적으로 종료"}


def test_reload_briefing_sends_the_briefings_so_far_then_closes_an_ended_one(app: App, mongo_url: str) -> None:
    # given a finished request with two briefings
    app.post("/login", username="cafe10")
    _seed(mongo_url, owner="cafe10", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), captions=["하나", "둘"])
    # when the app reloads, sending nothing
    with app.socket("/reloadBriefing", "username=cafe10") as sock:
        first = sock.recv(timeout=10)
        # then the first frame is exactly the original's, and the socket closes: nothing more will come
        assert first == '{"briefing_data":["2026-11-01 12:01_하나","2026-11-01 12:02_둘"]}'
        assert _close_code(sock) == 1000


def test_reload_briefing_without_a_request_sends_an_empty_list(app: App) -> None:
    app.post("/login", username="cafe11")
    with app.socket("/reloadBriefing", "username=cafe11") as sock:
        assert sock.recv(timeout=10) == '{"briefing_data":[]}'


def test_reload_briefing_follows_a_running_briefing(app: App, worker: LiveWorker) -> None:
    # given a running briefing that has made a briefing
    app.post("/login", username="cafe12")
    with app.socket("/ws", f"username=cafe12&interval=1&endtime={_endtime()}") as running:
        seen = _frames(running, 1)
        # when the app reloads
        with app.socket("/reloadBriefing", "username=cafe12") as sock:
            snapshot = json.loads(sock.recv(timeout=10))
            later = _frames(sock, 2)
    # then it gets what was made so far, then the new ones: in order, none missed, none twice
    so_far = snapshot["briefing_data"]
    assert seen[0] == so_far[0]
    request_id = app.post("/getAllRequest", username="cafe12").json()[0]["request_id"]
    stored = app.post("/getBriefing", request_id=request_id).json()
    assert stored[: len(so_far) + 2] == so_far + later


def test_ws_past_the_subscription_limit_is_refused_before_anything_is_stored(
    app: App, mongo_url: str, redis_url: str
) -> None:
    # given a legacy account holding its ten subscription slots: a running /ws and nine /reloadBriefing
    user_id = app.post("/login", username="cafe13").json()["user_id"]
    with contextlib.ExitStack() as open_sockets:
        open_sockets.enter_context(app.socket("/ws", f"username=cafe13&interval=60&endtime={_endtime()}"))
        for _ in range(9):
            reload = open_sockets.enter_context(app.socket("/reloadBriefing", "username=cafe13"))
            assert str(reload.recv(timeout=10)).startswith('{"briefing_data":[')
        r = redis.Redis.from_url(redis_url)
        assert r.zcard(f"briefing:subs:{user_id}") == 10
        r.close()
        # when the app opens an eleventh socket that would start a new briefing
        refused = _refused_handshake(app, "/ws", f"username=cafe13&interval=60&endtime={_endtime(40)}")
        # then the handshake is refused as rate limited, and nothing was stored or ended
        assert refused.status_code == 429, refused.text
        listed = app.post("/getAllRequest", username="cafe13").json()
        assert len(listed) == 1
        client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
        try:
            stored = list(client.get_default_database("briefing")["requests"].find())
        finally:
            client.close()
        assert [(r["status"], r.get("end_reason")) for r in stored] == [("ACTIVE", None)]


def test_routes_that_need_an_account_answer_404_for_an_unknown_name(app: App) -> None:
    assert app.post("/getCustom", username="ghost1").status_code == 404
    assert app.post("/updateCustom", username="ghost1", custom_list="[]").status_code == 404
    assert _refused_handshake(app, "/ws", f"username=ghost1&interval=1&endtime={_endtime()}").status_code == 404


def test_routes_that_only_read_or_stop_answer_an_unknown_name_as_the_original_did(app: App) -> None:
    assert app.post("/endBriefing", username="ghost2").json() == {"message": "브리핑 성공적으로 종료"}
    with app.socket("/reloadBriefing", "username=ghost2") as sock:
        assert sock.recv(timeout=10) == '{"briefing_data":[]}'
        assert _close_code(sock) == 1000


# --- bad input: the original's 422 shape, never a 500 ---------------------------------------------


def test_a_missing_form_field_is_422_field_required(app: App) -> None:
    answer = app.post("/login")
    assert answer.status_code == 422 and answer.headers["content-type"] == JSON_UTF8
    assert answer.json() == {"detail": [{"type": "missing", "loc": ["body", "username"], "msg": "Field required"}]}


@pytest.mark.parametrize(
    ("path", "fields", "loc"),
    [
        ("/login", {"username": "a b"}, ["body", "username"]),
        ("/login", {"username": "victim\n"}, ["body", "username"]),
        ("/updateCustom", {"username": "cafe13", "custom_list": "not json"}, ["body", "custom_list"]),
        ("/updateCustom", {"username": "cafe13", "custom_list": '{"a": 1}'}, ["body", "custom_list"]),
        ("/updateCustom", {"username": "cafe13", "custom_list": "[" * 200_000}, ["body", "custom_list"]),
        ("/updateCustom", {"username": "cafe13", "custom_list": '["\\u0000"]'}, ["body", "custom_list"]),
    ],
)
def test_bad_form_values_are_422_naming_the_field(app: App, path: str, fields: dict[str, str], loc: list[str]) -> None:
    app.post("/login", username="cafe13")
    answer = app.post(path, **fields)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == JSON_UTF8
    [problem] = answer.json()["detail"]
    assert problem["loc"] == loc and problem["type"] == "value_error" and problem["msg"]


def test_a_body_that_is_not_a_form_is_422(app: App) -> None:
    answer = app.http.post("/login", json={"username": "cafe14"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("username=cafe15&interval=abc&endtime=11:00%20PM", ["query", "interval"]),
        ("username=cafe15&interval=99999999999999999999&endtime=11:00%20PM", ["query", "interval"]),
        ("username=cafe15&interval=0&endtime=11:00%20PM", ["query", "interval"]),
        ("username=cafe15&interval=5&endtime=25:00", ["query", "endtime"]),
        ("username=cafe15&interval=5&endtime=13:05%20PM", ["query", "endtime"]),
    ],
)
def test_ws_with_bad_query_values_is_refused_with_422(app: App, query: str, loc: list[str]) -> None:
    app.post("/login", username="cafe15")
    answer = _refused_handshake(app, "/ws", query)
    assert answer.status_code == 422 and answer.headers["content-type"] == JSON_UTF8
    [problem] = answer.json()["detail"]
    assert problem["loc"] == loc and problem["msg"]
    assert app.post("/getAllRequest", username="cafe15").json() == []  # nothing was started


def test_ws_without_its_query_is_refused_with_422_field_required(app: App) -> None:
    answer = _refused_handshake(app, "/ws", "username=cafe16")
    assert answer.status_code == 422
    assert [p["loc"] for p in answer.json()["detail"]] == [["query", "interval"], ["query", "endtime"]]


def test_get_briefing_of_a_malformed_or_unknown_id_is_404(app: App) -> None:
    for request_id in ("not-an-id", str(ObjectId())):
        answer = app.post("/getBriefing", request_id=request_id)
        assert answer.status_code == 404 and answer.headers["content-type"] == JSON_UTF8
        assert answer.json()["detail"]


# --- the fence -------------------------------------------------------------------------------------


def test_the_routes_answer_404_when_the_legacy_api_is_off(server: LiveServer) -> None:
    # given the session server, started without BRIEFING_LEGACY_API
    app = App(server)
    try:
        # then neither its POST routes nor its sockets exist
        assert app.post("/login", username="cafe17").status_code == 404
        assert _refused_handshake(app, "/ws", f"username=cafe17&interval=1&endtime={_endtime()}").status_code == 404
        assert _refused_handshake(app, "/reloadBriefing", "username=cafe17").status_code == 404
    finally:
        app.http.close()


def test_a_client_outside_the_allowed_networks_gets_403(mongo_url: str, redis_url: str) -> None:
    # given a server that serves the legacy routes to 10.0.0.0/8 only; when the app calls from 127.0.0.1
    env = service_env(
        mongo_url=mongo_url,
        redis_url=redis_url,
        BRIEFING_LEGACY_API="on",
        BRIEFING_LEGACY_ALLOWED_NETWORKS="10.0.0.0/8",
    )
    live = start_server(env=env)
    app = App(live)
    try:
        login = app.post("/login", username="cafe18")
        # then HTTP and WebSocket alike are refused, in the original's shape
        assert login.status_code == 403 and login.headers["content-type"] == JSON_UTF8
        assert login.json()["detail"]
        assert _refused_handshake(app, "/reloadBriefing", "username=cafe18").status_code == 403
    finally:
        app.http.close()
        live.stop()


def test_a_password_account_is_fenced_out_by_default(app: App, legacy_gql: GraphQLClient, mongo_url: str) -> None:
    # given an account made through GraphQL, with a request
    _password_account(legacy_gql, "owner1")
    request_id = _seed(mongo_url, owner="owner1", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), captions=["a"])
    # then the legacy routes do not reach it: named routes 403, request routes 404
    for path in ("/login", "/getCustom", "/getAllRequest", "/endBriefing"):
        refused = app.post(path, username="owner1")
        assert refused.status_code == 403, path
        assert refused.json()["detail"]
    assert app.post("/updateCustom", username="owner1", custom_list="[]").status_code == 403
    assert app.post("/getBriefing", request_id=request_id).status_code == 404
    assert app.post("/aiSummary", request_id=request_id).status_code == 404
    assert _refused_handshake(app, "/ws", f"username=owner1&interval=1&endtime={_endtime()}").status_code == 403
    assert _refused_handshake(app, "/reloadBriefing", "username=owner1").status_code == 403


def test_an_owner_who_allows_it_is_reached(app: App, legacy_gql: GraphQLClient, mongo_url: str) -> None:
    # given an account made through GraphQL, with a request
    token = _password_account(legacy_gql, "owner2")
    request_id = _seed(mongo_url, owner="owner2", created=datetime(2026, 11, 1, 3, 0, tzinfo=UTC), captions=["a"])
    # when its owner allows the original app
    body = legacy_gql(ACCESS, {"on": True}, token=token)
    assert body["data"] == {"setLegacyAccess": {"username": "owner2", "legacyAccess": True}}
    # then the legacy routes reach it
    assert app.post("/login", username="owner2").json()["message"] == "login"
    assert app.post("/getCustom", username="owner2").json() == DEFAULT_CUSTOM
    assert app.post("/getBriefing", request_id=request_id).json() == ["2026-11-01 12:01_a"]


def test_an_owner_who_withdraws_access_is_fenced_out_again(app: App, legacy_gql: GraphQLClient) -> None:
    token = _password_account(legacy_gql, "owner3")
    legacy_gql(ACCESS, {"on": True}, token=token)
    assert app.post("/getCustom", username="owner3").status_code == 200
    legacy_gql(ACCESS, {"on": False}, token=token)
    assert app.post("/getCustom", username="owner3").status_code == 403


def test_a_legacy_account_cannot_sign_in_through_graphql_without_a_password(
    app: App, legacy_gql: GraphQLClient
) -> None:
    # given an account the original app created
    app.post("/login", username="cafe19")
    # when someone tries GraphQL `login` with any password
    body = legacy_gql(LOGIN, {"u": "cafe19", "p": "any password"})
    # then it is refused with a code of its own and no token
    assert body["data"] is None
    assert error_codes(body) == ["PASSWORD_NOT_SET"]
    assert "briefing users set-password" in body["errors"][0]["message"]


def test_set_password_lets_a_legacy_account_sign_in_through_graphql(
    app: App, legacy_gql: GraphQLClient, mongo_url: str, redis_url: str
) -> None:
    # given an account the original app created
    user_id = app.post("/login", username="cafe20").json()["user_id"]
    # when the operator sets its password (read from stdin)
    done = _set_password("cafe20", mongo_url=mongo_url, redis_url=redis_url)
    assert done.returncode == 0, done.stderr
    # then GraphQL login works with it, and the original app still reaches the account
    login = legacy_gql(LOGIN, {"u": "cafe20", "p": "correct horse"})["data"]["login"]
    assert login["message"] == "login" and login["userId"] == user_id
    assert app.post("/login", username="cafe20").json() == {"message": "login", "user_id": user_id}


def test_set_password_of_an_unknown_account_fails(mongo_url: str, redis_url: str) -> None:
    done = _set_password("nobody-at-all", mongo_url=mongo_url, redis_url=redis_url)
    assert done.returncode == 1
    assert b"not found" in done.stderr
