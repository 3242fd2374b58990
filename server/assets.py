"""Static files that never change under their name: the GraphiQL vendor files and the web app's hashed
assets. Shared by `server.graphiql` and `server.webapp`."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CACHE_FOREVER = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
}


class ImmutableAssets(StaticFiles):
    """``StaticFiles`` for immutable, versioned assets.

    Adds long cache headers and explicit content types, answers 404 (not 500) while the directory
    has not been built yet, never lists directories (``html=False``), serves regular files only,
    and can be restricted to an allow-list of file names.
    """

    def __init__(self, *, directory: Path, allowed: frozenset[str] | None = None) -> None:
        super().__init__(directory=directory, html=False, check_dir=False)
        self._allowed = allowed

    async def check_config(self) -> None:
        """Accept a missing directory: every lookup is then a 404 until it is built."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Find ``path`` on disk, or nothing when it is not allowed or not a regular file."""
        if self._allowed is not None and path not in self._allowed:
            return "", None
        full_path, stat_result = super().lookup_path(path)
        if stat_result is None or not os.path.isfile(full_path):
            return "", None
        return full_path, stat_result

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Serve the file with the headers of an immutable asset, or a 304."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        content_type = CONTENT_TYPES.get(Path(full_path).suffix.lower())
        if content_type is not None and response.status_code == 200:
            response.headers["Content-Type"] = content_type
        response.headers["Cache-Control"] = CACHE_FOREVER
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
