"""The per-user hourly LLM budget, kept in Redis and shared by every worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from openai import AsyncOpenAI
from redis.asyncio import Redis

from language.captions import write_caption
from language.llm import SUMMARY_HEADROOM, LLMClient
from tests.language.fake_openai import FakeOpenAI, Reply

COUNTS = {"male": 2, "female": 1}
FAITHFUL = Reply.text("현재 매장에는 남자 2명, 여자 1명이 계십니다.")


async def caption_source(llm: LLMClient, *, user_id: str = "u1") -> str:
    caption = await write_caption(
        counts=COUNTS,
        camera_name="입구",
        local_time=datetime(2024, 5, 1, 15, 5),
        custom=[],
        llm=llm,
        user_id=user_id,
    )
    return caption.source


async def calls_this_hour(redis: Redis, *, user_id: str) -> int:
    """What the budget counter in Redis says the user spent this clock hour (any hour key)."""
    total = 0
    async for key in redis.scan_iter(match=f"briefing:llm-calls:{user_id}:*"):
        total += int(await redis.get(key) or 0)
    return total


def client_at(*, fake: FakeOpenAI, redis: Redis, now: list[float], calls_per_hour: int) -> LLMClient:
    return LLMClient(
        openai_client=AsyncOpenAI(api_key="k", base_url=fake.base_url, max_retries=0),
        redis=redis,
        caption_model="m",
        summary_model="m",
        caption_timeout_seconds=1,
        summary_timeout_seconds=1,
        calls_per_hour=calls_per_hour,
        clock=lambda: now[0],
    )


@pytest.mark.asyncio
async def test_captions_beyond_the_hourly_budget_use_the_template(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient], redis: Redis
) -> None:
    # given a budget of 3 calls per hour and an LLM that always answers well
    fake_openai.set_default(FAITHFUL)
    llm = make_llm(llm_calls_per_hour=3)
    # when five captions are written
    sources = [await caption_source(llm) for _ in range(5)]
    # then the first three come from the LLM, the rest from the template without a request
    assert sources == ["LLM", "LLM", "LLM", "TEMPLATE", "TEMPLATE"]
    assert len(fake_openai.requests) == 3
    assert await calls_this_hour(redis, user_id="u1") == 3


@pytest.mark.asyncio
async def test_the_budget_is_shared_by_workers_through_redis(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]
) -> None:
    # given two workers (two clients) on the same Redis, with a budget of 4
    fake_openai.set_default(FAITHFUL)
    first, second = make_llm(llm_calls_per_hour=4), make_llm(llm_calls_per_hour=4)
    # when each writes three captions for the same user
    sources = [await caption_source(worker) for worker in (first, second) * 3]
    # then only four LLM calls are made between them
    assert sources.count("LLM") == 4
    assert len(fake_openai.requests) == 4


@pytest.mark.asyncio
async def test_the_budget_is_per_user(fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    # given a budget of 1 that user a has spent
    fake_openai.set_default(FAITHFUL)
    llm = make_llm(llm_calls_per_hour=1)
    assert await caption_source(llm, user_id="a") == "LLM"
    # when users a and b ask again / then only b gets the LLM
    assert await caption_source(llm, user_id="a") == "TEMPLATE"
    assert await caption_source(llm, user_id="b") == "LLM"


@pytest.mark.asyncio
async def test_the_budget_refills_in_the_next_clock_hour(fake_openai: FakeOpenAI, redis: Redis) -> None:
    # given a budget of 1 spent at 10:59:59
    fake_openai.set_default(FAITHFUL)
    now = [10 * 3600 + 3599.0]
    llm = client_at(fake=fake_openai, redis=redis, now=now, calls_per_hour=1)
    assert [await caption_source(llm), await caption_source(llm)] == ["LLM", "TEMPLATE"]
    # when the clock reaches 11:00:00 / then the LLM is used again
    now[0] += 1
    assert await caption_source(llm) == "LLM"
    # and the hour's counter expires by itself
    keys = await redis.keys("briefing:llm-calls:*")
    ttls = [await redis.ttl(key) for key in keys]
    assert len(keys) == 2
    assert all(0 < ttl <= 7200 for ttl in ttls)
    await llm.aclose()


@pytest.mark.asyncio
async def test_summaries_keep_a_small_headroom_beyond_the_caption_budget(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient], redis: Redis
) -> None:
    # given captions that spent the whole budget of 2, and a refused caption that is not counted
    fake_openai.set_default(FAITHFUL)
    llm = make_llm(llm_calls_per_hour=2)
    assert [await caption_source(llm) for _ in range(3)] == ["LLM", "LLM", "TEMPLATE"]
    # when summaries ask / then they may use SUMMARY_HEADROOM more calls, and no more
    granted = [await llm.try_spend(user_id="u1", purpose="summary") for _ in range(SUMMARY_HEADROOM + 1)]
    assert granted == [True] * SUMMARY_HEADROOM + [False]
    assert await calls_this_hour(redis, user_id="u1") == 2 + SUMMARY_HEADROOM


@pytest.mark.asyncio
async def test_a_zero_budget_disables_the_llm(fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    # given BRIEFING_LLM_CALLS_PER_HOUR=0 / when captions and summaries ask / then nothing is sent
    llm = make_llm(llm_calls_per_hour=0)
    assert await caption_source(llm) == "TEMPLATE"
    assert not await llm.try_spend(user_id="u1", purpose="summary")
    assert fake_openai.requests == []


@pytest.mark.asyncio
async def test_an_unreachable_redis_refuses_the_call_instead_of_failing_the_caption(
    fake_openai: FakeOpenAI,
) -> None:
    # given a Redis nobody listens on
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    llm = client_at(fake=fake_openai, redis=dead, now=[0.0], calls_per_hour=10)
    # when a caption is written / then it is the template, and no LLM call was made
    assert await caption_source(llm) == "TEMPLATE"
    assert fake_openai.requests == []
    await llm.aclose()
    await dead.aclose()
