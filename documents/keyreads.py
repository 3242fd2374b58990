"""Reads by primary key, batched across concurrent callers of one process.

When a thousand sockets reconnect within a second (an API restart), each reads its session, its
user and its request by `_id`, and replays its briefings by key: thousands of point reads, most of
them for the same few documents (twenty sockets of one user read the same three). FerretDB's SQLite
backend pays a fixed cost per query, far above the cost per key, so reads arriving within a few
milliseconds of each other go out together as one `{_id: {$in: [...]}}` per collection, each key
once. A caller sees what a point read made at the moment the batch is sent would have returned.

Each caller gets its own copy of a document (a shallow `model_copy`), so one caller's changes never
show in another's; briefings, which streams only read, are shared as they are.

Briefings are also never changed once stored, so the latest `CACHED_IMMUTABLE` of them read are kept:
the twenty sockets of one user that resume the same request within a second decode its recent
briefings once between them (decoding documents is most of what a replay costs FerretDB). Only
documents found are kept; a key found missing is asked again next time, since a tick may have
stored it since.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any, Final, TypeVar

from beanie import Document

from core.coalesce import Coalescer

D = TypeVar("D", bound=Document)

WINDOW_SECONDS: Final = 0.002
"""How long a read waits for others to join its batch: unnoticeable alone, a batch in a storm."""
KEYS_PER_QUERY: Final = 1000
IN_FLIGHT: Final = 2
"""Queries per collection at once; reads arriving meanwhile wait and go as one batch after."""
CACHED_IMMUTABLE: Final = 1024


class KeyReads:
    """Batched `_id` reads of one document class (one per class and event loop: see `key_reads`)."""

    def __init__(self, document: type[Document], *, immutable: bool) -> None:
        self._document = document
        self._copies = not immutable
        self._kept: OrderedDict[Hashable, Any] | None = OrderedDict() if immutable else None
        self._batches = Coalescer[tuple[Hashable, ...], dict[Hashable, Any]](
            flush=self._read, window=WINDOW_SECONDS, max_items=KEYS_PER_QUERY, max_in_flight=IN_FLIGHT
        )

    async def _read(self, requests: list[tuple[Hashable, ...]]) -> list[dict[Hashable, Any]]:
        wanted = list(dict.fromkeys(key for keys in requests for key in keys))
        found: dict[Hashable, Any] = {}
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            chunk = wanted[start : start + KEYS_PER_QUERY]
            for document in await self._document.find({"_id": {"$in": chunk}}).to_list():
                found[document.id] = document
        return [found] * len(requests)

    async def many(self, keys: Sequence[Hashable]) -> list[Any]:
        """The documents found under `keys` (missing ones left out), in the order of `keys`."""
        if not keys:
            return []
        kept = self._kept
        unique = list(dict.fromkeys(keys))
        missing = unique if kept is None else [key for key in unique if key not in kept]
        found = await self._batches.submit(tuple(missing)) if missing else {}
        if kept is not None:
            for key in missing:
                if key in found:
                    kept[key] = found[key]
            found = {key: kept[key] for key in unique if key in kept} | found
            while len(kept) > CACHED_IMMUTABLE:
                kept.popitem(last=False)
        documents = [found[key] for key in unique if key in found]
        return [document.model_copy() for document in documents] if self._copies else documents


_readers: dict[tuple[int, type[Document], bool], KeyReads] = {}


def key_reads(document: type[Document], *, immutable: bool = False) -> KeyReads:
    """The batched reader of `document` for the running event loop: handing out copies, or, when
    `immutable` (documents never changed once stored), sharing and keeping what it read."""
    key = (id(asyncio.get_running_loop()), document, immutable)
    reader = _readers.get(key)
    if reader is None:
        if len(_readers) > 64:  # readers of loops that are gone (tests start one loop per test)
            _readers.clear()
        reader = _readers[key] = KeyReads(document, immutable=immutable)
    return reader


async def get_by_id(document: type[D], key: Hashable) -> D | None:
    """`document.get(key)`, batched with the other reads of this process made at the same moment."""
    if key is None:
        return None
    found = await key_reads(document).many([key])
    return found[0] if found else None


async def get_immutable(document: type[D], keys: Sequence[Hashable]) -> list[D]:
    """The documents under `keys` (batched, missing ones left out), for documents never changed once
    stored: shared with other callers as they are, and the latest `CACHED_IMMUTABLE` read are kept."""
    return await key_reads(document, immutable=True).many(keys)
