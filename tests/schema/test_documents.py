"""Documents parsed and validated once per text, in process against the real schema."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema
from graphql import parse

from core.settings import Settings
from schema.build import build_schema
from schema.documents import DocumentCache


@pytest.fixture
def schema() -> strawberry.Schema:
    """The API's schema, as the server builds it (introspection off, as in production)."""
    return build_schema(Settings(introspection=False))


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times Strawberry parsed and validated a document."""
    counts = {"parse": 0, "validate": 0}
    real_validate = strawberry_schema.validate_document  # Strawberry's parse is graphql-core's

    def parse_counted(*args: Any, **kwargs: Any) -> Any:
        counts["parse"] += 1
        return parse(*args, **kwargs)

    def validate_counted(*args: Any, **kwargs: Any) -> Any:
        counts["validate"] += 1
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "parse", parse_counted)
    monkeypatch.setattr(strawberry_schema, "validate_document", validate_counted)
    return counts


def _messages(result: Any) -> list[str]:
    return [error.message for error in result.errors or []]


@pytest.mark.asyncio
async def test_given_the_same_valid_text_three_times_then_it_is_parsed_and_validated_once(
    schema: strawberry.Schema, work: dict[str, int]
) -> None:
    # when one valid document is executed three times
    results = [await schema.execute("query Ping { __typename }") for _ in range(3)]
    # then every answer is the same and the document was parsed and validated once
    assert [(r.data, r.errors) for r in results] == [({"__typename": "Query"}, None)] * 3
    assert work == {"parse": 1, "validate": 1}


@pytest.mark.asyncio
async def test_given_invalid_texts_then_every_operation_reports_its_errors_as_without_the_cache(
    schema: strawberry.Schema, work: dict[str, int]
) -> None:
    # when an unknown field, a syntax error and introspection (off here) are each sent twice
    texts = ["{ nope }", "{ __typename", "{ __schema { queryType { name } } }"]
    first = [_messages(await schema.execute(text)) for text in texts]
    second = [_messages(await schema.execute(text)) for text in texts]
    # then each fails both times with the same errors, and nothing invalid was kept
    assert all(first) and first == second
    assert work == {"parse": 6, "validate": 4}


@pytest.mark.asyncio
async def test_the_token_limit_still_applies_to_new_texts(schema: strawberry.Schema) -> None:
    # given a valid document that is served from the cache
    assert not (await schema.execute("{ __typename }")).errors
    # when a document over the token limit arrives
    crowded = "{ " + " ".join(f"a{n}: __typename" for n in range(Settings().max_tokens)) + " }"
    # then it is refused
    assert _messages(await schema.execute(crowded))


def test_the_cache_keeps_the_most_recently_used_documents_up_to_its_size() -> None:
    # given a cache of two documents
    cache = DocumentCache(size=2, max_text=20)
    keys = [(f"{{ a{n} }}", ()) for n in range(3)]
    for key in keys[:2]:
        cache.keep(key, parse(key[0]))
    # when the first is used and a third arrives, and a text over the size limit is offered
    assert cache.get(keys[0]) is not None
    cache.keep(keys[2], parse(keys[2][0]))
    cache.keep(("{ " + "b " * 20 + "}", ()), parse("{ b }"))
    # then the least recently used one went, and the long text was not kept
    assert [cache.get(key) is not None for key in keys] == [True, False, True]
    assert len(cache) == 2
