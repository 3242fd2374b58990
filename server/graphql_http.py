"""What GraphQL over plain HTTP answers besides executing an operation (issue 11, items 1 and 3).

- A subscription sent as an HTTP request (Apollo Client without a split link, curl) is not run:
  Strawberry would resolve its field as a plain one and fail with a masked `INTERNAL`. It answers a
  `BAD_USER_INPUT` error naming the WebSocket instead. Subscriptions are served on the WebSocket
  at the same path only (no HTTP streaming transport is configured).
- `GET /graphql?query=…` from a browser (`Accept: text/html`) opens GraphiQL, whose page script
  fills the editor from the URL, so shareable GraphiQL links work. Nothing is executed over GET:
  other clients still get 400 for a query in the URL.
- A body that is JSON but not an object (`5`, `"x"`) and JSON nested deeper than Python's parser
  recurses (variables 5000 levels deep) answer 400, not 500. Over the WebSocket the same JSON is a
  frame that does not parse: graphql-transport-ws closes 4400.

`BriefingGraphQL` (server.app) derives from `GraphQLOverHTTP`; the decisions live here.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from resolvers.context import Context
from resolvers.errors import ErrorCode

SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions are served over the WebSocket only: connect to this URL with ws:// or wss:// "
    "(subprotocol graphql-transport-ws or graphql-ws), send the token in the connection_init payload "
    '({"authorization": "Bearer <token>"}) and subscribe there. With Apollo Client, route subscriptions '
    "to a GraphQLWsLink with a split link."
)
_MAX_PEEK_TOKENS = 50_000  # beyond this the document is refused by the token limit anyway


def subscription_over_http_error() -> GraphQLError:
    """The error a subscription sent over HTTP answers (not masked: it carries a code)."""
    return GraphQLError(
        SUBSCRIPTION_OVER_HTTP,
        extensions={"code": ErrorCode.BAD_USER_INPUT.value, "transport": "websocket"},
    )


def operation_type(query: str | None, operation_name: str | None) -> OperationType | None:
    """The type of the operation a request would run; None when unsure (Strawberry then decides).

    Only texts that contain the word `subscription` are parsed, so queries and mutations pay a
    substring check and nothing more.
    """
    if not query or "subscription" not in query:
        return None
    try:
        document: DocumentNode = parse(query, no_location=True, max_tokens=_MAX_PEEK_TOKENS)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return None if operation is None else operation.operation


def is_subscription(request_data: GraphQLRequestData | list[GraphQLRequestData]) -> bool:
    """Whether an HTTP request asks for a subscription (in a batch: any of its operations)."""
    items = request_data if isinstance(request_data, list) else [request_data]
    return any(
        operation_type(item.query, item.operation_name) is OperationType.SUBSCRIPTION
        for item in items
        if item.protocol == "http"
    )


def wants_graphiql(request: BaseRequestProtocol) -> bool:
    """A browser's `GET` of the endpoint: the page (with or without `?query=`), never an execution."""
    if request.method != "GET":
        return False
    accept = request.headers.get("accept", "")
    if request.query_params.get("query") is None:
        return "text/html" in accept or "*/*" in accept  # Strawberry's own rule
    return "text/html" in accept


class GraphQLOverHTTP(GraphQL[Context, None]):
    """Strawberry's ASGI view, answering subscriptions over HTTP and browser links as above."""

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        return wants_graphiql(request)

    def decode_json(self, data: str | bytes) -> object:
        """JSON; nesting too deep for the parser is a parse error (the client's), not a RecursionError."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply", data if isinstance(data, str) else "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (or the `variables` of a URL): a JSON object, or a list (a batch, refused later)."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object")
        return parsed

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if is_subscription(request_data):
            refusal = ExecutionResult(data=None, errors=[subscription_over_http_error()])
            return [refusal] * len(request_data) if isinstance(request_data, list) else refusal
        return await super().execute_operation(
            request=request,
            request_adapter=request_adapter,
            request_data=request_data,
            context=context,
            root_value=root_value,
            sub_response=sub_response,
        )
