"""Assembles the Strawberry schema with its hardening extensions."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as query_depth_rule
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, StreamExecutionResult
from strawberry.utils.await_maybe import await_maybe

from core.settings import Settings
from resolvers.errors import ErrorCode, is_coded
from schema.documents import DocumentCache, SharedDocuments
from schema.fanout import FanoutExecutionContext
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class CodedMaskErrors(MaskErrors):
    """Masks unexpected errors as `INTERNAL`; our coded errors pass through untouched."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_should_mask, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL.value}
        return masked

    def _process_result(self, result: object) -> None:
        # Strawberry checks every streamed result against a runtime protocol first, which costs more
        # than the rest of a live event's delivery; a result without errors has nothing to mask.
        if getattr(result, "errors", None):
            super()._process_result(result)


def _should_mask(error: GraphQLError) -> bool:
    return _unexpected(error)


def _unexpected(error: GraphQLError) -> bool:
    """A server fault: an exception raised while resolving a field. Errors without a path arose
    before execution (a variable of the wrong type, 2^31 for an Int): the client's mistake."""
    return error.original_error is not None and error.path is not None and not is_coded(error)


class CodeEveryError(SchemaExtension):
    """Gives every remaining error (parse, validation, limits, permissions) an `extensions.code`."""

    def on_operation(self) -> Iterator[None]:
        yield
        _code_errors(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        _code_errors(result)  # over the WebSocket a result is sent before `on_operation` resumes
        yield


def _code_errors(result: object) -> None:
    for error in getattr(result, "errors", None) or []:
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_USER_INPUT.value}


class NoSuggestions(SchemaExtension):
    """Drops graphql-core's "Did you mean …?" hints (argument, type and enum names), which describe a
    schema that production does not publish (`disable_field_suggestions` covers fields only)."""

    def on_operation(self) -> Iterator[None]:
        yield
        _drop_suggestions(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        _drop_suggestions(result)  # over the WebSocket a result is sent before `on_operation` resumes
        yield


def _drop_suggestions(result: object) -> None:
    for error in getattr(result, "errors", None) or []:
        error.message = _SUGGESTION.sub("", error.message)


_ERRORS_ONLY_STREAM_HOOKS: tuple[type[SchemaExtension], ...] = (MaskErrors, CodeEveryError, NoSuggestions)
"""Extensions whose `on_stream_result` hook only touches a result's errors."""


class LeanExtensionsRunner(SchemaExtensionsRunner):
    """Strawberry's runner, without the per-result work that has nothing to do.

    Every subscription event passes through `on_stream_result` and `get_extensions_results` once per
    subscriber: a thousand subscribers of one briefing made them a fifth of the API's time per event.
    A result without errors skips the stream hooks when each extension's hook only handles errors,
    and only extensions that override `get_results` are asked for results."""

    def __init__(self, *, execution_context: ExecutionContext, extensions: list[SchemaExtension]) -> None:
        super().__init__(execution_context=execution_context, extensions=extensions)
        self._errors_only = all(
            isinstance(extension, _ERRORS_ONLY_STREAM_HOOKS)
            or type(extension).on_stream_result is SchemaExtension.on_stream_result
            for extension in extensions
        )
        self._with_results = [
            extension for extension in extensions if type(extension).get_results is not SchemaExtension.get_results
        ]

    def on_stream_result(self, result: StreamExecutionResult) -> Any:
        """The extensions' stream hooks, skipped for a result without errors when they only handle errors."""
        if self._errors_only and not getattr(result, "errors", None):
            return _NOTHING_TO_DO
        return super().on_stream_result(result)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        """What the extensions that report results report, and the context's own results."""
        data: dict[str, Any] = {}
        for extension in self._with_results:
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data


_NOTHING_TO_DO = contextlib.nullcontext()


class BriefingSchema(strawberry.Schema):
    """Logs only unexpected errors: a refused login or a bad argument is not a server fault."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Our runner (`LeanExtensionsRunner`)."""
        return LeanExtensionsRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [error for error in errors if _unexpected(error)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The API schema, hardened per settings (depth, aliases, tokens, introspection, suggestions).

    Valid documents are parsed and validated once per text (`schema.documents`); subscription events
    of a shared value are executed once per operation (`schema.fanout`)."""
    documents = DocumentCache()
    # The rules of QueryDepthLimiter, MaxAliasesLimiter and DisableIntrospection, built once: those
    # extensions build a new rule class for every operation, which a subscription keeps while it runs.
    rules: list[type[ASTValidationRule]] = [
        query_depth_rule(settings.max_query_depth, None, None),
        max_aliases_rule(settings.max_aliases),
    ]
    if not settings.introspection_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: SharedDocuments(documents),
        CodeEveryError,
        CodedMaskErrors,
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
    ]
    if not settings.introspection_enabled:
        extensions.append(NoSuggestions)
    return BriefingSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=FanoutExecutionContext,
    )
