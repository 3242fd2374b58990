"""Batch loaders: one store query for all the keys an operation asks for."""

from __future__ import annotations

from dataclasses import dataclass

from beanie import PydanticObjectId

from documents import Briefing


@dataclass(frozen=True)
class BriefingTally:
    """How many briefings a request stored, and how many slots its ticks skipped before them."""

    count: int = 0
    skipped: int = 0


async def tally_briefings_many(keys: list[str]) -> list[BriefingTally]:
    """The tallies of many requests in one `$group` (zeros for a request without briefings)."""
    ids = [PydanticObjectId(key) for key in keys]
    pipeline: list[dict[str, object]] = [
        {"$match": {"request_id": {"$in": ids}}},
        {"$group": {"_id": "$request_id", "n": {"$sum": 1}, "skipped": {"$sum": "$skipped_before"}}},
    ]
    rows = await Briefing.aggregate(pipeline).to_list()
    tallies = {str(row["_id"]): BriefingTally(count=int(row["n"]), skipped=int(row["skipped"] or 0)) for row in rows}
    return [tallies.get(key, BriefingTally()) for key in keys]
