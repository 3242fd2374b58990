"""The schema's extension runner skips per-result work only where it has nothing to do."""

from __future__ import annotations

import pytest
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult

from core.settings import Settings
from schema.build import LeanExtensionsRunner, build_schema


class _EveryResult(SchemaExtension):
    """An extension that wants to see every streamed result, errors or not."""

    seen = 0

    def on_stream_result(self, result: object) -> None:  # type: ignore[override]
        type(self).seen += 1


def _runner(*extra: SchemaExtension) -> tuple[LeanExtensionsRunner, ExecutionContext]:
    schema = build_schema(Settings(introspection=False))
    context = ExecutionContext(query="subscription { x }", schema=schema, allowed_operations=())
    return LeanExtensionsRunner(execution_context=context, extensions=[*schema.get_extensions(), *extra]), context


@pytest.mark.asyncio
async def test_a_result_with_an_unexpected_error_is_still_masked_and_coded() -> None:
    # given the schema's own extensions
    runner, context = _runner()
    leak = RuntimeError("database password is hunter2")
    result = ExecutionResult(data=None, errors=[GraphQLError(str(leak), path=["x"], original_error=leak)])
    context.result = result
    # when a streamed result carries an unexpected error
    async with runner.on_stream_result(result):
        pass
    # then it reaches the client masked, with its code
    assert result.errors is not None
    assert [error.message for error in result.errors] == ["Internal server error"]
    assert result.errors[0].extensions == {"code": "INTERNAL"}


@pytest.mark.asyncio
async def test_an_extension_that_sees_every_result_still_sees_results_without_errors() -> None:
    # given an extension beside the schema's that hooks every streamed result
    extension = _EveryResult(execution_context=None)
    runner, _ = _runner(extension)
    # when a result without errors is streamed
    async with runner.on_stream_result(ExecutionResult(data={"x": 1}, errors=None)):
        pass
    # then its hook ran
    assert _EveryResult.seen == 1
