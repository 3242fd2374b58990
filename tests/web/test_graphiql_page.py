"""The GraphiQL page script and what the page needs around it (issue 11, items 2, 3 and 7): the
transport is chosen from the operation text being sent, links prefill the editors, GraphiQL's
menus get a style nonce instead of CSP errors, and the icon is served."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from server import graphiql
from server.graphiql import content_security_policy, graphiql_assets_present, graphiql_page, graphiql_routes

SCRIPT = graphiql.STATIC_DIR / "briefing-graphiql.js"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
needs_vendor = pytest.mark.skipif(not graphiql_assets_present(), reason=f"run: {graphiql.BUILD_HINT}")


def _page_endpoint(_: Request) -> Response:
    return graphiql_page()


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = Starlette(routes=[Route("/graphql", _page_endpoint), *graphiql_routes()])
    with TestClient(app) as test_client:
        yield test_client


CASES: list[tuple[str, str | None, str]] = [
    ("subscription { reloadBriefing { __typename } }", None, "subscription"),
    ("  # pasted with a comment first\nsubscription S { reloadBriefing { __typename } }", None, "subscription"),
    ("{ me { id } }", None, "query"),
    ("# subscription { x }\n{ me { id } }", None, "query"),
    ('query Q($x: Int = 1) @d(a: "subscription {") { a } subscription S { b }', "S", "subscription"),
    ('query Q($x: Int = 1) @d(a: "subscription {") { a } subscription S { b }', "Q", "query"),
    ("query Q { a } subscription S { b }", None, ""),  # ambiguous: HTTP, and the server explains
    ("query Q { a } subscription S { b }", "Nope", ""),
    ("query @live { a }", None, "query"),
    ('"""a \\""" subscription""" subscription X { a }', None, "subscription"),
    ("fragment F on T { a } subscription { ...F }", None, "subscription"),
    ("mutation M($u: String!) { login(username: $u) { token } }", "M", "mutation"),
    # GraphiQL passes a stale name when one operation was pasted over others and run at once
    ("subscription { reloadBriefing { __typename } }", "Shared", "subscription"),
    ("subscription Live { reloadBriefing { __typename } }", "Shared", "subscription"),
    ("", None, ""),
    ("subscription {", None, "subscription"),  # unfinished: the WebSocket reports the syntax error
]


@needs_node
def test_the_page_script_reads_the_operation_type_from_the_text_sent() -> None:
    # given the page script's own parser, run by Node on the texts GraphiQL may send
    program = (
        f"const {{ operationTypeOf }} = require({json.dumps(str(SCRIPT))});"
        f"const cases = {json.dumps(CASES)};"
        "process.stdout.write(JSON.stringify(cases.map(([q, n]) => operationTypeOf(q, n))));"
    )
    # when each is read / then the type is that of the operation being sent, never a previous parse
    output = subprocess.run(["node", "-e", program], capture_output=True, check=True, text=True, timeout=30).stdout
    assert json.loads(output) == [expected for _, _, expected in CASES]


@needs_node
def test_the_page_script_sends_the_operation_name_of_the_text_not_a_stale_one() -> None:
    program = (
        f"const {{ chooseOperation }} = require({json.dumps(str(SCRIPT))});"
        "process.stdout.write(JSON.stringify(["
        "chooseOperation('subscription Live { x }', 'Shared'),"
        "chooseOperation('{ x }', 'Shared'),"
        "chooseOperation('query A { x } query B { y }', 'B'),"
        "chooseOperation('query A { x } query B { y }', 'C')]));"
    )
    output = subprocess.run(["node", "-e", program], capture_output=True, check=True, text=True, timeout=30).stdout
    assert json.loads(output) == [
        {"type": "subscription", "operationName": "Live"},
        {"type": "query"},
        {"type": "query", "operationName": "B"},
        {"type": "", "operationName": "C"},
    ]


def test_the_page_script_no_longer_trusts_the_editors_previous_parse() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert "documentAST" not in text
    assert "chooseOperation(params.query, params.operationName)" in text


def test_the_page_script_prefills_the_editors_from_a_link() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert 'linked.get("query")' in text
    assert "props.query" in text and "props.variables" in text


@needs_vendor
def test_every_page_carries_a_fresh_style_nonce_allowed_by_its_csp(client: TestClient) -> None:
    # when the page is served twice
    pages = [client.get("/graphql", headers={"Accept": "text/html"}) for _ in range(2)]
    nonces = []
    for page in pages:
        # then the page hands its script a nonce, and the CSP allows styles with that nonce only
        found = re.search(r'data-style-nonce="([A-Za-z0-9_-]{20,})"', page.text)
        assert found, "the page carries a style nonce"
        nonces.append(found[1])
        csp = page.headers["content-security-policy"]
        assert f"style-src 'self' 'nonce-{found[1]}'" in csp
        assert "unsafe-inline" not in csp
        assert "script-src 'self';" in csp
    assert nonces[0] != nonces[1]


def test_the_policy_without_a_nonce_allows_no_inline_style() -> None:
    assert "style-src 'self';" in content_security_policy()
    assert "'nonce-abc'" in content_security_policy("abc")


def test_favicon_is_served_as_an_icon(client: TestClient) -> None:
    # when a browser asks for /favicon.ico / then it gets an ICO, not a 404
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"
    assert "max-age" in response.headers["cache-control"]
    # and the SVG the page links is served too
    svg = client.get("/graphiql/app/favicon.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")


@needs_vendor
def test_the_page_links_its_icon(client: TestClient) -> None:
    page = client.get("/graphql").text
    assert re.search(r'<link rel="icon" type="image/svg\+xml" href="/graphiql/app/favicon\.svg\?v=[0-9a-f]{16}"', page)
