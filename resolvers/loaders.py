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
    # One accumulator per `$group`: FerretDB 1.24 answers 0 for every accumulator after the first
    # (`{n: {$sum: 1}, skipped: {$sum: "$skipped_before"}}` gives skipped = 0), so group by the
    # skip count too and add up here; a request has few distinct skip counts.
    pipeline: list[dict[str, object]] = [
        {"$match": {"request_id": {"$in": ids}}},
        {"$group": {"_id": {"request": "$request_id", "skipped": "$skipped_before"}, "n": {"$sum": 1}}},
    ]
    counts: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for row in await Briefing.aggregate(pipeline).to_list():
        key, n = str(row["_id"]["request"]), int(row["n"])
        counts[key] = counts.get(key, 0) + n
        skipped[key] = skipped.get(key, 0) + n * int(row["_id"].get("skipped") or 0)
    return [BriefingTally(count=counts.get(key, 0), skipped=skipped.get(key, 0)) for key in keys]
