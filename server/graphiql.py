"""Offline GraphiQL: the page and the static files it needs, all served from this origin.

The page (``static/graphiql/index.html``) and its small script and stylesheet
(``static/graphiql/briefing-graphiql.{js,css}``) are tracked in git. The third-party
browser builds (GraphiQL, React, ReactDOM, the graphql-ws client) are not: they come from
npm at install time (``npm ci --prefix web`` then ``node web/copy-assets.mjs``), which
copies them into ``static/graphiql/vendor/`` together with a ``manifest.json`` listing each
file's sha256. Nothing the page loads or connects to lives on another host.

URLs:

* ``/graphiql/vendor/<file>`` -- the vendored builds;
* ``/graphiql/app/<file>`` -- our own page script, stylesheet and icon;
* ``/favicon.ico`` -- the same icon where browsers look for it by default.

Both are long-cached (``immutable``): the page links every asset with ``?v=<content hash>``,
so a new build or a new version changes the URL. Missing files are 404, and directories
are never listed.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from server.assets import ImmutableAssets

__all__ = [
    "APP_URL_PREFIX",
    "BUILD_HINT",
    "STATIC_DIR",
    "VENDOR_DIR",
    "VENDOR_FILES",
    "VENDOR_URL_PREFIX",
    "content_security_policy",
    "graphiql_assets_present",
    "graphiql_page",
    "graphiql_routes",
]

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
"""Tracked page, script and stylesheet."""

VENDOR_DIR = STATIC_DIR / "vendor"
"""Built by ``node web/copy-assets.mjs``; gitignored."""

VENDOR_URL_PREFIX = "/graphiql/vendor"
APP_URL_PREFIX = "/graphiql/app"

VENDOR_FILES: tuple[str, ...] = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphql-ws.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
)
"""The vendored files the page cannot work without."""

APP_FILES: frozenset[str] = frozenset({"briefing-graphiql.js", "briefing-graphiql.css", "favicon.svg"})
"""Our own files under :data:`STATIC_DIR` that are served (the page itself is not a static file)."""

BUILD_HINT = "npm ci --prefix web --no-audit --no-fund && node web/copy-assets.mjs  (or: make assets)"
"""How to build the vendored assets; shown in logs and on the fallback page."""

_PAGE_FILE = STATIC_DIR / "index.html"
_FAVICON_FILE = STATIC_DIR / "favicon.ico"  # drawn by scripts/favicon.py, like favicon.svg
_NONCE_SLOT = 'data-style-nonce=""'
_MANIFEST_FILE = VENDOR_DIR / "manifest.json"


def content_security_policy(style_nonce: str | None = None) -> str:
    """The Content-Security-Policy of the GraphiQL page.

    The page loads scripts and styles from this origin only and talks to this origin only
    ('self' covers ws:/wss: to the same host in CSP Level 3 browsers). The GraphiQL stylesheet
    embeds its fonts and a few icons as data: URIs. GraphiQL's menus (Radix, through
    react-remove-scroll) add a ``<style>`` element while open: with ``style_nonce`` that element,
    and only it, is allowed (the page script hands the nonce to the bundle, which sets it on the
    element); no inline script and no ``'unsafe-inline'`` anywhere.
    """
    styles = "style-src 'self'" + (f" 'nonce-{style_nonce}'" if style_nonce else "")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            styles,
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
"""The Content-Security-Policy of a page without a style nonce (the "not built" page)."""

_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

_ASSET_URL = re.compile(r'(?P<attr>\b(?:src|href))="(?P<url>/graphiql/(?P<kind>vendor|app)/(?P<name>[A-Za-z0-9._-]+))"')


def graphiql_routes() -> list[BaseRoute]:
    """Routes serving the GraphiQL page's static files.

    ``/graphiql/vendor/<file>`` serves the npm-built files from :data:`VENDOR_DIR` and
    ``/graphiql/app/<file>`` our own script and stylesheet. GET and HEAD only; long-cached;
    404 for anything missing, not allowed, or a directory. Mount them next to the GraphQL
    route; the page itself comes from :func:`graphiql_page`.
    """
    return [
        Mount(VENDOR_URL_PREFIX, app=ImmutableAssets(directory=VENDOR_DIR), name="graphiql-vendor"),
        Mount(APP_URL_PREFIX, app=ImmutableAssets(directory=STATIC_DIR, allowed=APP_FILES), name="graphiql-app"),
        Route("/favicon.ico", _favicon, methods=["GET"]),
    ]


def _favicon(_: Request) -> Response:
    """``/favicon.ico``, which browsers ask for on any page of this origin (a day's cache: its URL is fixed)."""
    try:
        icon = _FAVICON_FILE.read_bytes()
    except OSError:
        return Response(status_code=404)
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(icon, media_type="image/x-icon", headers=headers)


def graphiql_assets_present() -> bool:
    """Whether ``node web/copy-assets.mjs`` has built the vendored files the page needs."""
    return _MANIFEST_FILE.is_file() and all((VENDOR_DIR / name).is_file() for name in VENDOR_FILES)


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page, pointed at ``/graphql`` on this origin.

    Sent with a strict Content-Security-Policy (``'self'`` only, no inline script, inline
    styles only with this response's fresh nonce) and ``Cache-Control: no-cache``. Asset URLs
    carry ``?v=<content hash>``. When the vendored files are missing it answers 503 with a page
    saying how to build them.
    """
    if not graphiql_assets_present():
        return HTMLResponse(_missing_assets_page(), status_code=503, headers=_PAGE_HEADERS)
    nonce = secrets.token_urlsafe(18)
    page = _render_page(*_page_inputs_key()).replace(_NONCE_SLOT, f'data-style-nonce="{nonce}"', 1)
    headers = {**_PAGE_HEADERS, "Content-Security-Policy": content_security_policy(nonce)}
    return HTMLResponse(page, headers=headers)


def _page_inputs_key() -> tuple[int, ...]:
    """Modification stamps of everything the rendered page depends on (its cache key)."""
    stamps: list[int] = []
    for path in (_PAGE_FILE, _MANIFEST_FILE, *(STATIC_DIR / name for name in sorted(APP_FILES))):
        try:
            stat_result = path.stat()
        except OSError:
            stamps.extend((0, 0))
        else:
            stamps.extend((stat_result.st_mtime_ns, stat_result.st_size))
    return tuple(stamps)


@functools.lru_cache(maxsize=4)
def _render_page(*_stamps: int) -> str:
    """The page template with every same-origin asset URL versioned by its content hash."""
    template = _PAGE_FILE.read_text(encoding="utf-8")
    vendor_hashes = _vendor_hashes()

    def version(match: re.Match[str]) -> str:
        name = match["name"]
        if match["kind"] == "vendor":
            digest = vendor_hashes.get(name)
        else:
            digest = _file_hash(STATIC_DIR / name) if name in APP_FILES else None
        url = match["url"] if digest is None else f"{match['url']}?v={digest[:16]}"
        return f'{match["attr"]}="{html.escape(url)}"'

    return _ASSET_URL.sub(version, template)


def _vendor_hashes() -> dict[str, str]:
    """``file name -> sha256`` from the manifest written by ``web/copy-assets.mjs``."""
    try:
        manifest = json.loads(_MANIFEST_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return {}
    hashes: dict[str, str] = {}
    for name, info in files.items():
        digest = info.get("sha256") if isinstance(info, dict) else None
        if isinstance(name, str) and isinstance(digest, str):
            hashes[name] = digest
    return hashes


def _file_hash(path: Path) -> str | None:
    """The sha256 of a small tracked file, or ``None`` when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _missing_assets_page() -> str:
    """A self-contained page explaining that the GraphiQL assets have not been built."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>GraphiQL is not built</title></head><body>"
        "<h1>GraphiQL assets are not built</h1>"
        "<p>The offline GraphiQL page needs browser files that are installed from npm. "
        "From the project root, run:</p>"
        f"<pre>{html.escape(BUILD_HINT)}</pre>"
        "<p>and reload. The GraphQL endpoint itself works without them: "
        "POST queries and mutations to <code>/graphql</code>, "
        "subscribe over WebSocket (graphql-transport-ws) at the same path.</p>"
        "</body></html>"
    )
