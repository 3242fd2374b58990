"""Captions with movement: who came in and went out since the previous briefing (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest

from language.captions import (
    DEFAULT_CUSTOM,
    Caption,
    Movement,
    build_caption_messages,
    check_caption,
    template_caption,
    write_caption,
)
from language.llm import LLMClient
from tests.language.fake_openai import FakeOpenAI, Reply

AT = datetime(2024, 5, 1, 15, 5)
COUNTS = {"male": 2, "female": 1}
DEFAULT = list(DEFAULT_CUSTOM)  # Korean, polite, concise
KO_FULL = ["공손하게 말해줘"]  # Korean, polite, not concise
KO_CASUAL = ["반말로 해줘"]
ENGLISH = ["Please answer in English", "Be polite", "Keep it short"]
EN_FULL = ["English"]
MINUTE = 60.0


def moved(entered: int, exited: int, seconds: float = MINUTE) -> Movement:
    return Movement(entered=entered, exited=exited, seconds=seconds)


def template(movement: Movement | None, custom: list[str], counts: dict[str, int] = COUNTS) -> str:
    return template_caption(counts=counts, camera_name="입구", local_time=AT, custom=custom, movement=movement)


# --- template ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("movement", "custom", "sentence"),
    [
        (moved(2, 1), DEFAULT, "지난 1분 동안 2명이 들어오고 1명이 나갔습니다."),
        (moved(2, 0), DEFAULT, "지난 1분 동안 2명이 들어왔습니다."),
        (moved(0, 1), DEFAULT, "지난 1분 동안 1명이 나갔습니다."),
        (moved(0, 0), DEFAULT, "지난 1분 동안 드나든 사람은 없습니다."),
        (moved(2, 0), KO_FULL, "지난 1분 동안 2명이 들어왔고, 나간 사람은 없습니다."),
        (moved(0, 3), KO_FULL, "지난 1분 동안 들어온 사람은 없고, 3명이 나갔습니다."),
        (moved(2, 1), KO_CASUAL, "지난 1분 동안 2명이 들어오고 1명이 나갔어."),
        (moved(0, 0), KO_CASUAL, "지난 1분 동안 드나든 사람은 없어."),
        (moved(1, 1, 30), DEFAULT, "지난 30초 동안 1명이 들어오고 1명이 나갔습니다."),
        (moved(3, 2, 90), DEFAULT, "지난 1분 30초 동안 3명이 들어오고 2명이 나갔습니다."),
        (moved(5, 4, 5400), DEFAULT, "지난 1시간 30분 동안 5명이 들어오고 4명이 나갔습니다."),
        (moved(2, 1, 61.4), DEFAULT, "지난 1분 동안 2명이 들어오고 1명이 나갔습니다."),
    ],
)
def test_korean_template_says_who_came_in_and_went_out(movement: Movement, custom: list[str], sentence: str) -> None:
    # given a movement and Korean instructions / when the template writes
    text = template(movement, custom)
    # then the caption of the counts is followed by the movement sentence
    assert text == f"{template(None, custom)} {sentence}"


@pytest.mark.parametrize(
    ("movement", "custom", "sentence"),
    [
        (moved(2, 1), ENGLISH, "In the last minute, 2 people came in and 1 left."),
        (moved(1, 2), ENGLISH, "In the last minute, 1 person came in and 2 left."),
        (moved(1, 0), ENGLISH, "In the last minute, 1 person came in."),
        (moved(0, 1), ENGLISH, "In the last minute, 1 person left."),
        (moved(0, 0), ENGLISH, "In the last minute, nobody came in or left."),
        (moved(3, 0), EN_FULL, "In the last minute, 3 people came in and nobody left."),
        (moved(0, 1), EN_FULL, "In the last minute, nobody came in and 1 person left."),
        (moved(2, 1, 30), ENGLISH, "In the last 30 seconds, 2 people came in and 1 left."),
        (moved(2, 1, 90), ENGLISH, "In the last 90 seconds, 2 people came in and 1 left."),
        (moved(2, 1, 300), ENGLISH, "In the last 5 minutes, 2 people came in and 1 left."),
        (moved(9, 8, 3600), ENGLISH, "In the last hour, 9 people came in and 8 left."),
    ],
)
def test_english_template_says_who_came_in_and_went_out(movement: Movement, custom: list[str], sentence: str) -> None:
    # given a movement and English instructions / when the template writes
    text = template(movement, custom)
    # then the movement sentence follows the caption of the counts, with "1 person" in the singular
    assert text == f"{template(None, custom)} {sentence}"
    assert "1 people" not in text


def test_template_without_movement_is_unchanged() -> None:
    # given no movement / when the template writes / then it is the caption of before issue 12
    assert template(None, DEFAULT) == "현재 매장에는 남자 2명, 여자 1명이 있습니다."
    assert template(None, EN_FULL) == (
        "As of 3:05 PM, there are 2 men and 1 woman (3 in total) in the store, according to the 입구 camera."
    )


@pytest.mark.parametrize(
    "custom", [DEFAULT, KO_FULL, KO_CASUAL, ["반말", "짧게"], ENGLISH, EN_FULL, ["English", "casual"]]
)
@pytest.mark.parametrize("counts", [COUNTS, {"male": 0, "female": 0}, {"person": 1}, {"male": 1, "dog": 2}])
@pytest.mark.parametrize(
    "movement",
    [moved(e, x, s) for e, x in [(2, 1), (1, 0), (0, 1), (0, 0), (3, 3)] for s in (0, 1, 30, 60, 75, 125, 630, 5400)],
)
def test_template_with_movement_always_passes_the_validator(
    custom: list[str], counts: dict[str, int], movement: Movement
) -> None:
    # given any counts, instructions and movement / when the template writes and it is checked
    text = template_caption(counts=counts, camera_name="Cam 9", local_time=AT, custom=custom, movement=movement)
    # then the template is faithful to the counts and to the movement
    assert check_caption(text, counts=counts, camera_name="Cam 9", movement=movement).ok, text


@pytest.mark.parametrize(("entered", "exited", "seconds"), [(-1, 0, 60.0), (0, -2, 60.0), (1, 1, -5.0)])
def test_a_movement_cannot_be_negative(entered: int, exited: int, seconds: float) -> None:
    # given negative entries, exits or span / when a Movement is made / then it is refused
    with pytest.raises(ValueError, match="negative"):
        Movement(entered=entered, exited=exited, seconds=seconds)


# --- the validator ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "현재 매장에는 남성 손님 2분과 여성 손님 1분이 계시며, 지난 1분간 2명이 들어오고 1명이 나갔습니다.",
        "남자 2명, 여자 1명이 있습니다. 최근 1분 동안 손님 2명이 새로 들어왔고 1명이 나갔습니다.",
        "남자 2명, 여자 1명이 있습니다. 지난 1분 동안 들어온 사람은 2명, 나간 사람은 1명입니다.",
        "남자 두 명과 여자 한 명이 있습니다. 지난 1분 동안 두 명이 들어오고 한 명이 나갔어요.",
        "남자 2명, 여자 1명이 있습니다. 1분 동안 입장 2명, 퇴장 1명입니다.",
        "There are 2 men and 1 woman in the store. In the last minute, 2 people came in and 1 left.",
        "Two men and one woman are here; over the past minute two customers walked in and one walked out.",
        "2 men and 1 woman are in the store. In the past 60 seconds there were 2 entries and 1 exit.",
    ],
)
def test_validator_accepts_a_caption_that_states_the_movement_right(text: str) -> None:
    # given a caption stating the counts, 2 entries and 1 exit over the last minute, in its own words
    verdict = check_caption(text, counts=COUNTS, camera_name="입구", movement=moved(2, 1))
    # then it is accepted: the entries, exits and the span are not mistaken for head counts
    assert verdict.ok, verdict.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("남자 2명, 여자 1명이 있습니다. 지난 1분 동안 3명이 들어오고 1명이 나갔습니다.", "'3명' entries"),
        ("남자 2명, 여자 1명이 있습니다. 지난 1분 동안 2명이 들어오고 2명이 나갔습니다.", "'2명' exits"),
        ("There are 2 men and 1 woman. In the last minute, 3 people came in and 1 left.", "'3' entries"),
        ("남자 2명, 여자 1명이 있습니다. 지난 1분 동안 드나든 사람은 없습니다.", "드나든 사람은 없"),
        ("There are 2 men and 1 woman. In the last minute, nobody came in or left.", "nobody came in"),
        ("남자 2명, 여자 1명이 있습니다. 지난 1분 동안 아무도 들어오지 않았고 1명이 나갔습니다.", "들어오지 않"),
        ("남자 2명, 여자 1명이 있습니다. 지난 5분 동안 2명이 들어오고 1명이 나갔습니다.", "span"),
        ("There are 2 men and 1 woman. In the last 30 seconds, 2 people came in and 1 left.", "span"),
        ("남자 2명, 여자 1명이 있습니다. 지난 1분 동안 남자 2명이 들어오고 1명이 나갔습니다.", "for male"),
        ("남자 2명, 여자 1명이 있습니다.", "does not state the entries (2)"),
        ("남자 2명, 여자 1명이 있습니다. 지난 1분 동안 2명이 들어왔습니다.", "does not state the exits (1)"),
        ("Nobody is in the store. In the last minute, 2 people came in and 1 left.", "claims nobody"),
    ],
)
def test_validator_rejects_a_caption_that_misstates_the_movement(text: str, problem: str) -> None:
    # given a caption that gets the entries, exits or span wrong, or leaves them out
    verdict = check_caption(text, counts=COUNTS, camera_name="입구", movement=moved(2, 1))
    # then it is rejected, saying why
    assert not verdict.ok
    assert any(problem in found for found in verdict.problems), verdict.problems


@pytest.mark.parametrize(
    "text",
    [
        "남자 2명, 여자 1명이 있습니다. 지난 30초 동안 아무도 드나들지 않았습니다.",
        "남자 2명, 여자 1명이 있고, 지난 30초간 출입은 없었습니다.",
        "남자 2명, 여자 1명이 있습니다. 지난 30초 동안 한 명도 들어오지 않았습니다.",
        "There are 2 men and 1 woman. Nobody came in or left in the last 30 seconds.",
        "There are 2 men and 1 woman. In the last 30 seconds there were no entries or exits.",
    ],
)
def test_validator_accepts_nobody_came_in_when_it_is_true(text: str) -> None:
    # given a quiet half minute and a caption saying nobody came in or left
    verdict = check_caption(text, counts=COUNTS, movement=moved(0, 0, 30))
    # then "nobody" about movement is not read as "the store is empty"
    assert verdict.ok, verdict.problems


def test_validator_still_holds_an_empty_store_to_its_counts_with_movement() -> None:
    # given an empty store that 3 people just left
    movement, empty = moved(0, 3), {"male": 0, "female": 0}
    # then "nobody is here" and "3 left" pass together, and "3 men are here" does not
    assert check_caption(
        "현재 매장에는 아무도 없습니다. 지난 1분 동안 3명이 나갔습니다.", counts=empty, movement=movement
    ).ok
    assert check_caption("Nobody is here now. Nobody came in, and 3 people left.", counts=empty, movement=movement).ok
    assert not check_caption(
        "There are 3 men here. In the last minute, 3 people left.", counts=empty, movement=movement
    ).ok


# --- LLM path ---------------------------------------------------------------------------------


async def caption(llm: LLMClient | None, movement: Movement, custom: list[str] = DEFAULT) -> Caption:
    return await write_caption(
        counts=COUNTS, camera_name="입구", local_time=AT, custom=custom, llm=llm, user_id="u1", movement=movement
    )


def test_prompt_carries_the_movement_and_its_span() -> None:
    # given a movement of 2 in and 1 out over a minute / when the prompt is built
    messages = build_caption_messages(
        counts=COUNTS, camera_name="입구", local_time=AT, custom=DEFAULT, movement=moved(2, 1)
    )
    # then the data holds the entries, exits and span, and the system asks for them exactly
    data = json.loads(messages[-1].content.split("Counts (JSON):\n", 1)[1].split("\n", 1)[0])
    assert data["counts"] == COUNTS
    assert data["movement"] == {
        "entered": 2,
        "exited": 1,
        "span_seconds": 60,
        "span": {"ko": "지난 1분 동안", "en": "in the last minute"},
    }
    assert "came in ('entered')" in messages[0].content
    assert "never by class" in messages[0].content


@pytest.mark.parametrize(
    ("answer", "custom"),
    [
        ("현재 매장에는 남성 2분, 여성 1분이 계십니다. 지난 1분간 2명이 들어오고 1명이 나갔습니다.", DEFAULT),
        ("There are 2 men and 1 woman here. In the last minute, 2 people came in and 1 left.", ENGLISH),
    ],
)
@pytest.mark.asyncio
async def test_llm_caption_that_states_the_movement_right_is_used(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient], answer: str, custom: list[str]
) -> None:
    # given an LLM that states the counts, 2 entries and 1 exit over the last minute
    fake_openai.script(Reply.text(answer))
    # when a caption is written with that movement
    result = await caption(make_llm(), moved(2, 1), custom=custom)
    # then the LLM's caption is used, and the request carried the movement
    assert result == Caption(text=answer, source="LLM")
    (request,) = fake_openai.requests
    assert '"movement": {"entered": 2, "exited": 1' in request.prompt


@pytest.mark.parametrize(
    "answer",
    [
        "현재 매장에는 남자 2명, 여자 1명이 있습니다. 지난 1분 동안 3명이 들어오고 1명이 나갔습니다.",
        "현재 매장에는 남자 2명, 여자 1명이 있습니다. 지난 1분 동안 1명이 들어오고 1명이 나갔습니다.",
        "현재 매장에는 남자 2명, 여자 1명이 있습니다. 지난 1분 동안 들어온 사람은 없고 1명이 나갔습니다.",
    ],
)
@pytest.mark.asyncio
async def test_llm_caption_that_misstates_the_entries_falls_back_to_the_template(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient], answer: str
) -> None:
    # given an LLM that gets the counts right but the number who came in wrong
    fake_openai.script(Reply.text(answer))
    # when a caption is written with 2 entries and 1 exit
    result = await caption(make_llm(), moved(2, 1))
    # then the template caption, with the true movement, is used instead
    assert result.source == "TEMPLATE"
    assert result.text == "현재 매장에는 남자 2명, 여자 1명이 있습니다. 지난 1분 동안 2명이 들어오고 1명이 나갔습니다."


@pytest.mark.asyncio
async def test_caption_with_movement_and_no_llm_uses_the_template() -> None:
    # given no LLM client / when a caption with movement is written / then the template says it
    result = await caption(None, moved(0, 0, 30), custom=ENGLISH)
    assert result == Caption(
        text="There are 2 men and 1 woman in the store right now. In the last 30 seconds, nobody came in or left.",
        source="TEMPLATE",
    )
