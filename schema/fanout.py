"""Live fan-out: a live event is executed once and serialised once, however many subscribe to it.

The event hub hands every local subscriber of a request the same parsed event object and the
same `Briefing` built from it (`briefings.events`). Three steps keep that sharing all the way to
the socket, leaving Strawberry and both WebSocket protocols as they are:

1. `shared_value(source, build)` maps a source object to its GraphQL value once, by identity, for
   as long as the source lives, and marks the value as shared. The subscription root maps every
   `Briefing` through it, so the subscribers of a live event yield one and the same value; a
   briefing replayed from the store is a fresh object per subscriber, and so is executed per
   subscriber.
2. `FanoutExecutionContext`, the schema's execution context class, executes a shared value once
   per operation key (document text, operation name, and the variables that can change the result:
   all but the subscription field's own arguments, which only choose the stream) and hands the same
   `ExecutionResult` to every subscriber with that key. A result with errors is not shared: each
   subscriber executes for itself and its errors are masked as usual.
3. `encode_message`, the view's JSON encoder, serialises the payload of a shared result once and
   builds each socket's message around it by string concatenation: only the operation id (and
   the protocol's message type) differ between sockets. The text is the one `json.dumps` would
   write for the whole message.

A value may be shared only if no field of its type reads the context (the user, the
connection): its result is the same for every subscriber. The live event types are plain data.
Everything is held weakly: the memo of a value goes when the value goes, and the value when its
source goes (once every subscriber has sent the event).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from json.encoder import encode_basestring_ascii
from typing import Any, Final, TypeVar, cast

from graphql import ExecutionResult, GraphQLResolveInfoHelpers
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.pyutils import AwaitableOrValue, is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

S = TypeVar("S")
V = TypeVar("V")

OperationKey = tuple[int, str, str, str]
"""(schema, document text, operation name, variables as canonical JSON)."""

_SEPARATORS: Final = (",", ":")


def dumps(value: object) -> str:
    """JSON text as Strawberry's views write it (compact separators, ASCII)."""
    return json.dumps(value, separators=_SEPARATORS)


@dataclass(eq=False)
class _Memo:
    """What the subscribers of one shared value share: one result (or its pending execution) per operation."""

    results: dict[OperationKey, ExecutionResult | asyncio.Future[ExecutionResult]] = field(default_factory=dict)
    payload_ids: list[int] = field(default_factory=list)


# id(source) -> the value built for it; id(value) -> its memo; id(result data) -> (data, payload JSON).
# Entries leave with their objects (weakref finalizers), so an id here always names a live object.
_values: dict[int, object] = {}
_memos: dict[int, _Memo] = {}
_payloads: dict[int, tuple[object, str | None]] = {}


def shared_value(source: S, build: Callable[[S], V]) -> V:
    """The GraphQL value of `source`, built on first use and shared by whoever maps the same object.

    Objects that cannot be weakly referenced are built afresh on every call (and not shared)."""
    found = _values.get(id(source))
    if found is not None:
        return cast("V", found)
    value = build(source)
    try:
        weakref.finalize(source, _values.pop, id(source), None)
    except TypeError:
        return value
    try:
        weakref.finalize(value, _forget, id(value))
    except TypeError:
        _values[id(source)] = value
        return value
    _values[id(source)] = value
    _memos[id(value)] = _Memo()
    return value


def _forget(value_id: int) -> None:
    memo = _memos.pop(value_id, None)
    if memo is not None:
        for data_id in memo.payload_ids:
            _payloads.pop(data_id, None)


def execute_event(executor: FanoutExecutionContext, serially: bool | None) -> AwaitableOrValue[ExecutionResult]:
    """Execute one event for real (Strawberry's executor); the step that sharing saves."""
    return cast(
        "AwaitableOrValue[ExecutionResult]",
        StrawberryGraphQLCoreExecutionContext.execute_operation(executor, serially),
    )


def _share(memo: _Memo, result: ExecutionResult) -> ExecutionResult:
    """Register a result's data so that its payload is serialised once."""
    if result.errors is None and isinstance(result.data, dict) and id(result.data) not in _payloads:
        _payloads[id(result.data)] = (result.data, None)
        memo.payload_ids.append(id(result.data))
    return result


class FanoutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, executing each shared subscription event once per operation key.

    Per-event executors of a shared value look their result up in the value's memo; everything
    else (queries, mutations, values that are not shared) executes exactly as in Strawberry.
    graphql-core runs a per-event executor with `serially=False` only, so the key leaves it out.
    """

    _fanout_memo: _Memo | None = None
    _fanout_key: OperationKey | None = None
    _fanout_key_done: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """graphql-core's executor, with its resolver helpers bound to it weakly.

        graphql-core binds them strongly (executor -> helpers -> bound methods -> executor): a
        reference cycle, so a finished operation's executor, and with it the context, the
        connection and everything they hold, waited for a full garbage collection instead of
        going when the operation ended. Under reconnects that kept hundreds of closed sockets
        alive at once and fragmented the heap."""
        super().__init__(*args, **kwargs)
        this = weakref.proxy(self)
        cls = type(self)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=partial(cls.gather_async_work, this), track=partial(cls.track_async_work, this)
        )

    def build_per_event_executor(self, payload: Any) -> FanoutExecutionContext:
        """The executor of one event: a ready result when the event was executed for this operation
        already, else Strawberry's per-event copy (told the memo of `payload` when it is shared).

        The copy gets its own memo of collected subfields: graphql-core's copy shares the
        subscription's, which is keyed by the identity of lists built anew for every event, so it
        would grow with every event for as long as the subscription lives."""
        memo = _memos.get(id(payload))
        key = self._operation_key() if memo is not None else None
        if memo is not None and key is not None:
            found = memo.results.get(key)
            if isinstance(found, ExecutionResult):
                return _Ready(found)
        executor = cast("FanoutExecutionContext", super().build_per_event_executor(payload))
        executor._relevant_sub_fields = {}
        if memo is not None and key is not None:
            executor._fanout_memo = memo
            executor._fanout_key = key
        return executor

    def _operation_key(self) -> OperationKey | None:
        """What makes two subscriptions' results equal for the same event (computed once per
        subscription); None when it cannot be told.

        Only the variables that can shape an event's result count: the subscription field's own
        arguments choose the stream (its per-event resolver returns the event as it is), so
        `reloadBriefing(after: $a)` subscribers resuming from different points share each live
        event's execution."""
        if not self._fanout_key_done:
            self._fanout_key_done = True
            location = self.operation.loc
            shaping = _shaping_variables(self.operation, self.fragment_definitions)
            coerced = self.variable_values.coerced
            try:
                variables = json.dumps(
                    {name: value for name, value in coerced.items() if name in shaping},
                    sort_keys=True,
                    separators=_SEPARATORS,
                )
            except (TypeError, ValueError):
                return None
            if location is not None:
                name = self.operation.name.value if self.operation.name else ""
                self._fanout_key = (id(self.schema), location.source.body, name, variables)
        return self._fanout_key

    def execute_operation(self, serially: bool | None = None) -> Any:
        """The result of this event and operation: executed by the first subscriber, shared by the rest."""
        memo, key = self._fanout_memo, self._fanout_key
        if memo is None or key is None:
            return super().execute_operation(serially)
        found = memo.results.get(key)
        if isinstance(found, ExecutionResult):
            return found
        if found is not None:
            return self._await_shared(memo, key, found, own=False)
        result = execute_event(self, serially)
        if is_awaitable(result):
            future = asyncio.ensure_future(cast("Awaitable[ExecutionResult]", result))
            memo.results[key] = future
            return self._await_shared(memo, key, future, own=True)
        done = cast("ExecutionResult", result)
        if done.errors is None:
            memo.results[key] = _share(memo, done)
        return done

    async def _await_shared(
        self, memo: _Memo, key: OperationKey, future: asyncio.Future[ExecutionResult], *, own: bool
    ) -> ExecutionResult:
        """Wait for the execution a subscriber started (shielded from this one's cancellation).

        A result with errors is not shared: the others execute for themselves."""
        try:
            result = await asyncio.shield(future)
        except Exception:
            memo.results.pop(key, None)
            raise
        if result.errors is None:
            memo.results[key] = _share(memo, result)
            return result
        memo.results.pop(key, None)
        if own:
            return result
        again = execute_event(self, False)
        if is_awaitable(again):
            return await cast("Awaitable[ExecutionResult]", again)
        return cast("ExecutionResult", again)


def _shaping_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> frozenset[str]:
    """Names of the variables used anywhere in the operation but in its root fields' arguments
    (directives, nested arguments, fragments), which can change what an event executes to."""
    found = _Variables()

    def root(selection: SelectionNode) -> None:
        for directive in selection.directives or ():
            visit(directive, found)
        if isinstance(selection, FieldNode):
            if selection.selection_set is not None:
                visit(selection.selection_set, found)
        elif isinstance(selection, InlineFragmentNode):
            for inner in selection.selection_set.selections:
                root(inner)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            for inner in fragments[selection.name.value].selection_set.selections:
                root(inner)

    for directive in operation.directives or ():
        visit(directive, found)
    for selection in operation.selection_set.selections:
        root(selection)
    # every fragment counts whole: one spread at the root adds its fields' arguments too, which only shares less
    for fragment in fragments.values():
        visit(fragment.selection_set, found)
    return frozenset(found.names)


class _Variables(Visitor):
    """Collects the names of the variables a visited node uses."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        """Note a variable."""
        self.names.add(node.name.value)


class _Ready(FanoutExecutionContext):
    """The per-event executor of an event already executed for the operation: it only returns the result.

    Nothing of the subscription's executor is copied; graphql-core calls nothing but
    `execute_operation` on a per-event executor."""

    def __init__(self, result: ExecutionResult) -> None:  # no executor state: there is nothing to execute
        self._result = result

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        """The shared result."""
        return self._result


def encode_message(message: object) -> str:
    """A WebSocket message as JSON; the payload of a shared result is serialised once for all sockets.

    The text equals `dumps(message)`: the message's keys in order, with the memoised payload text
    spliced in where the payload goes."""
    if type(message) is dict and all(type(key) is str for key in message):
        payload = message.get("payload")
        if type(payload) is dict and len(payload) == 1:
            data = payload.get("data")
            entry = _payloads.get(id(data))
            if entry is not None and entry[0] is data:
                text = entry[1]
                if text is None:
                    text = dumps(payload)
                    _payloads[id(data)] = (data, text)
                return _splice(message, text)
    return dumps(message)


def _splice(message: Mapping[str, object], payload_text: str) -> str:
    parts = []
    for key, value in message.items():
        if key == "payload":
            text = payload_text
        elif type(value) is str:
            text = encode_basestring_ascii(value)  # what json.dumps writes for a string
        else:
            text = dumps(value)
        parts.append(f"{encode_basestring_ascii(key)}:{text}")
    return "{" + ",".join(parts) + "}"
