"""Reading a user's briefing history: requests newest first, briefings of one request oldest first."""

from __future__ import annotations

from datetime import timedelta

from beanie import PydanticObjectId
from bson.errors import InvalidId

from briefings.schedule import current_slot
from core.time import as_utc, utcnow
from documents import Briefing, BriefingRequest, RequestStatus, User, briefing_key, get_immutable
from resolvers.context import Context
from resolvers.errors import not_found

KEYS_PER_READ = 1000
"""Keys per `_id $in` read (the patched FerretDB pushes at most 1000 down to SQLite)."""
KEY_MARGIN_SECONDS = 30.0
"""Slots past now (or past the request's end) also looked up, in case a worker's clock runs ahead."""


async def list_requests(*, user: User) -> list[BriefingRequest]:
    """The user's requests, newest first."""
    query = BriefingRequest.find(BriefingRequest.owner_id == user.id)
    return await query.sort(-BriefingRequest.created_at).to_list()  # type: ignore[operator]


def parse_id(*, raw: str, what: str) -> PydanticObjectId:
    """An ObjectId from client text; malformed ids are simply not found."""
    try:
        return PydanticObjectId(raw)
    except (InvalidId, TypeError, ValueError):
        raise not_found(what) from None


async def owned_request(*, user: User, request_id: str) -> BriefingRequest:
    """The request if it exists and belongs to the user; NOT_FOUND otherwise, alike in both cases."""
    oid = parse_id(raw=request_id, what="Request")
    request = await BriefingRequest.find_one(BriefingRequest.id == oid, BriefingRequest.owner_id == user.id)
    if request is None:
        raise not_found("Request")
    return request


async def list_briefings(*, user: User, request_id: str, after_seq: int = 0) -> list[Briefing]:
    """All briefings of one of the user's requests with `seq > after_seq`, oldest first."""
    request = await owned_request(user=user, request_id=request_id)
    return await briefings_of(request=request, after_seq=after_seq)


async def briefings_of(*, request: BriefingRequest, after_seq: int = 0) -> list[Briefing]:
    """Stored briefings of a request with `seq > after_seq`, in order.

    A keyed request's briefings are read by `_id` (`<request>:<seq>` for every slot that can hold
    one): a primary-key read on MongoDB and FerretDB alike, where FerretDB's SQLite backend answers
    any other filter by scanning every briefing ever stored (a replay per reconnecting socket made
    that a storm). Older requests are read by `request_id` and `seq`."""
    if not request.keyed:
        query = Briefing.find(Briefing.request_id == request.id, Briefing.seq > after_seq)
        return await query.sort("seq").to_list()
    request_id: PydanticObjectId = request.id  # type: ignore[assignment]
    seqs = range(after_seq + 1, _last_possible_seq(request=request) + 1)
    found: list[Briefing] = []
    for start in range(0, len(seqs), KEYS_PER_READ):
        keys = [briefing_key(request_id=request_id, seq=seq) for seq in seqs[start : start + KEYS_PER_READ]]
        found += await get_immutable(Briefing, keys)  # in key order, so in seq order
    return found


def _last_possible_seq(*, request: BriefingRequest) -> int:
    """The highest seq a tick can have stored by now: the slot of the request's end (or of now, while
    it runs), plus a margin for clocks that differ between the API's and the workers' hosts."""
    until = utcnow() if request.status == RequestStatus.ACTIVE else as_utc(request.ended_at or request.ends_at)
    until = min(until, as_utc(request.ends_at)) + timedelta(seconds=KEY_MARGIN_SECONDS)
    return current_slot(request=request, now=until)


async def count_briefings(*, request_id: PydanticObjectId) -> int:
    """How many briefings a request has stored."""
    return await Briefing.find(Briefing.request_id == request_id).count()


async def count_briefings_batched(*, ctx: Context, request_id: str) -> int:
    """Briefing count of a request, batched per operation: one `$group` for a whole list of requests."""
    return (await ctx.briefing_tallies.load(request_id)).count


async def skipped_ticks_batched(*, ctx: Context, request_id: str, stored: int) -> int:
    """Slots a request skipped: what its briefings record (`skipped_before`), plus `stored`, the
    request's own counter (kept by rows written before skips moved onto briefings)."""
    return stored + (await ctx.briefing_tallies.load(request_id)).skipped
