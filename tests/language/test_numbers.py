"""The number validator: which numbers a caption states, in Korean and in English."""

from __future__ import annotations

import pytest

from language.captions import check_caption
from language.numbers import extract_numbers, find_durations

COUNTS = {"male": 2, "female": 1}


def values(text: str, *, camera_name: str | None = None) -> list[float]:
    return [m.value for m in extract_numbers(text, camera_name=camera_name)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("남자 2명, 여자 1명이 있습니다.", [2, 1]),
        ("두 명의 남자와 한 명의 여자가 있어요.", [2, 1]),
        ("남자 둘, 여자 하나가 있어요.", [2, 1]),
        ("세 분이 계십니다.", [3]),
        ("손님 스물한 명", [21]),
        ("삼 명이 있습니다.", [3]),
        ("혼자 계십니다.", [1]),
        ("여자는 한 명도 없습니다.", [0]),
    ],
)
def test_korean_numbers_are_read_from_digits_native_and_sino_words(text: str, expected: list[float]) -> None:
    # given a Korean caption / when its numbers are extracted / then each stated count is found
    assert values(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("There are 2 men and 1 woman.", [2, 1]),
        ("Two men and one woman are here.", [2, 1]),
        ("Twenty-one people are waiting.", [21]),
        ("A couple of men and a woman.", [2, 1]),
        ("There are no women and 3 men.", [0, 3]),
    ],
)
def test_english_numbers_are_read_from_digits_and_words(text: str, expected: list[float]) -> None:
    # given an English caption / when its numbers are extracted / then each stated count is found
    assert values(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "조용한 분위기입니다.",  # 한 분위기 is not "one person"
        "이 분은 남성입니다.",  # 이 분 is "this person"
        "넷플릭스를 둘러보는 손님",
        "Someone is here, everyone is welcome.",
        "Nobody is here, no one at all.",
    ],
)
def test_words_that_only_look_like_numbers_are_not_numbers(text: str) -> None:
    # given words that contain numerals / when extracted / then no number is reported
    assert values(text) == []


def test_times_dates_and_the_camera_name_are_not_head_counts() -> None:
    # given a caption quoting the time, the date and a camera called "Cam 7"
    text = "2024년 5월 1일 오후 3시 5분, Cam 7 기준 남자 2명. At 3:05 PM, 4 o'clock, 12pm."
    # when its numbers are extracted
    found = values(text, camera_name="Cam 7")
    # then only the head count remains
    assert found == [2]


@pytest.mark.parametrize(
    "text",
    [
        "현재 매장에는 남자 2명, 여자 1명이 있습니다.",
        "두 명의 남자와 한 명의 여자가 있습니다.",
        "남성 고객 2명, 여성 고객 1명(총 3명)이 계십니다.",
        "매장에는 3명의 손님이 있으며, 남자 2명, 여자 1명입니다.",
        "지금 남자 둘, 여자 하나가 있어요.",
        "오후 3시 5분 현재 남자 2명과 여자 1명이 매장에 있습니다.",
        "There are 2 men and 1 woman in the store right now.",
        "Two guys and a lady are in the store.",
        "There are three people: two men and a woman.",
    ],
)
def test_faithful_captions_pass(text: str) -> None:
    # given a caption that states the counts exactly / when checked / then it passes
    assert check_caption(text, counts=COUNTS).ok


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("현재 매장에는 남자 3명, 여자 1명이 있습니다.", "for male"),
        ("현재 매장에는 남자 1명, 여자 2명이 있습니다.", "for male"),
        ("There are 2 women and 1 man.", "for female"),
        ("There are 5 customers.", "none of the counts"),
        ("현재 매장에는 남자 2명이 있습니다.", "does not mention female"),
        ("There are 2 men in the store.", "does not mention female"),
        ("남자 2명, 여자 1명인데 아무도 없습니다.", "claims nobody"),
        ("", "is empty"),
    ],
)
def test_unfaithful_captions_are_rejected_with_the_reason(text: str, problem: str) -> None:
    # given a caption with a wrong number, a missing class or a false "nobody"
    verdict = check_caption(text, counts=COUNTS)
    # then it is rejected and the problem is named
    assert not verdict.ok
    assert any(problem in p for p in verdict.problems), verdict.problems


def test_an_empty_store_must_be_described_as_empty() -> None:
    # given zero counts
    empty = {"male": 0, "female": 0}
    # then "nobody" passes and a positive claim does not
    assert check_caption("현재 매장에는 아무도 없습니다.", counts=empty).ok
    assert check_caption("The store is empty right now.", counts=empty).ok
    assert not check_caption("There is a man in the store.", counts=empty).ok
    assert not check_caption("매장에 손님들이 있습니다.", counts=empty).ok


def test_unknown_labels_must_appear_literally() -> None:
    # given a detector with a "staff" class
    counts = {"person": 2, "staff": 1}
    # then the label must be written, with its own count
    assert check_caption("There are 2 people and 1 staff member.", counts=counts).ok
    assert not check_caption("There are 2 people and 1 employee.", counts=counts).ok
    assert not check_caption("There are 2 people and 2 staff.", counts=counts).ok


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("지난 1분 동안 2명이 들어왔습니다.", [60]),
        ("지난 30초 동안", [30]),
        ("최근 1분 30초 사이", [90]),
        ("지난 1시간 30분 동안", [5400]),
        ("한 시간 동안", [3600]),
        ("5분간 아무도 없었습니다.", [300]),
        ("In the last minute, 2 people came in.", [60]),
        ("over the past 90 seconds", [90]),
        ("in the last two hours", [7200]),
        ("one minute and 30 seconds ago", [90]),
        ("for half an hour", [1800]),
    ],
)
def test_spans_of_time_are_read_in_seconds(text: str, seconds: list[float]) -> None:
    # given a text naming a span of time / when its spans are found / then each is read in seconds
    assert [span.seconds for span in find_durations(text)] == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("지난 1분 동안 2명이 들어오고 1명이 나갔습니다.", [2, 1]),
        ("30초 전에 남자 1명이 들어왔습니다.", [1]),
        ("In the last 5 minutes, 2 people came in.", [2]),
        ("In the last minute, one man left.", [1]),
        ("손님 2분이 계십니다.", [2]),  # 분 counting people, not minutes
        ("오후 3시 30분 전후로 남자 2명", [2]),  # a clock time, not a span
    ],
)
def test_spans_of_time_are_not_head_counts(text: str, expected: list[float]) -> None:
    # given a caption naming a span / when its numbers are extracted / then the span is not one of them
    assert values(text) == expected
