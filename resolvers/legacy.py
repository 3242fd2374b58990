"""The original phone app's API: what each legacy route does, behind the fence.

The original backend knew users by name alone, so its routes reach an account only when the account
lets them (`User.legacy_access`: set on accounts the legacy `login` creates, and by the owner's
`setLegacyAccess`), and only from the networks the operator allows. Each route reuses the GraphQL
resolvers; what is the original's here is the shapes: names, the `"YYYY-MM-DD HH:MM_<caption>"` text
form of a briefing (local time) and the first frame of `reloadBriefing`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import cast
from zoneinfo import ZoneInfo

from core import logs
from core.quoting import quoted
from core.settings import Settings
from core.time import as_utc
from documents import Briefing, BriefingRequest, User, doc_id
from documents.transient import retry_transient
from inference.cameras import DEMO_CAMERA_ID
from resolvers import auth, briefings, customs, history, summaries
from resolvers.context import Context
from resolvers.errors import CodedError, ErrorCode, bad_input, not_found

CUSTOM_UPDATED = "success to update Custom"
FENCED_OUT = "This account does not take the original app's requests; its owner can allow them (setLegacyAccess)"
MAX_INTERVAL_DIGITS = 9

Frames = AsyncGenerator[str, None]
"""The text frames of a legacy socket, in order; the stream ends when the briefing ends."""


def check_client(*, settings: Settings, host: str | None) -> None:
    """Refuse (FORBIDDEN) a client outside `BRIEFING_LEGACY_ALLOWED_NETWORKS`."""
    address: IPv4Address | IPv6Address | None
    try:
        address = ip_address(host or "")
    except ValueError:
        address = None  # no peer address (a Unix socket without a proxy): nothing to allow
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address is None or not any(address in network for network in settings.legacy_allowed_networks):
        raise CodedError("The original app's routes are not served to this network", code=ErrorCode.FORBIDDEN)


async def _account(username: str) -> User | None:
    """The account the original app names; None when there is none, FORBIDDEN when the fence keeps it out."""
    user = await User.find_one(User.username == username)
    if user is not None and not user.legacy_access:
        raise CodedError(FENCED_OUT, code=ErrorCode.FORBIDDEN)
    logs.bind(user_id=str(user.id) if user is not None else None)
    return user


async def _known_account(username: str) -> User:
    user = await _account(username)
    if user is None:
        raise not_found(f"User {quoted(username)}")
    return user


async def login(*, username: str) -> dict[str, str]:
    """Sign up (a legacy-only account: no password, legacy access on) or log in by name alone."""
    user = await _account(auth.validate_username(username))
    created = False
    if user is None:
        user, created = await auth.create_account(username=username, password_hash=None, legacy_access=True)
        if not user.legacy_access:  # a GraphQL signup took the name meanwhile
            raise CodedError(FENCED_OUT, code=ErrorCode.FORBIDDEN)
    return {"message": "signup" if created else "login", "user_id": str(doc_id(user))}


async def set_legacy_access(*, user: User, enabled: bool) -> User:
    """Let the original app's routes reach the account (or stop them)."""
    user_id = doc_id(user)
    await retry_transient(
        lambda: User.find_one(User.id == user_id).update({"$set": {"legacy_access": enabled}}),
        what="set legacy access",
    )
    user.legacy_access = enabled
    return user


async def end_briefing(*, ctx: Context, username: str) -> dict[str, str]:
    """Stop the user's running briefing; as in the original, the answer is the same when none runs."""
    user = await _account(username)
    if user is not None:
        try:
            await briefings.end_briefing(ctx=ctx, user=user)
        except CodedError as error:
            if error.code is not ErrorCode.NOT_FOUND:
                raise
    return {"message": briefings.ENDED_MESSAGE}


async def requests(*, ctx: Context, username: str) -> list[dict[str, str]]:
    """The user's requests, newest first (`[]` for an unknown user); `endtime` is the local `HH:MM`."""
    user = await _account(username)
    if user is None:
        return []
    tz = ctx.services.settings.tz
    return [
        {"request_id": str(request.id), "request_name": request.name, "endtime": _local(request.ends_at, tz, "%H:%M")}
        for request in await history.list_requests(user=user)
    ]


async def briefing_texts(*, ctx: Context, request_id: str) -> list[str]:
    """The text forms of a request's briefings, oldest first; NOT_FOUND unless its owner is fenced in."""
    request = await _fenced_request(ctx=ctx, request_id=request_id)
    tz = ctx.services.settings.tz
    return [text_form(briefing, tz) for briefing in await history.briefings_of(request=request)]


async def summary(*, ctx: Context, request_id: str) -> str:
    """The AI summary's text of a request whose owner is fenced in; NOT_FOUND otherwise."""
    await _fenced_request(ctx=ctx, request_id=request_id)
    return (await summaries.ai_summary(ctx=ctx, request_id=request_id)).doc.text


async def custom(*, username: str) -> list[str]:
    """The user's caption style instructions."""
    return list((await _known_account(username)).custom)


async def update_custom(*, username: str, custom_list: str) -> str:
    """Replace the user's instructions with a JSON-encoded array of strings."""
    user = await _known_account(username)
    try:
        items = json.loads(custom_list)
    except (ValueError, RecursionError):
        raise bad_input(f"custom_list {quoted(custom_list)} is not JSON", field="custom_list") from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise bad_input("custom_list must be a JSON array of strings", field="custom_list")
    try:
        await customs.update_custom(user=user, custom=items)
    except CodedError as error:
        if error.code is ErrorCode.BAD_USER_INPUT:
            raise bad_input(error.message, field="custom_list") from None
        raise
    return CUSTOM_UPDATED


async def open_briefing(*, ctx: Context, username: str, interval: str, endtime: str) -> Frames:
    """Start a briefing (ending the running one) and return its frames: one text form per briefing.

    Everything that can refuse happens here, before the socket is accepted.
    """
    seconds = _interval(interval)
    user = ctx.user = await _known_account(username)
    camera_id = ctx.services.settings.legacy_camera or next((c.id for c in ctx.services.cameras.all()), DEMO_CAMERA_ID)
    events = briefings.start_and_follow(ctx=ctx, user=user, interval=seconds, endtime=endtime, camera_id=camera_id)
    return await _opened(ctx=ctx, events=events, first=None)


async def open_reload(*, ctx: Context, username: str) -> Frames:
    """The frames of the user's latest request: first `{"briefing_data":[…]}` (its briefings so far),
    then one text form per new briefing. Without a request, the first frame is all there is."""
    user = await _account(username)
    request: BriefingRequest | None = None
    if user is not None:
        with contextlib.suppress(CodedError):  # NOT_FOUND: no request yet
            request = await briefings.latest_request(user=user)
    stored = [] if request is None else await history.briefings_of(request=request)
    tz = ctx.services.settings.tz
    first = json.dumps(
        {"briefing_data": [text_form(briefing, tz) for briefing in stored]}, ensure_ascii=False, separators=(",", ":")
    )
    if user is None or request is None:
        return _only(first)
    after = stored[-1].seq if stored else 0
    events = briefings.follow_request(ctx=ctx, user=user, request=request, after=after, started=True)
    return await _opened(ctx=ctx, events=events, first=first)


def text_form(briefing: Briefing, tz: ZoneInfo) -> str:
    """`YYYY-MM-DD HH:MM_<caption>` in the shop's time zone, as the original stored briefings."""
    return f"{_local(briefing.captured_at, tz, '%Y-%m-%d %H:%M')}_{briefing.caption}"


async def _fenced_request(*, ctx: Context, request_id: str) -> BriefingRequest:
    """The request if its owner is fenced in (and then the context's user); NOT_FOUND otherwise, alike."""
    request = await BriefingRequest.get(history.parse_id(raw=request_id, what="Request"))
    owner = None if request is None else await User.get(request.owner_id)
    if request is None or owner is None or not owner.legacy_access:
        raise not_found("Request")
    ctx.user = owner
    logs.bind(user_id=str(owner.id))
    return request


async def _opened(*, ctx: Context, events: AsyncIterator[briefings.Event], first: str | None) -> Frames:
    """A stream's frames once its first event (Started) is out: by then the user's subscription slot is
    held (taken before anything is stored), the request exists and the live tail is registered, so a
    refusal (RATE_LIMITED, BAD_USER_INPUT) is still an answer to the handshake."""
    generator = cast(AsyncGenerator[briefings.Event, None], events)
    try:
        await anext(generator)  # Started
    except BaseException:
        await generator.aclose()
        raise
    return _texts(generator, tz=ctx.services.settings.tz, first=first)


async def _texts(events: AsyncGenerator[briefings.Event, None], *, tz: ZoneInfo, first: str | None) -> Frames:
    async with contextlib.aclosing(events):
        if first is not None:
            yield first
        async for event in events:
            if isinstance(event, Briefing):
                yield text_form(event, tz)


async def _only(frame: str) -> Frames:
    yield frame


def _interval(text: str) -> int:
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= MAX_INTERVAL_DIGITS):
        raise bad_input(f"interval {quoted(text)} is not a whole number of seconds", field="interval")
    return int(cleaned)


def _local(moment: datetime, tz: ZoneInfo, pattern: str) -> str:
    return as_utc(moment).astimezone(tz).strftime(pattern)
