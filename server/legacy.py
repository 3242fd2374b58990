"""The original phone app's REST and WebSocket routes (`BRIEFING_LEGACY_API=on`): HTTP glue only.

What each route does is decided in `resolvers.legacy`. Here: the client-address fence, form and
query parsing, the original's answer shapes (`{"detail": …}` on a refusal, 422 for bad input, and
`charset=UTF-8` on every JSON answer) and the sockets' text frames. Clients send nothing on the
sockets; a socket closes (1000) when its briefing ends. Off, the routes answer 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from core.settings import Settings
from resolvers import legacy
from resolvers.context import Context, Services
from resolvers.errors import CodedError, ErrorCode, bad_input

log = logging.getLogger("briefing.legacy")

JSON_TYPE = "application/json; charset=UTF-8"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 20
STATUS = {
    ErrorCode.BAD_USER_INPUT: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.PASSWORD_NOT_SET: 403,
    ErrorCode.INTERNAL: 503,
}
SOCKET_PATHS = ("/ws", "/reloadBriefing")

Fields = dict[str, str]
Answer = Callable[[Context, Fields], Awaitable[Any]]
Opener = Callable[[Context, Fields], Awaitable[legacy.Frames]]


class LegacyJSON(Response):
    """JSON as the original's clients read it: UTF-8 as it is, and said so in the content type."""

    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Missing(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True)
class _Post:
    path: str
    fields: tuple[str, ...]
    answer: Answer
    raw: bool = False  # the answer is text sent as it is (the original's `/aiSummary`)


_POSTS = (
    _Post("/login", ("username",), lambda ctx, f: legacy.login(username=f["username"])),
    _Post("/endBriefing", ("username",), lambda ctx, f: legacy.end_briefing(ctx=ctx, username=f["username"])),
    _Post("/getAllRequest", ("username",), lambda ctx, f: legacy.requests(ctx=ctx, username=f["username"])),
    _Post("/getBriefing", ("request_id",), lambda ctx, f: legacy.briefing_texts(ctx=ctx, request_id=f["request_id"])),
    _Post("/aiSummary", ("request_id",), lambda ctx, f: legacy.summary(ctx=ctx, request_id=f["request_id"]), raw=True),
    _Post("/getCustom", ("username",), lambda ctx, f: legacy.custom(username=f["username"])),
    _Post(
        "/updateCustom",
        ("username", "custom_list"),
        lambda ctx, f: legacy.update_custom(username=f["username"], custom_list=f["custom_list"]),
    ),
)
_SOCKETS: dict[str, tuple[tuple[str, ...], Opener]] = {
    "/ws": (
        ("username", "interval", "endtime"),
        lambda ctx, f: legacy.open_briefing(
            ctx=ctx, username=f["username"], interval=f["interval"], endtime=f["endtime"]
        ),
    ),
    "/reloadBriefing": (("username",), lambda ctx, f: legacy.open_reload(ctx=ctx, username=f["username"])),
}


def legacy_routes(*, settings: Settings, services_ref: dict[str, Services]) -> list[BaseRoute]:
    """The original app's routes when `BRIEFING_LEGACY_API` is on; off, its sockets are refused with 404
    (and its POST routes do not exist)."""
    logging.getLogger("uvicorn.error").addFilter(_DENIAL_FILTER)  # once: the same filter object is not added twice
    if not settings.legacy_api:
        return [WebSocketRoute(path, _absent) for path in SOCKET_PATHS]
    posts: list[BaseRoute] = [
        Route(post.path, functools.partial(_serve_post, post, settings, services_ref), methods=["POST"])
        for post in _POSTS
    ]
    sockets: list[BaseRoute] = [
        WebSocketRoute(path, functools.partial(_serve_socket, fields, opener, settings, services_ref))
        for path, (fields, opener) in _SOCKETS.items()
    ]
    return posts + sockets


async def _serve_post(post: _Post, settings: Settings, services_ref: dict[str, Services], request: Request) -> Response:
    ctx = Context(services=services_ref["services"], request=request)
    try:
        _check_client(settings, request)
        answer = await post.answer(ctx, _present(await _form(request), post.fields))
    except _Missing as missing:
        return _missing(missing.names, where="body")
    except CodedError as error:
        return _refusal(error, where="body")
    if post.raw:
        return Response(str(answer), media_type=JSON_TYPE)
    return LegacyJSON(answer)


async def _serve_socket(
    fields: tuple[str, ...], opener: Opener, settings: Settings, services_ref: dict[str, Services], websocket: WebSocket
) -> None:
    ctx = Context(services=services_ref["services"], request=websocket)
    try:
        _check_client(settings, websocket)
        frames = await opener(ctx, _present(dict(websocket.query_params), fields))
    except _Missing as missing:
        await _deny(websocket, _missing(missing.names, where="query"))
        return
    except CodedError as error:
        await _deny(websocket, _refusal(error, where="query"))
        return
    async with contextlib.aclosing(frames):
        await websocket.accept()
        await _stream(websocket, frames)


async def _stream(websocket: WebSocket, frames: legacy.Frames) -> None:
    """Send every frame until the stream ends (then close, 1000) or the client leaves."""
    sender = asyncio.create_task(_send_all(websocket, frames))
    listener = asyncio.create_task(_until_disconnect(websocket))
    done, pending = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if listener in done:
        return  # the client left; the frames are closed by the caller
    error = sender.exception()
    if error is not None and not isinstance(error, OSError):
        log.error("legacy stream failed", exc_info=error)
    if websocket.application_state is WebSocketState.CONNECTED:  # a slow consumer was closed already (4413)
        with contextlib.suppress(OSError, RuntimeError):
            await websocket.close(code=1000 if error is None else 1011)


async def _send_all(websocket: WebSocket, frames: legacy.Frames) -> None:
    async for frame in frames:
        await websocket.send_text(frame)


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) whatever the client sends until it disconnects."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _absent(websocket: WebSocket) -> None:
    await _deny(websocket, LegacyJSON({"detail": "Not Found"}, status_code=404))


async def _deny(websocket: WebSocket, response: Response) -> None:
    """Answer the handshake with an HTTP response (closing with 1008 where the server cannot)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
        _denied.set(True)
    else:
        await websocket.close(code=1008)


_denied: ContextVar[bool] = ContextVar("legacy_socket_denied", default=False)


class _DenialIsNotAnError(logging.Filter):
    """uvicorn's websockets-sansio protocol logs "ASGI callable returned without completing handshake." at
    ERROR after every denial response (Kludex/uvicorn#3138); drop that record for the sockets denied here.
    The record is written in the connection's task right after the app returns, so it sees `_denied`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_denied.get() and record.getMessage() == "ASGI callable returned without completing handshake.")


_DENIAL_FILTER = _DenialIsNotAnError()


def _check_client(settings: Settings, connection: HTTPConnection) -> None:
    legacy.check_client(settings=settings, host=connection.client.host if connection.client else None)


async def _form(request: Request) -> Fields:
    """The urlencoded form fields of a body (the last value of a repeated field wins, as in FastAPI)."""
    body = await request.body()
    if not body:
        return {}
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != FORM_TYPE:
        raise bad_input(f"Send the fields as {FORM_TYPE}")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:  # not UTF-8, or too many fields
        raise bad_input(f"The body is not a {FORM_TYPE} form of at most {MAX_FIELDS} UTF-8 fields") from None


def _present(values: Fields, names: tuple[str, ...]) -> Fields:
    """The named fields; an empty one counts as missing, as FastAPI's `Form(...)` counted it."""
    missing = [name for name in names if not values.get(name)]
    if missing:
        raise _Missing(missing)
    return {name: values[name] for name in names}


def _missing(names: list[str], *, where: str) -> Response:
    detail = [{"type": "missing", "loc": [where, name], "msg": "Field required"} for name in names]
    return LegacyJSON({"detail": detail}, status_code=422)


def _refusal(error: CodedError, *, where: str) -> Response:
    """A coded error in the original's shape: 422 lists the field, others say why in `detail`."""
    status = STATUS.get(error.code, 500)
    extensions = error.extensions or {}
    if status == 422:
        field = extensions.get("field")
        loc = [where, field] if isinstance(field, str) else [where]
        return LegacyJSON({"detail": [{"type": "value_error", "loc": loc, "msg": error.message}]}, status_code=422)
    retry = extensions.get("retryAfter")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return LegacyJSON({"detail": error.message}, status_code=status, headers=headers)
