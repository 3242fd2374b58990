"""A request's briefings as CSV: who may export what, the columns, and the rows, streamed in batches.

`server.export` is the HTTP glue; everything decided is decided here, before the first byte goes
out: the bearer token (UNAUTHENTICATED otherwise), the request's owner (NOT_FOUND for another
user's request or a malformed id, alike, as `briefings(requestId)` does) and the columns. The rows
then come from one database cursor read `EXPORT_BATCH_ROWS` documents at a time, each batch
written as one chunk of text, so a request of 100 000 briefings never sits in memory.

Columns: `seq`, `captured_at` (ISO 8601 in `BRIEFING_TIMEZONE`), one per class label the request's
briefings counted (male, female and person first, then the others by name), `caption`,
`caption_source`, `error`. A label cell is empty when that briefing did not count the label (a
failed frame counts nothing); the text starts with a byte order mark so spreadsheet programs read
Korean as UTF-8. Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
a tab or a carriage return) are prefixed with `'` (OWASP's advice on CSV injection); captions come
from an LLM, so they are not trusted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId

from core.time import as_utc
from documents import Briefing, User
from language.style import order_labels
from resolvers.auth import authenticate
from resolvers.context import Services
from resolvers.errors import unauthenticated
from resolvers.history import owned_request

__all__ = ["BOM", "EXPORT_BATCH_ROWS", "CsvExport", "csv_columns", "csv_row", "prepare_export"]

BOM = "\ufeff"
EXPORT_BATCH_ROWS = 1000
FIXED_HEAD = ("seq", "captured_at")
FIXED_TAIL = ("caption", "caption_source", "error")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PROJECTION = {"_id": 0, "seq": 1, "captured_at": 1, "counts": 1, "caption": 1, "caption_source": 1, "error": 1}


@dataclass(frozen=True)
class CsvExport:
    """An authorised export: its file name, columns, and the request whose rows it streams."""

    filename: str
    labels: tuple[str, ...]
    request_id: PydanticObjectId
    tz: ZoneInfo

    @property
    def columns(self) -> tuple[str, ...]:
        """The header row."""
        return csv_columns(self.labels)

    async def chunks(self, *, batch_rows: int = EXPORT_BATCH_ROWS) -> AsyncIterator[str]:
        """The CSV text: the BOM and the header, then one chunk per batch of `batch_rows` briefings."""
        yield BOM + _encode([self.columns])
        cursor = Briefing.get_pymongo_collection().find(
            {"request_id": self.request_id}, _PROJECTION, sort=[("seq", 1)], batch_size=batch_rows
        )
        try:
            batch: list[list[str]] = []
            async for document in cursor:
                batch.append(csv_row(document, labels=self.labels, tz=self.tz))
                if len(batch) >= batch_rows:
                    yield _encode(batch)
                    batch = []
            if batch:
                yield _encode(batch)
        finally:
            await cursor.close()


async def prepare_export(*, services: Services, authorization: str | None, request_id: str) -> CsvExport:
    """Check the token and the request's owner and settle the columns; raises a coded error otherwise.

    UNAUTHENTICATED without a valid bearer token; NOT_FOUND for a request that does not exist or
    belongs to another user.
    """
    found = await authenticate(services=services, authorization=authorization)
    if found is None:
        raise unauthenticated()
    user: User = found[0]
    request = await owned_request(user=user, request_id=request_id)
    assert request.id is not None
    stored = await Briefing.get_pymongo_collection().distinct("counts.label", {"request_id": request.id})
    labels = tuple(order_labels(str(label) for label in stored))
    return CsvExport(
        filename=f"briefing-{request.id}.csv", labels=labels, request_id=request.id, tz=services.settings.tz
    )


def csv_columns(labels: Sequence[str]) -> tuple[str, ...]:
    """`seq`, `captured_at`, the labels, `caption`, `caption_source`, `error`."""
    return (*FIXED_HEAD, *labels, *FIXED_TAIL)


def csv_row(document: Mapping[str, Any], *, labels: Sequence[str], tz: ZoneInfo) -> list[str]:
    """One stored briefing (as the driver returns it) as the cells of a CSV row."""
    counts = {str(item.get("label")): item.get("count") for item in document.get("counts") or []}
    cells = [
        str(document["seq"]),
        _local_iso(document["captured_at"], tz=tz),
        *("" if counts.get(label) is None else str(counts[label]) for label in labels),
        _safe(str(document.get("caption") or "")),
        _safe(str(document.get("caption_source") or "")),
        _safe(str(document.get("error") or "")),
    ]
    return cells


def _local_iso(moment: datetime, *, tz: ZoneInfo) -> str:
    local = as_utc(moment).astimezone(tz)
    return local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")


def _safe(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def _encode(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
