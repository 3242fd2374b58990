"""The AI summary of a request: computed from its stored briefings, stored once, served from the store.

A request has at most one stored :class:`~documents.Summary` (unique on ``request_id``). It is
served as it is (``cached``) while the request has no briefing it did not summarise; it is
regenerated when a new briefing has arrived or the owner asks for ``refresh``. Regeneration goes
through :func:`language.summaries.write_summary`, which always returns a summary (the template
when there is no LLM or the LLM fails), and the result replaces the stored one only once it is
complete, so a failed regeneration never loses the previous summary.

Within one API process, calls for the same request are serialised by an asyncio lock, so two
concurrent calls do not both call the LLM: the second one finds the first one's result. Across
processes, the unique index decides and a lost race re-reads the winner's summary.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.time import as_utc, utcnow
from documents import Briefing, BriefingRequest, CaptionSource, Summary, doc_id
from language.summaries import BriefingPoint, SummaryText, compute_summary_stats, write_summary
from resolvers.auth import require_user
from resolvers.context import Context
from resolvers.history import briefings_of, count_briefings, owned_request

__all__ = ["SummaryResult", "ai_summary"]

log = logging.getLogger(__name__)

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


@dataclass(frozen=True, slots=True)
class SummaryResult:
    """A stored summary and whether it was served from the store rather than written by this call."""

    doc: Summary
    cached: bool


async def ai_summary(*, ctx: Context, request_id: str, refresh: bool = False) -> SummaryResult:
    """The summary of one of the signed-in user's requests; NOT_FOUND for anyone else's or a missing one.

    Served from the store (``cached=True``) while no new briefing has arrived since it was written;
    otherwise, or with ``refresh``, written anew from the briefings and stored in place of the old one.
    """
    user = require_user(ctx)
    request = await owned_request(user=user, request_id=request_id)
    rid = doc_id(request)
    # Millisecond precision, as the store keeps it: a summary stored after this call began is fresh.
    asked_at = _floor_ms(utcnow())
    lock = _locks.setdefault(str(rid), asyncio.Lock())
    async with lock:
        stored = await Summary.find_one(Summary.request_id == rid)
        if stored is not None and await _still_current(
            stored=stored, request_id=rid, refresh=refresh, asked_at=asked_at
        ):
            return SummaryResult(doc=stored, cached=True)
        briefings = await briefings_of(request=request)
        written = await write_summary(
            stats=compute_summary_stats(
                points=[_point(b) for b in briefings],
                tz=ctx.services.settings.tz,
                interval_seconds=request.interval,
                **_tracking(request=request, briefings=briefings),
            ),
            custom=list(user.custom),
            llm=ctx.services.llm,
            settings=ctx.services.settings,
            user_id=str(doc_id(user)),
        )
        return await _store(request_id=rid, written=written, briefing_count=len(briefings))


async def _still_current(*, stored: Summary, request_id: PydanticObjectId, refresh: bool, asked_at: datetime) -> bool:
    """Whether the stored summary may be served: it covers every briefing, and either no refresh was
    asked or it was written (by a concurrent call) after this call began."""
    if refresh and as_utc(stored.created_at) < asked_at:
        return False
    return stored.briefing_count == await count_briefings(request_id=request_id)


async def _store(*, request_id: PydanticObjectId, written: SummaryText, briefing_count: int) -> SummaryResult:
    """Upsert the one summary of the request with a complete new text; a lost insert race re-reads."""
    fields: dict[str, Any] = {
        "text": written.text,
        "source": CaptionSource(written.source).value,
        "model": written.model,
        "briefing_count": briefing_count,
        "created_at": utcnow(),
    }
    collection = Summary.get_pymongo_collection()
    try:
        raw = await collection.find_one_and_update(
            {"request_id": request_id},
            {"$set": fields},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        # Another process inserted the request's summary between our lookup and upsert.
        log.info("summary of request %s was stored concurrently; serving the stored one", request_id)
        stored = await Summary.find_one(Summary.request_id == request_id)
        if stored is None:
            raise
        return SummaryResult(doc=stored, cached=True)
    if raw is None:  # pragma: no cover - upsert with ReturnDocument.AFTER always returns the document
        raise RuntimeError(f"summary upsert of request {request_id} returned nothing")
    return SummaryResult(doc=Summary.model_validate(raw), cached=False)


def _point(briefing: Briefing) -> BriefingPoint:
    return BriefingPoint(
        seq=briefing.seq,
        captured_at=as_utc(briefing.captured_at),
        counts={c.label: c.count for c in briefing.counts},
        error=briefing.error,
        entered=sum(c.count for c in briefing.entered),
    )


def _tracking(*, request: BriefingRequest, briefings: list[Briefing]) -> dict[str, Any]:
    """Visitors and mean stay for the summary, when the camera watcher counted this request."""
    if not any(b.tracked for b in briefings):
        return {}
    labels = dict.fromkeys(c.label for b in briefings for c in b.counts)
    visitors = {label: request.visitors.get(label, 0) for label in labels} | dict(request.visitors)
    dwell = request.dwell_seconds / request.dwell_visits if request.dwell_visits else None
    return {"visitors": visitors, "mean_dwell_seconds": dwell}


def _floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
