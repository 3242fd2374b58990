"""How the API serves the app: the page at its client-side routes (never over the API's own routes),
a same-origin Content-Security-Policy, long-cached compressed assets, the first-load budget, the 503
page before a build, and generated GraphQL types that match the committed schema."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import server.webapp
from server.webapp import APP_DIR, webapp_built, webapp_routes
from tests.conftest import ROOT, LiveServer

FIRST_LOAD_BUDGET = 250 * 1024
needs_build = pytest.mark.skipif(not webapp_built(), reason=f"the web app is not built: {server.webapp.BUILD_HINT}")


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield client


def _first_load_scripts() -> list[Path]:
    """The JavaScript files index.html loads up front (its module script and modulepreloads)."""
    page = (APP_DIR / "index.html").read_text(encoding="utf-8")
    urls = re.findall(r'<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="(/assets/[^"]+\.js)"', page)
    assert urls, page
    return [APP_DIR / url.lstrip("/") for url in urls]


@needs_build
@pytest.mark.parametrize("path", ["/", "/live", "/history", "/history/6750a1b2c3d4e5f600000000", "/settings"])
def test_client_routes_get_the_app_page_with_a_same_origin_policy(
    http: httpx.Client, server: LiveServer, path: str
) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<div id="root">' in response.text
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    host = f"127.0.0.1:{server.port}"
    assert f"connect-src 'self' ws://{host} wss://{host}" in policy
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "default-src 'none'" in policy and "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"


@needs_build
def test_the_api_routes_keep_their_own_handlers(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    graphiql = http.get("/graphql", headers={"accept": "text/html"})
    assert graphiql.status_code in (200, 503) and "graphiql" in graphiql.text.lower()
    assert http.post("/graphql", json={"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}
    assert http.get("/export/requests/6750a1b2c3d4e5f600000000.csv").status_code == 401
    assert http.get("/metrics").status_code == 200
    for unknown in ("/nope", "/history/a/b", "/live/extra", "/index.html"):
        assert http.get(unknown).status_code == 404, unknown


@needs_build
def test_assets_are_long_cached_compressed_and_never_listed(http: httpx.Client) -> None:
    script = _first_load_scripts()[0]
    response = http.get(f"/assets/{script.name}", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == script.read_bytes()  # httpx inflates it
    assert http.get("/assets/").status_code == 404
    assert http.get("/assets/missing-0000.js").status_code == 404
    assert http.get("/assets/%2e%2e/index.html").status_code == 404


@needs_build
def test_the_first_load_fits_in_250_kb_of_gzipped_javascript() -> None:
    size = sum(len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in _first_load_scripts())
    assert size <= FIRST_LOAD_BUDGET, f"first load is {size / 1024:.1f} KiB gzipped"


def test_without_a_build_every_page_says_to_run_make_assets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server.webapp, "_INDEX", tmp_path / "index.html")
    with TestClient(Starlette(routes=webapp_routes())) as client:
        response = client.get("/history")
        assert response.status_code == 503
        assert "make assets" in response.text
        assert "content-security-policy" in response.headers


@pytest.mark.skipif(
    shutil.which("npx") is None or not (ROOT / "web" / "node_modules" / ".bin" / "graphql-codegen").exists(),
    reason="npm packages are not installed: scripts/provision.sh web",
)
def test_the_apps_generated_graphql_types_match_the_committed_schema() -> None:
    result = subprocess.run(
        ["npx", "--no-install", "graphql-codegen", "--config", "codegen.yml", "--check"],
        cwd=ROOT / "web",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout[-2000:] + result.stderr[-2000:]
    assert result.returncode == 0, f"run `npm run codegen --prefix web`:\n{output}"
