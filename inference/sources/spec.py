"""Camera sources as configured: the kind, the real target and its redacted form.

Pure parsing, importable without PyAV, NumPy or Pillow, so that the API process can read the
camera registry; :mod:`inference.sources.readers` opens them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

SourceKind = Literal["image", "folder", "video", "snapshot", "mjpeg", "rtsp", "synthetic"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("image", "folder", "video", "snapshot", "mjpeg", "rtsp", "synthetic")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"})
_SECRET_QUERY_KEYS = re.compile(r"pass|pwd|token|secret|key|auth|sig", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A camera's source: its kind, the real target (may hold credentials, never shown) and a
    redacted form for logs, reprs and the API."""

    kind: SourceKind
    target: str = field(repr=False)
    redacted: str
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __str__(self) -> str:
        return self.redacted

    def scrub(self, message: str) -> str:
        """Remove the target and every secret from ``message``."""
        if self.target != self.redacted:
            message = message.replace(self.target, self.redacted)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                message = message.replace(secret, "***")
        return message


def parse_source(
    text: str, *, kind: SourceKind | None = None, base_dir: Path | None = None, secrets: Iterable[str] = ()
) -> Source:
    """Build a :class:`Source` from a source string, inferring its kind unless given.

    Relative file paths are resolved against ``base_dir``; ``secrets`` are extra strings (e.g.
    substituted environment values) to scrub from messages. Raises ``ValueError``."""
    text = text.strip()
    inferred = _infer_kind(text, base_dir)
    chosen = kind or inferred
    if chosen in ("snapshot", "mjpeg") and inferred != "snapshot":
        raise ValueError(f"kind {chosen!r} needs an http(s):// URL")
    if chosen in ("rtsp", "synthetic") and inferred != chosen:
        raise ValueError(f"kind {chosen!r} does not match source {redact_url(text)!r}")
    if chosen == "synthetic":
        _synthetic_seed(text)
    if chosen in ("image", "folder", "video"):
        if inferred not in ("image", "folder", "video"):
            raise ValueError(f"kind {chosen!r} needs a file path")
        text = str(_resolve(text, base_dir))
    redacted, url_secrets = _redact(text)
    return Source(kind=chosen, target=text, redacted=redacted, secrets=(*url_secrets, *secrets))


def _infer_kind(text: str, base_dir: Path | None) -> SourceKind:
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "synthetic":
        return "synthetic"
    if scheme in ("rtsp", "rtsps"):
        return "rtsp"
    if scheme in ("http", "https"):
        return "snapshot"
    if scheme and len(scheme) > 1 and "://" in text:
        raise ValueError(f"unsupported source scheme {scheme!r}")
    path = _resolve(text, base_dir)
    if path.is_dir():
        return "folder"
    return "image" if path.suffix.lower() in IMAGE_SUFFIXES else "video"


def _resolve(text: str, base_dir: Path | None) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def _synthetic_seed(text: str) -> int:
    try:
        return int(text.split(":", 1)[1])
    except (IndexError, ValueError):
        raise ValueError(f"synthetic source must be 'synthetic:<integer seed>', got {text!r}") from None


def redact_url(text: str) -> str:
    """``text`` with any URL password and secret-looking query values replaced by ``***``."""
    return _redact(text)[0]


def _redact(text: str) -> tuple[str, list[str]]:
    if "://" not in text:
        return text, []
    parts = urlsplit(text)
    secrets: list[str] = []
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        raw_password = userinfo.split(":", 1)[1]
        secrets += [raw_password, unquote(raw_password)]
        netloc = f"{user}:***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        for key, value in pairs:
            if _SECRET_QUERY_KEYS.search(key) and value:
                secrets += [value, quote(value, safe="")]
        query = urlencode([(k, "***" if _SECRET_QUERY_KEYS.search(k) and v else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)), secrets


def synthetic_seed(source: Source) -> int:
    """The seed of a ``synthetic:<seed>`` source."""
    return _synthetic_seed(source.target)
