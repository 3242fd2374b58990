"""Group commit with a bound on batches in flight: the busier the store, the larger the batches."""

from __future__ import annotations

import asyncio

import pytest

from core.coalesce import Coalescer


@pytest.mark.asyncio
async def test_reads_arriving_while_the_bound_is_reached_go_out_together_once_a_batch_returns() -> None:
    # given a batch function that is slow, and at most one batch in flight
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        await release.wait()
        return [item * 10 for item in items]

    coalescer = Coalescer[int, int](flush=flush, window=0.001, max_in_flight=1)
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0.01)
    # when three more items arrive, each after its own window, while the first batch runs
    later = []
    for item in (2, 3, 4):
        later.append(asyncio.create_task(coalescer.submit(item)))
        await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(first, *later)
    # then they went out as one batch after the first, and every caller got its own result
    assert batches == [[1], [2, 3, 4]]
    assert results == [10, 20, 30, 40]
