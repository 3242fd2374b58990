"""Captions: the template's shapes, and the LLM path through a real HTTP client to the fake server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from language.captions import DEFAULT_CUSTOM, Caption, check_caption, template_caption, write_caption
from language.llm import LLMClient
from tests.language.fake_openai import FakeOpenAI, RecordedRequest, Reply

AT = datetime(2024, 5, 1, 15, 5)
COUNTS = {"male": 2, "female": 1}
DEFAULT = list(DEFAULT_CUSTOM)
ENGLISH = ["Please answer in English", "Be polite", "Keep it short"]


def template(counts: dict[str, int], custom: list[str], camera: str = "입구") -> str:
    return template_caption(counts=counts, camera_name=camera, local_time=AT, custom=custom)


# --- template ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "custom", "expected"),
    [
        (COUNTS, DEFAULT, "현재 매장에는 남자 2명, 여자 1명이 있습니다."),
        ({"male": 0, "female": 0}, DEFAULT, "현재 매장에는 아무도 없습니다."),
        ({"male": 0, "female": 3}, DEFAULT, "현재 매장에는 여자 3명이 있습니다."),
        ({"person": 4}, DEFAULT, "현재 매장에는 손님 4명이 있습니다."),
        (COUNTS, ["반말로 해줘", "짧게"], "지금 매장에 남자 2명, 여자 1명이 있어."),
        (COUNTS, ENGLISH, "There are 2 men and 1 woman in the store right now."),
        ({"male": 1, "female": 0}, ENGLISH, "There is 1 man in the store right now."),
        ({"female": 2}, ENGLISH, "There are 2 women in the store right now."),
        ({"person": 1}, ENGLISH, "There is 1 person in the store right now."),
        ({"person": 3}, ENGLISH, "There are 3 people in the store right now."),
        ({"male": 0, "female": 0}, ENGLISH, "There is nobody in the store right now."),
        (COUNTS, ["영어로", "casual", "short"], "Right now the store has 2 men and 1 woman."),
    ],
)
def test_template_caption_reads_naturally_in_every_shape(
    counts: dict[str, int], custom: list[str], expected: str
) -> None:
    # given counts and instructions / when the template writes / then it reads as expected
    assert template(counts, custom) == expected


@pytest.mark.parametrize(
    ("counts", "custom", "expected"),
    [
        ({"male": 1, "female": 1}, ENGLISH, "There is 1 man and 1 woman in the store right now."),
        ({"male": 1, "female": 2}, ENGLISH, "There is 1 man and 2 women in the store right now."),
        ({"male": 2, "female": 1}, ENGLISH, "There are 2 men and 1 woman in the store right now."),
        ({"male": 0, "female": 1}, ENGLISH, "There is 1 woman in the store right now."),
        (
            {"male": 1, "female": 1},
            ["English", "polite"],
            "As of 3:05 PM, there is 1 man and 1 woman (2 in total) in the store, according to the 입구 camera.",
        ),
        (
            {"male": 1, "female": 1},
            ["English", "casual"],
            "It's 3:05 PM and the 입구 camera shows 1 man and 1 woman (2 in total) in the store.",
        ),
        ({"male": 1, "female": 1}, DEFAULT, "현재 매장에는 남자 1명, 여자 1명이 있습니다."),
        ({"male": 1}, ["반말", "짧게"], "지금 매장에 남자 1명이 있어."),
        ({"male": 1, "dog": 1}, ["English", "short"], "There is 1 man and 1 dog in the store right now."),
    ],
)
def test_template_caption_agrees_in_number_with_what_it_names_first(
    counts: dict[str, int], custom: list[str], expected: str
) -> None:
    # given counts of one (issue 11: "There are 1 man and 1 woman") / when the template writes
    text = template(counts, custom)
    # then "there is/are" agrees with the first thing named, and the caption stays faithful
    assert text == expected
    assert check_caption(text, counts=counts, camera_name="입구").ok, text


def test_template_caption_without_brevity_adds_time_camera_and_total() -> None:
    # given instructions that do not ask for brevity
    text = template(COUNTS, ["공손하게 말해줘"])
    # then the time, the camera and the total are added
    assert text == "오후 3시 5분, 입구 카메라 기준으로 현재 매장에는 남자 2명, 여자 1명(총 3명)이 있습니다."


def test_template_caption_for_unknown_labels_names_them_literally() -> None:
    # given a detector class outside the synonym table
    text = template({"male": 1, "dog": 2}, DEFAULT)
    # then it is named literally with the right particle
    assert text == "현재 매장에는 남자 1명, dog 2개가 있습니다."


@pytest.mark.parametrize(
    "counts",
    [COUNTS, {"male": 0, "female": 0}, {"male": 5}, {"person": 1}, {"person": 2, "staff": 1}, {}],
)
@pytest.mark.parametrize("custom", [DEFAULT, ENGLISH, ["반말"], [], ["English", "casual"], ["Cam 9 기준으로 말해줘"]])
def test_template_caption_always_passes_the_validator(counts: dict[str, int], custom: list[str]) -> None:
    # given any counts and instructions, and a camera name with a digit in it
    text = template(counts, custom, camera="Cam 9")
    # when checked / then the template is faithful
    assert check_caption(text, counts=counts, camera_name="Cam 9").ok, text


# --- LLM path ---------------------------------------------------------------------------------


async def caption(llm: LLMClient | None, counts: dict[str, int] = COUNTS, custom: list[str] = DEFAULT) -> Caption:
    return await write_caption(counts=counts, camera_name="입구", local_time=AT, custom=custom, llm=llm, user_id="u1")


@pytest.mark.asyncio
async def test_faithful_llm_caption_is_used_and_the_prompt_carries_counts_and_instructions(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]
) -> None:
    # given an LLM that answers faithfully
    fake_openai.script(Reply.text("지금 매장에는 남성 손님 2분과 여성 손님 1분이 계십니다."))
    custom = ["한국어로 말해줘", "손님을 높여서 불러줘"]
    # when a caption is written
    result = await caption(make_llm(), custom=custom)
    # then the LLM's text is used and its source recorded
    assert result.text == "지금 매장에는 남성 손님 2분과 여성 손님 1분이 계십니다."
    assert result.source == "LLM"
    # and the request carried the counts as data, the instructions, and the caption model
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "caption-test-model"
    assert request.headers["authorization"] == "Bearer test-key"
    user = request.messages[-1]["content"]
    data = json.loads(user.split("Counts (JSON):\n", 1)[1].split("\n", 1)[0])
    assert data["counts"] == COUNTS
    assert data["total"] == 3
    assert data["camera"] == "입구"
    assert all(instruction in user for instruction in custom)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply.text("현재 매장에는 남자 3명, 여자 1명이 있습니다."), "wrong number"),
        (Reply.text("현재 매장에는 남자 2명이 있습니다."), "dropped class"),
        (Reply.text("현재 매장에는 아무도 없습니다."), "claims nobody"),
        (Reply.text("   "), "empty answer"),
        (Reply.status(429), "rate limited"),
        (Reply.status(500), "server error"),
    ],
)
@pytest.mark.asyncio
async def test_caption_falls_back_to_the_template_when_the_llm_fails(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient], reply: Reply, why: str
) -> None:
    # given an LLM that answers badly or not at all
    fake_openai.script(reply)
    # when a caption is written
    result = await caption(make_llm())
    # then the template caption is used, marked TEMPLATE
    assert result.source == "TEMPLATE", why
    assert result.text == "현재 매장에는 남자 2명, 여자 1명이 있습니다."
    assert len(fake_openai.requests) == 1


@pytest.mark.asyncio
async def test_caption_falls_back_within_the_timeout_when_the_llm_hangs(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]
) -> None:
    # given an LLM slower than the caption timeout (0.3 s), with retries allowed
    fake_openai.set_default(Reply.hang(5))
    llm = make_llm(caption_timeout_seconds=0.3, llm_max_retries=2)
    # when a caption is written
    started = time.monotonic()
    result = await caption(llm)
    elapsed = time.monotonic() - started
    # then the template is used, and the whole attempt (retries included) kept to the deadline
    assert result.source == "TEMPLATE"
    assert elapsed < 1.5


@pytest.mark.asyncio
async def test_caption_retries_a_429_and_uses_the_answer_that_follows(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]
) -> None:
    # given one 429, then a faithful answer, and one retry allowed
    fake_openai.script(Reply.status(429), Reply.text("There are 2 men and 1 woman here."))
    # when a caption is written
    result = await caption(make_llm(llm_max_retries=1), custom=ENGLISH)
    # then the retry's answer is used
    assert result == Caption(text="There are 2 men and 1 woman here.", source="LLM")
    assert len(fake_openai.requests) == 2


@pytest.mark.asyncio
async def test_caption_without_an_llm_uses_the_template() -> None:
    # given no LLM client (no API key) / when a caption is written / then it is the template
    result = await caption(None)
    assert (result.text, result.source) == ("현재 매장에는 남자 2명, 여자 1명이 있습니다.", "TEMPLATE")


@pytest.mark.asyncio
async def test_no_caption_is_lost_to_a_run_of_llm_failures(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient]
) -> None:
    # given an LLM that alternates good answers, errors, wrong numbers and hangs
    def responder(request: RecordedRequest) -> Reply:
        data = json.loads(request.prompt.split("Counts (JSON):\n", 1)[1].split("\n", 1)[0])
        male, female = data["counts"]["male"], data["counts"]["female"]
        turn = len(fake_openai.requests) % 4
        if turn == 1:
            return Reply.text(f"남자 {male}명, 여자 {female}명이 있습니다.")
        if turn == 2:
            return Reply.status(500)
        if turn == 3:
            return Reply.text(f"남자 {male + 1}명, 여자 {female}명이 있습니다.")
        return Reply.hang(5)

    fake_openai.set_default(responder)
    llm = make_llm(caption_timeout_seconds=0.2)
    # when eight ticks write captions
    results = [await caption(llm, counts={"male": k, "female": 1}) for k in range(1, 9)]
    # then every tick has a faithful caption, from the LLM or from the template
    assert [r.source for r in results] == ["LLM", "TEMPLATE", "TEMPLATE", "TEMPLATE"] * 2
    for k, result in enumerate(results, start=1):
        assert check_caption(result.text, counts={"male": k, "female": 1}).ok
