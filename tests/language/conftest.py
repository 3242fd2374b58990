"""Fixtures for the language tests: a throwaway Redis, the fake OpenAI server, an LLM client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from core.settings import Settings
from devtools.services import start_redis
from language.llm import LLMClient, build_llm_client
from tests.language.fake_openai import FakeOpenAI


@pytest.fixture(scope="session")
def language_redis_url() -> Iterator[str]:
    """TEST_REDIS_URL when set, else a private redis-server on a free port for this session.

    Not named ``redis_url``: the root conftest would then start FerretDB for these tests too.
    """
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    service = start_redis()
    try:
        yield service.url
    finally:
        service.stop()


@pytest_asyncio.fixture
async def redis(language_redis_url: str) -> AsyncIterator[Redis]:
    """An async Redis client on an emptied database."""
    client = Redis.from_url(language_redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """The scripted OpenAI-compatible server (answers 500 once its script runs out)."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def make_settings(fake_openai: FakeOpenAI) -> Callable[..., Settings]:
    """Settings pointing at the fake server, with short timeouts and no retries unless overridden."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "openai_api_key": "test-key",
            "openai_base_url": fake_openai.base_url,
            "caption_model": "caption-test-model",
            "summary_model": "summary-test-model",
            "caption_timeout_seconds": 1.0,
            "summary_timeout_seconds": 1.0,
            "llm_max_retries": 0,
            "llm_calls_per_hour": 100,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest_asyncio.fixture
async def make_llm(redis: Redis, make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., LLMClient]]:
    """Build LLM clients on the fake server (closed after the test)."""
    built: list[LLMClient] = []

    def make(**overrides: Any) -> LLMClient:
        client = build_llm_client(make_settings(**overrides), redis)
        assert client is not None
        built.append(client)
        return client

    yield make
    for client in built:
        await client.aclose()
