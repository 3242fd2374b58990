"""A stand-in GraphQL server speaking the public briefing contract, for testing the web clients.

It implements just enough of the schema (login, endBriefing, the briefing subscription with
the token in the connection_init payload) to drive web/apollo-briefing.mjs and the GraphiQL
page without MongoDB, Redis or the detector. Run: ``python -m tests.web.stub_server --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import Info

from server.graphiql import graphiql_page, graphiql_routes

DEFAULT_CAMERA = strawberry.ID("demo")
REJECTED_USER = "rejectme"
"""Logging in as this user works, but the WebSocket refuses its token."""

_ended: dict[str, asyncio.Event] = {}


def _user_of(authorization: object) -> str | None:
    if isinstance(authorization, str) and authorization.startswith("Bearer tok-"):
        return authorization.removeprefix("Bearer tok-")
    return None


@strawberry.type
class LoginResult:
    message: str
    user_id: strawberry.ID
    token: str


@strawberry.type
class MessageResult:
    message: str


@strawberry.type
class BriefingRequest:
    id: strawberry.ID
    status: str


@strawberry.type
class Count:
    label: str
    count: int


@strawberry.type
class BriefingStarted:
    request: BriefingRequest


@strawberry.type
class Briefing:
    seq: int
    caption: str
    caption_source: str
    counts: list[Count]
    error: str | None


@strawberry.type
class BriefingEnded:
    reason: str
    request: BriefingRequest


BriefingEvent = Annotated[BriefingStarted | Briefing | BriefingEnded, strawberry.union("BriefingEvent")]


@strawberry.type
class Query:
    @strawberry.field
    def custom(self) -> list[str]:
        return ["한국어로 말해줘"]


@strawberry.type
class Mutation:
    @strawberry.mutation
    def login(self, username: str, password: str) -> LoginResult:
        return LoginResult(message="signup", user_id=strawberry.ID(f"u-{username}"), token=f"tok-{username}")

    @strawberry.mutation
    def end_briefing(self, info: Info) -> MessageResult:
        user = _user_of(info.context["request"].headers.get("authorization"))
        if user is None:
            raise PermissionError("not logged in")
        _ended.setdefault(user, asyncio.Event()).set()
        return MessageResult(message="브리핑 성공적으로 종료")


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def briefing(
        self, info: Info, interval: int, endtime: str, camera_id: strawberry.ID | None = DEFAULT_CAMERA
    ) -> AsyncGenerator[BriefingEvent, None]:
        user = _user_of(info.context["connection_params"].get("authorization"))
        assert user is not None
        ended = _ended[user] = asyncio.Event()
        request_id = strawberry.ID(f"r-{user}")
        yield BriefingStarted(request=BriefingRequest(id=request_id, status="ACTIVE"))
        seq = 0
        while True:
            try:
                await asyncio.wait_for(ended.wait(), timeout=interval)
            except TimeoutError:
                seq += 1
                yield Briefing(
                    seq=seq,
                    caption=f"{seq} men are in the store now ({camera_id})",
                    caption_source="template",
                    counts=[Count(label="male", count=seq), Count(label="female", count=0)],
                    error=None,
                )
            else:
                yield BriefingEnded(reason="ENDED_BY_USER", request=BriefingRequest(id=request_id, status="ENDED"))
                return


class StubGraphQL(GraphQL[dict[str, Any], None]):
    """Token in connection_init, the offline GraphiQL page for browsers."""

    async def on_ws_connect(self, context: dict[str, Any]) -> dict[str, object] | None:
        user = _user_of((context.get("connection_params") or {}).get("authorization"))
        if user is None or user == REJECTED_USER:
            raise ConnectionRejectionError({"message": "A valid bearer token is required"})
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()


def create_app() -> Starlette:
    """The stub's ASGI app: /graphql over HTTP and WebSocket, plus the GraphiQL assets."""
    schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    view = StubGraphQL(schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
    return Starlette(
        routes=[Route("/graphql", view, methods=["GET", "POST"]), WebSocketRoute("/graphql", view), *graphiql_routes()]
    )


def main() -> None:
    """Serve the stub on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
