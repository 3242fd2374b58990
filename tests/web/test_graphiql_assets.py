"""The offline GraphiQL page: everything it loads is served by us, and nothing names another host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from server import graphiql
from server.graphiql import graphiql_assets_present, graphiql_page, graphiql_routes

JS_TYPES = ("text/javascript", "application/javascript")
CSS_TYPES = ("text/css",)
ICON_TYPES = ("image/svg+xml",)
ABSOLUTE_URL = re.compile(r"""(?:https?:|wss?:)?//[^\s"'<>)]+""", re.IGNORECASE)

needs_vendor = pytest.mark.skipif(
    not graphiql_assets_present(),
    reason=f"GraphiQL vendor assets are not built in {graphiql.VENDOR_DIR}; run: {graphiql.BUILD_HINT}",
)


class _AssetLinks(HTMLParser):
    """Collects every <script src> and <link href> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            if "src" in values:
                self.scripts.append(values["src"])
            else:
                self._in_script = True
        elif tag == "link" and "href" in values:
            self.links.append((values.get("rel", ""), values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _page_endpoint(_: Request) -> Response:
    return graphiql_page()


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = Starlette(routes=[Route("/graphql", _page_endpoint), *graphiql_routes()])
    with TestClient(app) as test_client:
        yield test_client


def _assert_same_origin_path(url: str) -> None:
    parts = urlsplit(url)
    assert not parts.scheme and not parts.netloc, f"{url} is not a same-origin path"
    assert parts.path.startswith("/graphiql/"), f"{url} is outside the GraphiQL prefix"


@needs_vendor
def test_page_loads_with_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split(";")
        if directive.strip()
    }
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert '<div id="graphiql"' in response.text


@needs_vendor
def test_every_script_and_stylesheet_is_served_from_this_origin(client: TestClient) -> None:
    page = client.get("/graphql").text
    parser = _AssetLinks()
    parser.feed(page)

    assert parser.inline_scripts == 0, "inline script would need 'unsafe-inline' in the CSP"
    assert len(parser.scripts) >= 4
    stylesheets = [href for rel, href in parser.links if rel == "stylesheet"]
    assert stylesheets
    for url in [*parser.scripts, *(href for _, href in parser.links)]:
        _assert_same_origin_path(url)
        asset = client.get(url)
        assert asset.status_code == 200, url
        path = urlsplit(url).path
        expected = JS_TYPES if path.endswith(".js") else ICON_TYPES if path.endswith(".svg") else CSS_TYPES
        assert asset.headers["content-type"].split(";")[0].strip() in expected, url
        assert "immutable" in asset.headers["cache-control"], url
        assert len(asset.content) > 0, url
    names = {urlsplit(url).path.rsplit("/", 1)[-1] for url in parser.scripts}
    assert {"react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphql-ws.min.js"} <= names


@needs_vendor
def test_no_absolute_url_to_another_host_in_the_page(client: TestClient) -> None:
    page = client.get("/graphql").text
    assert ABSOLUTE_URL.findall(page) == []


def test_tracked_page_files_name_no_other_host() -> None:
    for name in ("index.html", "briefing-graphiql.js", "briefing-graphiql.css"):
        text = (graphiql.STATIC_DIR / name).read_text(encoding="utf-8")
        assert ABSOLUTE_URL.findall(re.sub(r"(?m)^\s*//.*$", "", text)) == [], name


@needs_vendor
def test_asset_urls_are_versioned_by_content(client: TestClient) -> None:
    parser = _AssetLinks()
    parser.feed(client.get("/graphql").text)

    for url in parser.scripts:
        assert re.search(r"\?v=[0-9a-f]{16}$", url), url


@needs_vendor
def test_unchanged_asset_answers_304(client: TestClient) -> None:
    first = client.get("/graphiql/vendor/graphiql.min.css")
    again = client.get("/graphiql/vendor/graphiql.min.css", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/vendor/nothing-here.js",
        "/graphiql/vendor/",
        "/graphiql/vendor",
        "/graphiql/app/",
        "/graphiql/app/index.html",
        "/graphiql/app/vendor/graphiql.min.js",
        "/graphiql/app/%2e%2e/graphiql.py",
        "/graphiql/vendor/%2e%2e/%2e%2e/graphiql.py",
    ],
)
def test_missing_files_directories_and_escapes_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "graphiql.min" not in response.text


def test_assets_are_read_only(client: TestClient) -> None:
    assert client.post("/graphiql/app/briefing-graphiql.js").status_code == 405


def test_page_without_vendor_assets_says_how_to_build_them(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graphiql, "VENDOR_DIR", tmp_path / "vendor")
    monkeypatch.setattr(graphiql, "_MANIFEST_FILE", tmp_path / "vendor" / "manifest.json")

    assert not graphiql_assets_present()
    response = client.get("/graphql")
    assert response.status_code == 503
    assert "copy-assets.mjs" in response.text
    assert "<script" not in response.text
    assert "content-security-policy" in response.headers
