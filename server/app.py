"""The Starlette application: GraphQL over HTTP and WebSocket, offline GraphiQL, health checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from briefings.schedule import worker_alive
from core.runtime import tune_garbage_collector
from core.security import TokenRevocations
from core.settings import Settings
from documents import User, connect_documents
from inference.cameras import load_camera_registry
from resolvers import auth
from resolvers.context import Context, Services
from schema.build import build_schema
from schema.fanout import encode_message
from server.export import export_routes
from server.graphiql import BUILD_HINT, graphiql_assets_present, graphiql_page, graphiql_routes
from server.graphql_http import GraphQLOverHTTP
from server.legacy import legacy_routes
from server.limits import BodySizeLimit
from server.observability import RequestContext, metrics_routes
from server.webapp import webapp_routes
from server.websocket import GraphQLWSHandler, SocketContext, TransportWSHandler

log = logging.getLogger("briefing.server")
READY_TIMEOUT_SECONDS = 2.0


class BriefingGraphQL(GraphQLOverHTTP):
    """Strawberry's ASGI view with our authentication on HTTP and on connection_init, and the hardened
    WebSocket handlers of `server.websocket` (both protocols)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = GraphQLWSHandler

    def __init__(self, *, services_ref: dict[str, Services], settings: Settings, revocations: TokenRevocations) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql",
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.ws_max_operations,
            allowed_origins=settings.allowed_origins,
        )
        self._services_ref = services_ref
        self.revocations = revocations

    @property
    def services(self) -> Services:
        return self._services_ref["services"]

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        if isinstance(request, WebSocket):
            return SocketContext(services=self.services, request=request, response=response)
        ctx = Context(services=self.services, request=request, response=response)
        if isinstance(request, Request):
            found = await auth.authenticate(services=ctx.services, authorization=request.headers.get("authorization"))
            if found is not None:
                ctx.user, ctx.token_hash = found
        return ctx

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        found = await auth.authenticate_session(
            services=context.services, authorization=raw if isinstance(raw, str) else None
        )
        if found is None:
            raise ConnectionRejectionError(
                {"message": "A valid bearer token is required in the connection_init payload"}
            )
        context.user, context.token_hash = found.user, found.token_hash
        if isinstance(context, SocketContext):
            context.token_expires_at = found.expires_at  # the socket is closed (4403) when it passes
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()

    def encode_json(self, data: object) -> str:
        """Strawberry's JSON, with the payload of a shared subscription result serialised once (`schema.fanout`)."""
        return encode_message(data)


async def healthz(_: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    """Build the ASGI application; connections open in its lifespan."""
    services_ref: dict[str, Services] = {}
    revocations = TokenRevocations(poll_seconds=settings.ws_revocation_check_seconds)
    view = BriefingGraphQL(services_ref=services_ref, settings=settings, revocations=revocations)

    async def readyz(_: Request) -> Response:
        services = services_ref.get("services")
        checks = await _readiness(services)
        ok = all(checks.values())
        worker = checks["redis"] and await _worker_alive(services)
        body = {"status": "ok" if ok else "unavailable", "checks": checks, "worker": worker}
        return JSONResponse(body, status_code=200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        cameras = load_camera_registry(settings)
        mongo = await connect_documents(mongodb_uri=settings.mongodb_uri, slow_query_ms=settings.slow_query_ms)
        redis = ArqRedis.from_url(settings.redis_url)  # no ping: the API starts while Redis is down (readyz says so)
        services = Services.build(settings=settings, redis=redis, cameras=cameras)
        services_ref["services"] = services
        revocations.start(redis)
        if not graphiql_assets_present():
            log.warning("GraphiQL assets are not built: %s", BUILD_HINT)
        tune_garbage_collector()
        try:
            yield
        finally:
            await revocations.aclose()
            await services.aclose()
            await mongo.close()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        *graphiql_routes(),
        *export_routes(services_ref=services_ref),
        *legacy_routes(settings=settings, services_ref=services_ref),
        *metrics_routes(settings),
        *webapp_routes(),  # last: the app's page and assets never shadow the API's routes
    ]
    middleware = [
        Middleware(RequestContext),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


async def _readiness(services: Services | None) -> dict[str, bool]:
    if services is None:
        return {"mongodb": False, "redis": False}
    checks = {"mongodb": False, "redis": False}
    with contextlib.suppress(Exception):
        database = User.get_pymongo_collection().database
        await asyncio.wait_for(database.command("ping"), timeout=READY_TIMEOUT_SECONDS)
        checks["mongodb"] = True
    with contextlib.suppress(Exception):
        checks["redis"] = bool(await asyncio.wait_for(services.redis.ping(), timeout=READY_TIMEOUT_SECONDS))
    return checks


async def _worker_alive(services: Services | None) -> bool:
    """Whether a worker's heartbeat is fresh. Not a readiness check: this process serves without one
    (logins, history, summaries), but its briefings would never tick, so the operator is told."""
    if services is None:
        return False
    with contextlib.suppress(Exception):
        return await asyncio.wait_for(worker_alive(arq=services.redis), timeout=READY_TIMEOUT_SECONDS)
    return False
