"""GraphQL over WebSocket: Strawberry's two protocol handlers, hardened (issue 10, bugs 2, 5, 6 and 7).

Both protocols (graphql-transport-ws and the legacy graphql-ws):
- close 4400 on a frame that is JSON but not a protocol message (`[1,2]`, `"x"`, `5`, a payload or an
  id of the wrong type), instead of letting the handler fail with a traceback;
- give every error they send an `extensions.code`, as the HTTP path does: the errors a handler makes
  itself ("Subscription limit reached": RATE_LIMITED; others: BAD_USER_INPUT);
- close 4403 when the token the socket signed in with is revoked (`logout`, on any API process) or
  expires (`core.security.TokenRevocations`);
- log nothing when a client leaves while a result is being sent to it (Strawberry logs a traceback).

The legacy graphql-ws handler also gets what graphql-transport-ws has: a connection-init timeout
(4408 after `BRIEFING_WS_INIT_TIMEOUT_SECONDS`), 4403 for a refused token (not 1011) and 4429 for a
second `connection_init`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage as TransportInit
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message as TransportMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInit
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage as LegacyMessage
from strawberry.types.unset import UnsetType

from core.security import TokenRevocations
from resolvers.context import Context
from resolvers.errors import ErrorCode

BAD_MESSAGE = 4400
FORBIDDEN = 4403
INIT_TIMEOUT = 4408
TOO_MANY_INITS = 4429
REVOKED_REASON = "The token was revoked or has expired: sign in again"
OPERATION_LIMIT_MESSAGE = "Subscription limit reached"  # Strawberry's words for BRIEFING_WS_MAX_OPERATIONS


@dataclass
class SocketContext(Context):
    """The context of one WebSocket connection: a `Context`, plus when its token expires."""

    token_expires_at: datetime | None = None


class _WatchingView(Protocol):
    """What the handlers need from the view besides Strawberry's hooks."""

    revocations: TokenRevocations
    connection_init_wait_timeout: timedelta


# --- message shapes ---------------------------------------------------------------------------------


def _operation_problem(message: Mapping[str, Any], *, needs_payload: bool) -> str | None:
    if not isinstance(message.get("id"), str):
        return "The message's `id` must be a string"
    if not needs_payload:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "The message's `payload` must be an object"
    if not isinstance(payload.get("query"), str):
        return "The payload's `query` must be a string"
    if not isinstance(payload.get("variables"), dict | None):
        return "The payload's `variables` must be an object or null"
    if not isinstance(payload.get("operationName"), str | None):
        return "The payload's `operationName` must be a string or null"
    if not isinstance(payload.get("extensions"), dict | None):
        return "The payload's `extensions` must be an object or null"
    return None


def message_problem(message: object, *, subscribe: str, complete: str) -> str | None:
    """Why a decoded frame is not a well-formed protocol message (None when it is). `subscribe` and
    `complete` are the protocol's names for starting and stopping an operation."""
    if not isinstance(message, dict):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "The message's `type` must be a string"
    if kind == subscribe:
        return _operation_problem(message, needs_payload=True)
    if kind == complete:
        return _operation_problem(message, needs_payload=False)
    return None


# --- every error carries a code ---------------------------------------------------------------------


def _coded(error: object) -> object:
    if not isinstance(error, dict):
        return error
    extensions = error.get("extensions")
    if isinstance(extensions, dict) and extensions.get("code"):
        return error
    code = ErrorCode.RATE_LIMITED if error.get("message") == OPERATION_LIMIT_MESSAGE else ErrorCode.BAD_USER_INPUT
    return {**error, "extensions": {**(extensions if isinstance(extensions, dict) else {}), "code": code.value}}


def with_codes(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message with an `extensions.code` on each of its errors (unchanged when they all have one).

    Errors from execution are coded by the schema; what is left are the handlers' own (the operation
    limit of a connection) and anything a later Strawberry adds."""
    kind, payload = message.get("type"), message.get("payload")
    if kind == "error":
        if isinstance(payload, list):
            return {**message, "payload": [_coded(error) for error in payload]}
        if isinstance(payload, dict):
            return {**message, "payload": _coded(payload)}
        return message
    if kind in ("next", "data") and type(payload) is dict and payload.get("errors"):
        return {**message, "payload": {**payload, "errors": [_coded(error) for error in payload["errors"]]}}
    return message


# --- revocation -------------------------------------------------------------------------------------


def _watch_token(view: object, context: Context, websocket: AsyncWebSocketAdapter) -> Callable[[], None] | None:
    """Close the socket with 4403 when the token it signed in with is revoked or expires; returns the
    function that stops watching (None when the context carries no token)."""
    if context.token_hash is None:
        return None

    async def close() -> None:
        with contextlib.suppress(Exception):  # already closing or closed
            await websocket.close(FORBIDDEN, REVOKED_REASON)

    expires_at = context.token_expires_at if isinstance(context, SocketContext) else None
    revocations = cast(_WatchingView, view).revocations
    return revocations.watch(digest=context.token_hash, expires_at=expires_at, on_revoked=close)


@contextlib.contextmanager
def _pending_handshake(context: Context) -> Iterator[None]:
    """A `connection_init` being answered: new subscriptions of the process wait for it (`core.openings`).

    Counted from the `connection_init` on, not from the upgrade: a socket that never sends one must
    not hold every other subscription back until its init timeout."""
    handshake = context.services.openings.handshake()
    try:
        yield
    finally:
        handshake.done()


async def _after_handshakes(context: Context) -> None:
    """Before a subscription starts: let the process's pending handshakes be answered first
    (`core.openings`; in a reconnect storm every socket is acknowledged before the replays begin)."""
    await context.services.openings.after_handshakes()


# --- the handlers -----------------------------------------------------------------------------------


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, hardened as the module says."""

    _unwatch: Callable[[], None] | None = None

    async def handle_message(self, message: TransportMessage) -> None:
        problem = message_problem(message, subscribe="subscribe", complete="complete")
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "subscribe":
            await _after_handshakes(self.context)
        await super().handle_message(message)

    async def handle_connection_init(self, message: TransportInit) -> None:
        with _pending_handshake(self.context):
            await super().handle_connection_init(message)
        if self.connection_acknowledged and self._unwatch is None:
            self._unwatch = _watch_token(self.view, self.context, self.websocket)

    async def send_message(self, message: TransportMessage) -> None:
        await super().send_message(cast(TransportMessage, with_codes(message)))

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            return  # the client left while a result was on its way: nothing went wrong here
        await super().handle_task_exception(error)

    async def shutdown(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        await super().shutdown()


class GraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol, hardened as the module says."""

    _unwatch: Callable[[], None] | None = None

    _init_timeout: asyncio.Task[None] | None = None
    _init_received = False

    async def handle(self) -> None:
        self._init_timeout = asyncio.create_task(self._close_without_init())
        try:
            await super().handle()
        finally:
            if self._unwatch is not None:
                self._unwatch()
            self._init_timeout.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._init_timeout

    async def _close_without_init(self) -> None:
        await asyncio.sleep(cast(_WatchingView, self.view).connection_init_wait_timeout.total_seconds())
        if not self._init_received:
            with contextlib.suppress(Exception):
                await self.websocket.close(code=INIT_TIMEOUT, reason="Connection initialisation timeout")

    async def handle_message(self, message: LegacyMessage) -> None:
        problem = message_problem(message, subscribe="start", complete="stop")
        if problem is not None:
            await self.websocket.close(code=BAD_MESSAGE, reason=problem)
            return
        if message["type"] == "start":
            await _after_handshakes(self.context)
        await super().handle_message(message)

    async def handle_connection_init(self, message: LegacyInit) -> None:
        if self._init_received:
            await self.websocket.close(code=TOO_MANY_INITS, reason="Too many initialisation requests")
            return
        self._init_received = True
        if self._init_timeout is not None:
            self._init_timeout.cancel()
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=BAD_MESSAGE, reason="Invalid connection init payload")
            return
        self.context.connection_params = payload
        with _pending_handshake(self.context):
            try:
                ack = await self.view.on_ws_connect(self.context)
            except ConnectionRejectionError as rejected:
                await self.send_message({"type": "connection_error", "payload": rejected.payload})
                await self.websocket.close(code=FORBIDDEN, reason="Forbidden")
                return
            if isinstance(ack, UnsetType) or ack is None:
                await self.send_message({"type": "connection_ack"})
            else:
                await self.send_message({"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True
        self._unwatch = _watch_token(self.view, self.context, self.websocket)
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())

    async def send_message(self, message: LegacyMessage) -> None:
        await super().send_message(cast(LegacyMessage, with_codes(message)))
