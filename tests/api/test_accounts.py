"""Accounts over real HTTP: sign-up, login, wrong password, tokens, logout, backoff, validation."""

from __future__ import annotations

from tests.conftest import GraphQLClient, error_codes

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { message userId token } }"
ME = "{ me { id username custom createdAt } }"


def test_unknown_username_signs_up_with_default_custom(gql: GraphQLClient) -> None:
    # given no account named alice; when she logs in
    body = gql(LOGIN, {"u": "alice", "p": "correct horse"})
    # then the account is created with the original's default instructions
    login = body["data"]["login"]
    assert login["message"] == "signup"
    me = gql(ME, token=login["token"])["data"]["me"]
    assert me["username"] == "alice" and me["id"] == login["userId"]
    assert me["custom"] == ["한국어로 말해줘", "공손하게 말해줘", "간단명료하게 말해줘"]


def test_known_username_with_right_password_logs_in(gql: GraphQLClient) -> None:
    first = gql(LOGIN, {"u": "bob", "p": "correct horse"})["data"]["login"]
    second = gql(LOGIN, {"u": "bob", "p": "correct horse"})["data"]["login"]
    assert second["message"] == "login"
    assert second["userId"] == first["userId"]
    assert second["token"] != first["token"]


def test_wrong_password_is_refused_without_a_token(gql: GraphQLClient) -> None:
    gql.login("carol")
    body = gql(LOGIN, {"u": "carol", "p": "wrong password"})
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["message"] == "Wrong username or password"


def test_tokens_are_opaque_and_long(gql: GraphQLClient) -> None:
    token = gql.login("dave")
    assert len(token) >= 43  # 256 bits in URL-safe base64
    assert "." not in token  # not a JWT: nothing to decode


def test_queries_without_a_token_are_unauthenticated(gql: GraphQLClient) -> None:
    body = gql(ME)
    assert error_codes(body) == ["UNAUTHENTICATED"]


def test_an_unknown_token_is_unauthenticated(gql: GraphQLClient) -> None:
    body = gql(ME, token="not-a-real-token")
    assert error_codes(body) == ["UNAUTHENTICATED"]


def test_logout_revokes_the_token(gql: GraphQLClient) -> None:
    token = gql.login("erin")
    assert gql("mutation { logout }", token=token)["data"] == {"logout": True}
    assert error_codes(gql(ME, token=token)) == ["UNAUTHENTICATED"]


def test_logout_keeps_other_sessions(gql: GraphQLClient) -> None:
    laptop, phone = gql.login("frank"), gql.login("frank")
    gql("mutation { logout }", token=laptop)
    assert gql(ME, token=phone)["data"]["me"]["username"] == "frank"


def test_repeated_wrong_passwords_back_off(gql: GraphQLClient) -> None:
    gql.login("grace")
    codes = [error_codes(gql(LOGIN, {"u": "grace", "p": "wrong password"}))[0] for _ in range(7)]
    assert codes[:5] == ["UNAUTHENTICATED"] * 5
    assert codes[5:] == ["RATE_LIMITED"] * 2
    # even the right password waits until the backoff passes
    assert error_codes(gql(LOGIN, {"u": "grace", "p": "correct horse"})) == ["RATE_LIMITED"]


def test_aliases_do_not_multiply_login_attempts(gql: GraphQLClient) -> None:
    gql.login("heidi")
    fields = " ".join(f'a{i}: login(username: "heidi", password: "wrong pass {i}") {{ token }}' for i in range(12))
    # 60 guesses asked for in five operations: each field call is counted, and mutation fields run
    # one after another, so no operation gets past the free failures
    first_codes = [error_codes(gql(f"mutation {{ {fields} }}")) for _ in range(5)]
    assert all(codes == ["UNAUTHENTICATED"] for codes in first_codes)
    assert error_codes(gql(f"mutation {{ {fields} }}")) == ["RATE_LIMITED"]
    assert error_codes(gql(LOGIN, {"u": "heidi", "p": "correct horse"})) == ["RATE_LIMITED"]


def test_backoff_is_per_username(gql: GraphQLClient) -> None:
    gql.login("ivan")
    for _ in range(6):
        gql(LOGIN, {"u": "ivan", "p": "wrong password"})
    assert gql(LOGIN, {"u": "judy", "p": "correct horse"})["data"]["login"]["message"] == "signup"


def test_invalid_usernames_are_bad_input(gql: GraphQLClient) -> None:
    for name in ["ab", "x" * 33, "has space", "semi;colon", "한글이름", "victim\n", "victim\r\n"]:
        body = gql(LOGIN, {"u": name, "p": "correct horse"})
        assert error_codes(body) == ["BAD_USER_INPUT"], name
        assert "3 to 32 characters" in body["errors"][0]["message"]


def test_password_length_is_enforced(gql: GraphQLClient) -> None:
    for password in ["short", "x" * 129]:
        body = gql(LOGIN, {"u": "kate", "p": password})
        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert "8 to 128 characters" in body["errors"][0]["message"]
    assert gql(LOGIN, {"u": "kate", "p": "x" * 128})["data"]["login"]["message"] == "signup"


def test_password_is_stored_as_argon2id(gql: GraphQLClient, mongo_url: str) -> None:
    from pymongo import MongoClient

    gql.login("liam", "correct horse")
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    user = client.get_default_database("briefing")["users"].find_one({"username": "liam"})
    client.close()
    assert user is not None
    assert str(user["password_hash"]).startswith("$argon2id$")
    assert "correct horse" not in str(user)
