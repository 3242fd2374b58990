"""Summary statistics, the LLM summary request, and the template summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.settings import Settings
from language.llm import LLMClient
from language.summaries import (
    BriefingPoint,
    SummaryStats,
    compute_summary_stats,
    template_summary,
    write_summary,
)
from tests.language.fake_openai import FakeOpenAI, Reply

SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2024, 5, 1, 0, 30, tzinfo=UTC)  # 09:30 in Seoul


def point(seq: int, minutes: int, male: int, female: int, error: str | None = None) -> BriefingPoint:
    counts = {} if error else {"male": male, "female": female}
    return BriefingPoint(seq, START + timedelta(minutes=minutes), counts, error)


def day() -> list[BriefingPoint]:
    """09:30 2+0, 09:45 0+2, 10:00 3+1 (the peak), 10:15 failed, 10:30 1+1."""
    return [
        point(1, 0, 2, 0),
        point(2, 15, 0, 2),
        point(3, 30, 3, 1),
        point(4, 45, 0, 0, error="camera offline"),
        point(5, 60, 1, 1),
    ]


def stats_of(points: list[BriefingPoint]) -> SummaryStats:
    return compute_summary_stats(points=points, tz=SEOUL, interval_seconds=900)


def test_stats_describe_the_request_in_local_time() -> None:
    # given five briefings, one failed / when the statistics are computed
    stats = stats_of(day())
    # then they span 09:30-10:30 local plus one interval
    assert stats.start == datetime(2024, 5, 1, 9, 30, tzinfo=SEOUL)
    assert stats.end == datetime(2024, 5, 1, 10, 30, tzinfo=SEOUL)
    assert stats.duration == timedelta(minutes=75)
    assert (stats.briefings, stats.failed, stats.counted) == (5, 1, 4)
    # and means, peaks and shares are over the four counted briefings
    assert stats.labels == ("male", "female")
    assert stats.mean_by_class == {"male": 1.5, "female": 1.0}
    assert stats.mean_total == 2.5
    assert stats.peak_by_class["male"].count == 3
    assert stats.peak_by_class["female"].at == datetime(2024, 5, 1, 9, 45, tzinfo=SEOUL)
    assert (stats.peak_total.count, stats.peak_total.at) == (4, datetime(2024, 5, 1, 10, 0, tzinfo=SEOUL))
    assert stats.share_pct == {"male": 60.0, "female": 40.0}


def test_stats_group_occupancy_by_local_hour() -> None:
    # given the day / when grouped by hour
    hourly = stats_of(day()).hourly
    # then 09:00 holds two briefings and 10:00 two (the failed one is left out)
    assert [(h.hour.hour, h.briefings) for h in hourly] == [(9, 2), (10, 2)]
    assert hourly[0].mean_by_class == {"male": 1.0, "female": 1.0}
    assert hourly[1].mean_total == 3.0
    stats = stats_of(day())
    assert stats.busiest_hour == hourly[1]
    assert stats.quietest_hour == hourly[0]


def test_stats_of_no_briefings_are_all_zero() -> None:
    # given no briefings / when the statistics are computed / then nothing breaks
    stats = stats_of([])
    assert (stats.briefings, stats.failed, stats.start, stats.hourly) == (0, 0, None, ())
    assert stats.peak_total.count == 0
    assert json.dumps(stats.as_dict())


def test_template_summary_has_three_lines_with_the_figures_and_concrete_advice() -> None:
    # given the day, in Korean by default
    text = template_summary(stats=stats_of(day()), custom=["공손하게 말해줘"])
    lines = text.splitlines()
    # then three numbered lines give the figures, male and female included
    assert lines[0] == "[요약]"
    assert [line[:2] for line in lines[1:4]] == ["1.", "2.", "3."]
    assert "남성 1.5명" in lines[2]
    assert "여성 1명" in lines[2]
    assert "남성 60%, 여성 40%" in lines[2]
    assert "10:00의 4명" in lines[3]
    # and the advice names the peak hour, the quiet hour and the failed briefing
    assert "[운영 제안]" in text
    assert "10시 전후" in text
    assert "09시대" in text
    assert "실패" in text


def test_template_summary_is_written_in_english_when_asked() -> None:
    # given instructions asking for English
    text = template_summary(stats=stats_of(day()), custom=["Answer in English"])
    # then the summary and advice are English
    assert text.startswith("[Summary]\n1. From May 01 09:30 to 10:30")
    assert "men 1.5, women 1 (2.5 in total)" in text
    assert "[Advice]" in text
    assert "10:00 is the busiest hour" in text


def test_template_summary_uses_the_singular_for_one_and_words_for_under_a_minute() -> None:
    # given one briefing of one man, five seconds long (issue 11: "average 1 people", "(0 min)")
    stats = compute_summary_stats(points=[point(1, 0, 1, 0)], tz=SEOUL, interval_seconds=5)
    # when the template summarises it in English
    text = template_summary(stats=stats, custom=["English"])
    # then one is singular and the duration is not "0 min"
    assert "1. From May 01 09:30 to 09:30 (less than a minute), 1 briefing was recorded." in text
    assert "3. The busiest hour was 09:00 (average 1 person); the peak was 1 person at 09:30." in text
    assert "0 min" not in text
    assert "1 people" not in text
    # and in Korean the duration is "1분 미만", not "0분" or a rounded-up "1분"
    korean = template_summary(stats=stats, custom=[])
    assert "09:30까지 1분 미만 동안 브리핑 1건을 기록했습니다." in korean
    assert "0분" not in korean


def test_template_summary_counts_in_whole_minutes_from_one_minute_up() -> None:
    # given a request of two briefings 40 s apart (80 s with the interval)
    stats = compute_summary_stats(points=[point(1, 0, 1, 0), point(2, 0, 1, 0)], tz=SEOUL, interval_seconds=80)
    # then the duration reads "1 min" / "1분"
    assert "(1 min), 2 briefings were recorded." in template_summary(stats=stats, custom=["English"])
    assert " 1분 동안" in template_summary(stats=stats, custom=[])


def test_template_summary_advice_uses_the_singular_for_one() -> None:
    # given a quiet hour averaging one person and one failed briefing
    points = [point(1, 0, 1, 0), point(2, 40, 2, 1), point(3, 45, 0, 0, error="camera offline")]
    text = template_summary(stats=stats_of(points), custom=["English"])
    # then the advice says "1 person" and "1 briefing failed"
    assert "around 09:00 (average 1 person)" in text
    assert "- Equipment: 1 briefing failed;" in text
    assert "(average 3 people)" in text
    # and plurals stay plural
    two_failed = [*points, point(4, 50, 0, 0, error="camera offline")]
    assert "- Equipment: 2 briefings failed;" in template_summary(stats=stats_of(two_failed), custom=["English"])


def test_template_summary_of_an_empty_request_says_so() -> None:
    # given no briefings / then the summary explains there is nothing to summarise
    assert "브리핑이 없어" in template_summary(stats=stats_of([]), custom=[])
    only_failed = stats_of([point(1, 0, 0, 0, error="no frame")])
    assert "nothing to summarise" in template_summary(stats=only_failed, custom=["English"])


@pytest.mark.asyncio
async def test_llm_summary_request_carries_the_statistics_and_the_original_sampling(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., LLMClient],
    make_settings: Callable[..., Settings],
) -> None:
    # given an LLM that answers
    fake_openai.script(Reply.text("1. 요약 ...\n2. ...\n3. ...\n\n제안: ...", model="summary-v2"))
    settings = make_settings(business_context="a self-service bakery")
    stats = stats_of(day())
    # when the summary is written
    result = await write_summary(stats=stats, custom=["영어로 말해줘"], llm=make_llm(), settings=settings, user_id="u1")
    # then the LLM's text is used, with the model that wrote it
    assert (result.source, result.model) == ("LLM", "summary-v2")
    assert result.text.startswith("1. 요약")
    # and the request follows the original: temperature 0.7, top_p 0.9, the summary model
    (request,) = fake_openai.requests
    assert request.body["temperature"] == 0.7
    assert request.body["top_p"] == 0.9
    assert request.body["model"] == "summary-test-model"
    # and the prompt carries the statistics, the business, the brief and the instructions
    prompt = request.prompt
    sent = json.loads(prompt.split("Statistics (JSON):\n", 1)[1].split("\n", 1)[0])
    assert sent == json.loads(json.dumps(stats.as_dict()))
    assert sent["mean_occupancy_by_class"] == {"male": 1.5, "female": 1.0}
    assert sent["failed_briefings"] == 1
    assert "a self-service bakery" in prompt
    assert "three-line summary" in prompt
    assert "female and male" in prompt
    assert "formal" in prompt
    assert "Korean unless" in prompt
    assert "영어로 말해줘" in prompt


@pytest.mark.parametrize("reply", [Reply.status(500), Reply.status(429), Reply.hang(5), Reply.text("")])
@pytest.mark.asyncio
async def test_summary_falls_back_to_the_template_when_the_llm_fails(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., LLMClient],
    make_settings: Callable[..., Settings],
    reply: Reply,
) -> None:
    # given an LLM that fails (error, rate limit, hang past the 0.3 s timeout, empty answer)
    fake_openai.script(reply)
    llm = make_llm(summary_timeout_seconds=0.3)
    stats = stats_of(day())
    # when the summary is written
    result = await write_summary(stats=stats, custom=[], llm=llm, settings=make_settings(), user_id="u1")
    # then the template summary is returned, marked TEMPLATE, with no model
    assert (result.source, result.model) == ("TEMPLATE", None)
    assert result.text == template_summary(stats=stats, custom=[])


@pytest.mark.asyncio
async def test_summary_of_no_briefings_does_not_call_the_llm(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., LLMClient],
    make_settings: Callable[..., Settings],
) -> None:
    # given a request with no briefings / when summarised
    result = await write_summary(stats=stats_of([]), custom=[], llm=make_llm(), settings=make_settings(), user_id="u1")
    # then the template explains, and no request was sent
    assert result.source == "TEMPLATE"
    assert fake_openai.requests == []


@pytest.mark.asyncio
async def test_summary_without_an_llm_uses_the_template(make_settings: Callable[..., Settings]) -> None:
    # given no LLM client / when summarised / then the template is used
    result = await write_summary(stats=stats_of(day()), custom=[], llm=None, settings=make_settings(), user_id="u1")
    assert (result.source, result.model) == ("TEMPLATE", None)
