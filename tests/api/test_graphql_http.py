"""GraphQL over plain HTTP (issue 11, items 1 and 3): a subscription sent over HTTP is told to use the
WebSocket, and a browser's `GET /graphql?query=…` opens GraphiQL without executing anything."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from graphql import OperationType

from server.graphql_http import SUBSCRIPTION_OVER_HTTP, operation_type
from tests.conftest import GraphQLClient, LiveServer, error_codes

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
START = 'subscription { briefing(interval: 60, endtime: "23:59") { __typename } }'


@pytest.mark.parametrize(
    "subscription",
    [
        START,
        "subscription { reloadBriefing { __typename } }",
        "subscription Live { reloadBriefing(after: 3) { ... on Briefing { seq } } }",
    ],
)
def test_a_subscription_over_http_is_told_to_use_the_websocket(gql: GraphQLClient, subscription: str) -> None:
    # given a signed-in user, as Apollo Client without a split link or curl would send it
    token = gql.login("alice")
    # when a subscription is POSTed
    body = gql(subscription, token=token)
    # then it is a coded client error naming the WebSocket, not a masked INTERNAL
    assert body["data"] is None
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"] == SUBSCRIPTION_OVER_HTTP
    assert "WebSocket" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["transport"] == "websocket"
    # and nothing was started
    assert gql("{ requests { id } }", token=token)["data"] == {"requests": []}


def test_a_subscription_over_http_without_a_token_is_told_the_same(gql: GraphQLClient) -> None:
    assert error_codes(gql(START)) == ["BAD_USER_INPUT"]


def test_other_operations_of_a_document_with_a_subscription_still_run(gql: GraphQLClient) -> None:
    # given a document holding a query and a subscription, and one saying "subscription" in a string
    token = gql.login("bob")
    document = f"query Me {{ me {{ username }} }} {START.replace('subscription', 'subscription Go', 1)}"
    body = gql.http.post(
        gql.url, json={"query": document, "operationName": "Me"}, headers={"authorization": f"Bearer {token}"}
    ).json()
    # then the query chosen by operationName runs
    assert body == {"data": {"me": {"username": "bob"}}}
    # and choosing the subscription is refused as above
    body = gql.http.post(
        gql.url, json={"query": document, "operationName": "Go"}, headers={"authorization": f"Bearer {token}"}
    ).json()
    assert error_codes(body) == ["BAD_USER_INPUT"]
    # and a mutation mentioning the word runs normally
    update = 'mutation { updateCustom(custom: ["subscription please"]) { message } }'
    assert gql(update, token=token)["data"] == {"updateCustom": {"message": "Success to update Custom."}}


def test_a_browser_link_with_a_query_opens_graphiql_and_executes_nothing(
    gql: GraphQLClient, server: LiveServer
) -> None:
    # given a shareable GraphiQL link whose query would sign up a user if it ran
    query = 'mutation { login(username: "linked", password: "correct horse") { token } }'
    link = f"{server.http_url}?{urlencode({'query': query, 'variables': '{}'})}"
    # when a browser opens it
    page = httpx.get(link, headers=BROWSER)
    # then GraphiQL is served (its script fills the editor from the URL)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "briefing-graphiql.js" in page.text
    # and nothing was executed: the user does not exist (a login now is a signup)
    body = gql(
        'mutation { login(username: "linked", password: "correct horse") { message } }',
    )
    assert body["data"] == {"login": {"message": "signup"}}


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_a_query_in_the_url_from_other_clients_is_still_refused(server: LiveServer, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    response = httpx.get(f"{server.http_url}?{urlencode({'query': '{ cameras { id } }'})}", headers=headers)
    assert response.status_code == 400


def test_a_browser_get_without_a_query_still_opens_graphiql(server: LiveServer) -> None:
    assert httpx.get(server.http_url, headers=BROWSER).status_code == 200


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("{ me { id } }", None, None),  # no "subscription" in it: not even parsed
        ("subscription { reloadBriefing { __typename } }", None, OperationType.SUBSCRIPTION),
        ('query { me(x: "subscription") { id } }', None, OperationType.QUERY),
        ("query A { me { id } } subscription B { x }", "A", OperationType.QUERY),
        ("query A { me { id } } subscription B { x }", "B", OperationType.SUBSCRIPTION),
        ("query A { me { id } } subscription B { x }", None, None),  # ambiguous: Strawberry answers
        ("subscription {", None, None),  # a syntax error: Strawberry answers
        (None, None, None),
    ],
)
def test_operation_type_is_read_only_when_it_matters(
    query: str | None, name: str | None, expected: OperationType | None
) -> None:
    assert operation_type(query, name) is expected
