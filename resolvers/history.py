"""Reading a user's briefing history: requests newest first, briefings of one request oldest first."""

from __future__ import annotations

from beanie import PydanticObjectId
from bson.errors import InvalidId

from documents import Briefing, BriefingRequest, User
from resolvers.context import Context
from resolvers.errors import not_found


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
    return await briefings_of(request_id=request.id, after_seq=after_seq)  # type: ignore[arg-type]


async def briefings_of(*, request_id: PydanticObjectId, after_seq: int = 0) -> list[Briefing]:
    """Stored briefings of a request after a sequence number, in order."""
    query = Briefing.find(Briefing.request_id == request_id, Briefing.seq > after_seq)
    return await query.sort("seq").to_list()


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
