"""Work off the caller's path (`core.background`): held until done, once at a time per key, failures logged."""

from __future__ import annotations

import asyncio

import pytest

from core.background import Background


@pytest.mark.asyncio
async def test_work_already_under_way_for_a_key_is_not_started_again() -> None:
    # given a refresh of "a" that is still running
    background = Background[str]()
    release = asyncio.Event()
    started: list[list[str]] = []

    async def refresh(keys: list[str]) -> None:
        started.append(keys)
        await release.wait()

    background.run(["a"], refresh, what="refresh")
    await asyncio.sleep(0)
    # when "a" and "b" are asked for again
    background.run(["a", "b"], refresh, what="refresh")
    await asyncio.sleep(0)
    # then only "b" starts; once both are done, "a" can start again
    assert started == [["a"], ["b"]]
    release.set()
    await asyncio.sleep(0.01)
    background.run(["a"], refresh, what="refresh")
    await asyncio.sleep(0)
    assert started[-1] == ["a"]


@pytest.mark.asyncio
async def test_a_failure_is_logged_and_frees_its_key(caplog: pytest.LogCaptureFixture) -> None:
    background = Background[str]()
    calls = 0

    async def broken(keys: list[str]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("store unreachable")

    background.run(["a"], broken, what="re-reading")
    await asyncio.sleep(0.01)
    assert "re-reading failed: store unreachable" in caplog.text
    background.run(["a"], broken, what="re-reading")
    await asyncio.sleep(0.01)
    assert calls == 2
