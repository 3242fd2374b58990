"""Quoting client input inside error messages: enough to recognise it, never all of it."""

from __future__ import annotations

QUOTE_LIMIT = 100


def quoted(text: str, *, limit: int = QUOTE_LIMIT) -> str:
    """`text` as a Python literal, cut to `limit` characters (a 60 000-character endtime is not
    worth echoing back)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text)} characters)"
