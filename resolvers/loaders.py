"""Batch loaders: one store query for all the keys an operation asks for."""

from __future__ import annotations

from beanie import PydanticObjectId

from documents import Briefing


async def count_briefings_many(keys: list[str]) -> list[int]:
    """Briefing counts of many requests in one `$group` (0 for a request without briefings)."""
    ids = [PydanticObjectId(key) for key in keys]
    pipeline: list[dict[str, object]] = [
        {"$match": {"request_id": {"$in": ids}}},
        {"$group": {"_id": "$request_id", "n": {"$sum": 1}}},
    ]
    rows = await Briefing.aggregate(pipeline).to_list()
    counts = {str(row["_id"]): int(row["n"]) for row in rows}
    return [counts.get(key, 0) for key in keys]
