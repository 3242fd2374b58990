"""The owner's web app: its page at ``/`` (and at every client-side route) and its hashed assets.

The app is built from ``web/app`` by ``scripts/provision.sh web`` (``make assets``) into
``server/static/app/`` (gitignored): an ``index.html`` and ``assets/<name>-<hash>.{js,css}``.

* ``/``, ``/live``, ``/history``, ``/history/<id>``, ``/settings`` -- ``index.html``; the app picks
  the page from the path. Only these paths: everything else (``/graphql``, ``/export``,
  ``/metrics``, ``/healthz``, ``/readyz``, the legacy routes) belongs to its own route, and an
  unknown path stays a 404. Sent with ``Cache-Control: no-cache`` and a Content-Security-Policy
  allowing this origin only (scripts, styles, fetches and the WebSocket to the same host).
* ``/assets/<file>`` -- the built files, long-cached (``immutable``: a new build changes the
  names), gzip-compressed when the browser accepts it; never a directory listing.

Without a build every page answers 503 with a short page that says to run ``make assets``.
Mount these routes after the API's own, so ``/graphql`` and the rest keep their handlers.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from server.assets import ImmutableAssets

__all__ = [
    "APP_DIR",
    "ASSETS_URL_PREFIX",
    "BUILD_HINT",
    "CLIENT_ROUTES",
    "content_security_policy",
    "webapp_built",
    "webapp_routes",
]

APP_DIR = Path(__file__).resolve().parent / "static" / "app"
"""Vite's output (``web/vite.config.ts``); gitignored."""

ASSETS_URL_PREFIX = "/assets"
CLIENT_ROUTES: tuple[str, ...] = ("/", "/live", "/history", "/history/{request_id}", "/settings")
"""Paths the app routes in the browser; each is answered with ``index.html``."""

BUILD_HINT = "make assets   (scripts/provision.sh web: npm ci --prefix web && npm run build --prefix web)"
"""How to build the app; shown on the 503 page."""

_INDEX = APP_DIR / "index.html"
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")


def content_security_policy(host: str | None) -> str:
    """The app page's Content-Security-Policy: this origin only.

    Scripts, styles, images and fonts from ``'self'``; fetches to ``'self'`` and the WebSocket to
    the same host (``ws://`` and ``wss://`` of ``host`` spelled out for browsers that do not count
    them as ``'self'``); no inline script or style, no frames, no form posts, no ``<base>``.
    A ``host`` that is not a plain ``name[:port]`` is left out (``'self'`` still applies).
    """
    connect = "connect-src 'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            connect,
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def webapp_built() -> bool:
    """Whether ``make assets`` has built the app (its ``index.html`` exists)."""
    return _INDEX.is_file()


def _page_headers(request: Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(request.headers.get("host")),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


def _index(request: Request) -> Response:
    """``index.html`` for every client-side route, or the 503 page while the app is not built."""
    headers = _page_headers(request)
    try:
        page = _INDEX.read_bytes()
    except OSError:
        return HTMLResponse(_missing_build_page(), status_code=503, headers={**headers, "Retry-After": "60"})
    return HTMLResponse(page, headers=headers)


def webapp_routes() -> list[BaseRoute]:
    """The app's page at each client-side route, and its assets under ``/assets``.

    GET and HEAD only. Append them after the API's routes.
    """
    pages: list[BaseRoute] = [Route(path, _index, methods=["GET"]) for path in CLIENT_ROUTES]
    assets = GZipMiddleware(ImmutableAssets(directory=APP_DIR / "assets"), minimum_size=512)
    return [*pages, Mount(ASSETS_URL_PREFIX, app=assets, name="webapp-assets")]


def _missing_build_page() -> str:
    """A self-contained page saying the app has not been built, and how to build it."""
    return (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>웹 앱이 빌드되지 않았습니다 · The web app is not built</title></head><body>"
        "<h1>웹 앱이 아직 빌드되지 않았습니다</h1>"
        "<p>The owner's web app has not been built on this server. From the project root, run:</p>"
        f"<pre>{html.escape(BUILD_HINT)}</pre>"
        '<p>and reload. The API works without it: GraphiQL is at <a href="/graphql">/graphql</a>.</p>'
        "</body></html>"
    )
