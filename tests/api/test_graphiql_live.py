"""GraphiQL from the real server: GET /graphql in a browser, and every asset it loads, from us."""

from __future__ import annotations

import re

import httpx

from tests.conftest import LiveServer
from tests.web.test_graphiql_assets import _AssetLinks

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_browser_get_of_graphql_serves_the_offline_page(server: LiveServer) -> None:
    page = httpx.get(server.http_url, headers=BROWSER)
    assert page.status_code == 200, "GraphiQL assets must be built by `make test` / `make dev`"
    assert page.headers["content-type"].startswith("text/html")
    links = _AssetLinks()
    links.feed(page.text)
    assets = links.scripts + [href for _, href in links.links]
    assert assets, "the page loads scripts and styles"
    for path in assets:
        assert path.startswith("/"), f"{path} is not served by this server"
        response = httpx.get(f"{server.base}{path}")
        assert response.status_code == 200, path
    assert not re.search(r"https?://(?!127\.0\.0\.1)", page.text)
