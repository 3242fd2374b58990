"""What operators read: this process's `GET /metrics`, and the request id on every log line.

`/metrics` (`BRIEFING_METRICS`, on by default) answers only clients in `BRIEFING_METRICS_ALLOWED_NETWORKS`
(loopback and private ranges by default; others get 403), so an API bound to a public address does not
publish its figures. Behind a reverse proxy the client is the proxy unless uvicorn is told to trust its
`X-Forwarded-For` (`--forwarded-allow-ips`): have the proxy not forward `/metrics`, or forward the
client's address.

`RequestContext` gives every HTTP request and WebSocket connection a request id (the client's
`X-Request-ID` when it is a sane token, else a new one), binds it to the log context for the whole
exchange and answers it in the `X-Request-ID` response header.
"""

from __future__ import annotations

import re
import uuid
from ipaddress import IPv4Address, IPv6Address, ip_address

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import logs, metrics
from core.settings import Settings

REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def metrics_routes(settings: Settings) -> list[BaseRoute]:
    """`GET /metrics` when `BRIEFING_METRICS` is on (nothing otherwise: the path answers 404)."""
    if not settings.metrics:
        return []

    async def serve_metrics(request: Request) -> Response:
        if not _allowed(settings, request.client.host if request.client else None):
            return PlainTextResponse("Metrics are not served to this network", status_code=403)
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, headers={"content-type": content_type})

    return [Route("/metrics", serve_metrics, methods=["GET"])]


def _allowed(settings: Settings, host: str | None) -> bool:
    address: IPv4Address | IPv6Address | None
    try:
        address = ip_address(host or "")
    except ValueError:
        return False  # no peer address (a Unix socket without a proxy): nothing to allow
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.metrics_allowed_networks)


class RequestContext:
    """ASGI middleware: a request id per HTTP request / WebSocket connection, in the logs and the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = logs.bind(request_id=request_id, user_id=None, briefing_request_id=None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            logs.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == REQUEST_ID_HEADER and _SANE_REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex
