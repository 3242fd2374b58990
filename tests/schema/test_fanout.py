"""Live fan-out in process: the real schema, its subscription resolvers fed by a stand-in hub.

Each subscriber's stream yields the events it is handed (the same `Briefing` object for all of them,
as the process's event hub hands them over); the tests count, through the module's seams, how often
an event is executed and how often its payload is serialised, and check that what every subscriber
would put on its socket is exactly what Strawberry's own encoding of the message would be.
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from beanie import PydanticObjectId
from graphql import ExecutionResult, FragmentDefinitionNode, OperationDefinitionNode, parse
from strawberry.types import ExecutionResult as StrawberryResult

from core.settings import Settings
from devtools.wsclient import RELOAD
from documents import Briefing, BriefingRequest, CaptionSource, ClassCount, User
from resolvers import briefings
from resolvers.context import Context
from schema import fanout
from schema.build import build_schema
from schema.fanout import FanoutExecutionContext, encode_message
from schema.subscription import to_gql

SUBSCRIBERS = 50
SEQ_AND_CAPTION = "subscription($a: Int) { reloadBriefing(after: $a) { ... on Briefing { seq caption } } }"
CAPTION_IF = (
    "subscription($a: Int, $c: Boolean!)"
    " { reloadBriefing(after: $a) { ... on Briefing { seq caption @include(if: $c) } } }"
)


def _briefing(seq: int) -> Briefing:
    return Briefing.model_construct(  # type: ignore[no-any-return]
        id=f"{'0' * 24}:{seq}",
        request_id=PydanticObjectId("0" * 24),
        seq=seq,
        captured_at=datetime(2026, 12, 2, 9, 0, seq, tzinfo=UTC),
        caption=f'현재 매장에는 남자 {seq}명이 있습니다. "quoted"',
        counts=[ClassCount(label="male", count=seq), ClassCount(label="female", count=0)],
        caption_source=CaptionSource.TEMPLATE,
        error=None,
    )


class Hub:
    """Stands in for the event hub: every subscriber's stream yields the objects put here, the same
    object to all of them."""

    def __init__(self) -> None:
        self.inboxes: list[asyncio.Queue[Briefing | None]] = []

    async def follow_request(self, **_: object) -> AsyncIterator[briefings.Event]:
        inbox: asyncio.Queue[Briefing | None] = asyncio.Queue()
        self.inboxes.append(inbox)
        while (event := await inbox.get()) is not None:
            yield event

    def announce(self, event: Briefing | None) -> None:
        for inbox in self.inboxes:
            inbox.put_nowait(event)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Hub:
    """The subscription resolvers, fed by a stand-in hub instead of Redis and the store."""
    stand_in = Hub()

    async def latest_request(**_: object) -> BriefingRequest:
        return BriefingRequest.model_construct(id=PydanticObjectId("0" * 24))  # type: ignore[no-any-return]

    monkeypatch.setattr(briefings, "latest_request", latest_request)
    monkeypatch.setattr(briefings, "follow_request", stand_in.follow_request)
    return stand_in


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every real execution of an event (the seam sharing saves), by its root value."""
    seen: list[object] = []
    real = fanout.execute_event

    def counting(executor: FanoutExecutionContext, serially: bool | None) -> Any:
        seen.append(executor.root_value)
        return real(executor, serially)

    monkeypatch.setattr(fanout, "execute_event", counting)
    return seen


@pytest.fixture
def serialised(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every GraphQL payload that was turned into JSON text (a `{"data": ...}` mapping)."""
    seen: list[object] = []
    real = fanout.dumps

    def counting(value: object) -> str:
        if isinstance(value, dict) and "data" in value:
            seen.append(value)
        return real(value)

    monkeypatch.setattr(fanout, "dumps", counting)
    return seen


@pytest.fixture
def schema() -> strawberry.Schema:
    """The API's schema, as the server builds it."""
    return build_schema(Settings())


async def _subscribe(
    schema: strawberry.Schema,
    count: int,
    query: str,
    variables: dict[str, object],
    messages: list[tuple[str, str]],
    *,
    legacy: bool = False,
    name: str = "op",
) -> list[asyncio.Task[None]]:
    """`count` subscriptions, each putting on its "socket" (`messages`) what the WS handler would send."""

    async def one(op: str) -> None:
        context = Context(services=None)  # type: ignore[arg-type]  # the stand-in hub needs no services
        context.user = User.model_construct(username="owner")
        stream = await schema.subscribe(query, variable_values=variables, context_value=context)
        assert not isinstance(stream, StrawberryResult), stream
        async for result in stream:
            payload: dict[str, object] = {"data": result.data}
            if result.errors:
                payload["errors"] = [error.formatted for error in result.errors]
            message = (
                {"type": "data", "id": op, "payload": payload}
                if legacy
                else {"id": op, "type": "next", "payload": payload}
            )
            messages.append((op, encode_message(message)))

    return [asyncio.create_task(one(f"{name}-{n}")) for n in range(count)]


async def _settle(hub: Hub, subscribers: int) -> None:
    while len(hub.inboxes) < subscribers:
        await asyncio.sleep(0.01)


async def _deliver(hub: Hub, messages: list[tuple[str, str]], event: Briefing, expected: int) -> None:
    before = len(messages)
    hub.announce(event)
    while len(messages) < before + expected:
        await asyncio.sleep(0.005)


@pytest.mark.asyncio
async def test_given_many_subscribers_of_one_live_event_then_it_is_executed_once_and_serialised_once(
    schema: strawberry.Schema, hub: Hub, executions: list[object], serialised: list[object]
) -> None:
    # given SUBSCRIBERS reloadBriefing subscriptions with the same document and variables
    messages: list[tuple[str, str]] = []
    tasks = await _subscribe(schema, SUBSCRIBERS, RELOAD, {"a": 0}, messages)
    await _settle(hub, SUBSCRIBERS)
    # when two live events reach every one of them (each the same object for all, as from the hub)
    for seq in (1, 2):
        await _deliver(hub, messages, _briefing(seq), SUBSCRIBERS)
    hub.announce(None)
    await asyncio.gather(*tasks)
    # then each event was executed once and its payload serialised once, for all subscribers
    assert len(executions) == 2
    assert len(serialised) == 2
    # and every subscriber's message is what Strawberry's own encoding would be, with its own id
    assert len(messages) == 2 * SUBSCRIBERS
    for op, text in messages:
        message = json.loads(text)
        assert text == json.dumps(message, separators=(",", ":"))
        assert (message["id"], message["type"]) == (op, "next")
    payloads = {json.dumps(json.loads(text)["payload"], sort_keys=True) for _, text in messages}
    assert len(payloads) == 2
    first = json.loads(messages[0][1])["payload"]["data"]["reloadBriefing"]
    assert (first["__typename"], first["seq"], first["counts"]) == (
        "Briefing",
        1,
        [{"label": "male", "count": 1}, {"label": "female", "count": 0}],
    )


@pytest.mark.asyncio
async def test_given_subscribers_with_different_documents_or_variables_then_each_operation_gets_its_own_result(
    schema: strawberry.Schema, hub: Hub, executions: list[object]
) -> None:
    # given four groups: one document with a variable that shapes the result set two ways, the same
    # document's stream argument set two ways, and a narrower document
    messages: list[tuple[str, str]] = []
    tasks = [
        *await _subscribe(schema, 3, CAPTION_IF, {"a": 0, "c": True}, messages, name="with"),
        *await _subscribe(schema, 3, CAPTION_IF, {"a": 0, "c": False}, messages, name="without"),
        *await _subscribe(schema, 3, CAPTION_IF, {"a": 5, "c": False}, messages, name="without-5"),
        *await _subscribe(schema, 5, SEQ_AND_CAPTION, {"a": 0}, messages, legacy=True, name="narrow"),
    ]
    await _settle(hub, 14)
    # when one live event reaches all fourteen
    event = _briefing(3)
    await _deliver(hub, messages, event, 14)
    hub.announce(None)
    await asyncio.gather(*tasks)
    # then it was executed once per (document, variables that shape the result), not once per
    # subscriber: `after` only chooses the stream, so the two "without" groups shared one
    assert len(executions) == 3
    assert all(value is to_gql(event) for value in executions)
    data = {op.rsplit("-", 1)[0]: json.loads(text)["payload"]["data"] for op, text in messages}
    assert data["with"] == {"reloadBriefing": {"seq": 3, "caption": event.caption}}
    assert data["without"] == data["without-5"] == {"reloadBriefing": {"seq": 3}}
    # and the narrower document got only its fields, in the legacy protocol's message shape
    narrow = [json.loads(text) for op, text in messages if op.startswith("narrow-")]
    assert len(narrow) == 5
    assert all(m["type"] == "data" for m in narrow)
    assert {json.dumps(m["payload"]) for m in narrow} == {
        json.dumps({"data": {"reloadBriefing": {"seq": 3, "caption": event.caption}}})
    }


def test_only_variables_below_the_subscription_field_shape_the_shared_result() -> None:
    # given an operation whose variables are used as the stream's argument, in a directive on a
    # nested field, and in a fragment
    document = parse(
        "subscription($a: Int, $c: Boolean!, $d: Boolean!, $e: Boolean!) {"
        " reloadBriefing(after: $a) @include(if: $e) { ...F ... on Briefing { seq @include(if: $c) } } }"
        " fragment F on Briefing { caption @skip(if: $d) }"
    )
    operation, fragment = document.definitions
    assert isinstance(operation, OperationDefinitionNode) and isinstance(fragment, FragmentDefinitionNode)
    # when the variables that can shape an event's result are told
    shaping = fanout._shaping_variables(operation, {"F": fragment})
    # then all but the stream's argument count
    assert shaping == {"c", "d", "e"}


@pytest.mark.asyncio
async def test_given_briefings_replayed_from_the_store_then_each_subscriber_executes_its_own(
    schema: strawberry.Schema, hub: Hub, executions: list[object]
) -> None:
    # given subscribers that each read the same briefing from the store (a fresh object each)
    messages: list[tuple[str, str]] = []
    tasks = await _subscribe(schema, 4, RELOAD, {"a": 0}, messages)
    await _settle(hub, 4)
    # when each receives its own copy
    for inbox in hub.inboxes:
        inbox.put_nowait(_briefing(7))
    while len(messages) < 4:
        await asyncio.sleep(0.005)
    hub.announce(None)
    await asyncio.gather(*tasks)
    # then nothing was shared, and all four messages carry the same payload all the same
    assert len(executions) == 4
    assert len({json.dumps(json.loads(text)["payload"]) for _, text in messages}) == 1


def test_a_message_that_is_not_a_shared_result_is_plain_json() -> None:
    # given messages Strawberry sends that carry no shared result (an ack, an error, a query result)
    messages: list[object] = [
        {"type": "connection_ack"},
        {"id": "1", "type": "error", "payload": [{"message": "Subscription limit reached"}]},
        {"id": "2", "type": "next", "payload": {"data": {"me": {"username": "é"}}}},
        {"data": None, "errors": [{"message": "x"}]},
    ]
    # then each is encoded exactly as Strawberry encodes JSON
    for message in messages:
        assert encode_message(message) == json.dumps(message, separators=(",", ":"))


def test_per_event_executors_do_not_grow_the_subscriptions_memo_of_collected_fields(schema: strawberry.Schema) -> None:
    # given a subscription's executor (graphql-core keys its memo of collected subfields by the
    # identity of lists that every event builds anew)
    built = FanoutExecutionContext.build(schema._schema, parse(RELOAD), raw_variable_values={"a": 0})
    assert isinstance(built, FanoutExecutionContext)
    # when it executes many events
    for seq in range(1, 21):
        result = built.build_per_event_executor(to_gql(_briefing(seq))).execute_operation(False)
        assert isinstance(result, ExecutionResult) and not result.errors, result
    # then its own memo stays empty: each event's executor had its own
    assert built._relevant_sub_fields == {}


class _Value:
    """A GraphQL value stand-in (weakly referenceable, as Strawberry objects are)."""

    def __init__(self, seq: int) -> None:
        self.seq = seq


def test_shared_values_are_forgotten_with_their_source() -> None:
    # given a value shared for a source object
    source = _briefing(9)
    value = fanout.shared_value(source, lambda doc: _Value(doc.seq))
    assert fanout.shared_value(source, lambda doc: _Value(doc.seq)) is value
    value_id = id(value)
    assert value_id in fanout._memos
    # when the source and the value go
    del source, value
    # then its memo goes with them
    assert value_id not in fanout._memos


@pytest.mark.asyncio
async def test_a_finished_subscription_lets_go_of_its_context_without_a_garbage_collection(
    schema: strawberry.Schema, hub: Hub
) -> None:
    # given the cycle collector off: what a finished operation held must go by reference counting,
    # or a server under reconnects keeps every closed socket's context until a full collection
    gc.collect()
    gc.disable()
    try:
        context = Context(services=None)  # type: ignore[arg-type]  # the stand-in hub needs no services
        context.user = User.model_construct(username="owner")
        held = weakref.ref(context)
        stream = await schema.subscribe(SEQ_AND_CAPTION, variable_values={"a": 0}, context_value=context)
        assert not isinstance(stream, StrawberryResult), stream
        del context
        # when it receives an event and then its stream ends
        receiving = asyncio.ensure_future(anext(stream))
        await _settle(hub, 1)
        hub.announce(_briefing(1))
        first = await receiving
        assert first.data == {"reloadBriefing": {"seq": 1, "caption": _briefing(1).caption}}
        hub.announce(None)
        assert [result async for result in stream] == []
        del stream, first, receiving
        # then its context is gone already
        assert held() is None
    finally:
        gc.enable()
