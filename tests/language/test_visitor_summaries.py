"""Summaries with visitors (entries from tracking) and the mean stay (issue 12)."""

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
    build_summary_messages,
    compute_summary_stats,
    template_summary,
    write_summary,
)
from tests.language.fake_openai import FakeOpenAI, Reply

SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2024, 5, 1, 0, 30, tzinfo=UTC)  # 09:30 in Seoul
VISITORS = {"female": 9, "male": 12}
DWELL = 450.0  # 7.5 minutes


def point(
    seq: int, minutes: int, male: int, female: int, *, entered: int = 0, error: str | None = None
) -> BriefingPoint:
    counts = {} if error else {"male": male, "female": female}
    return BriefingPoint(seq, START + timedelta(minutes=minutes), counts, error, entered=entered)


def day(*, entered: bool = True) -> list[BriefingPoint]:
    """The day of test_summaries, with 4+5 people coming in during 09:00 and 7+5 during 10:00."""
    return [
        point(1, 0, 2, 0, entered=4 * entered),
        point(2, 15, 0, 2, entered=5 * entered),
        point(3, 30, 3, 1, entered=7 * entered),
        point(4, 45, 0, 0, error="camera offline"),
        point(5, 60, 1, 1, entered=5 * entered),
    ]


def tracked(
    points: list[BriefingPoint] | None = None,
    *,
    visitors: dict[str, int] | None = VISITORS,
    mean_dwell_seconds: float | None = DWELL,
) -> SummaryStats:
    return compute_summary_stats(
        points=day() if points is None else points,
        tz=SEOUL,
        interval_seconds=900,
        visitors=visitors,
        mean_dwell_seconds=mean_dwell_seconds,
    )


def untracked(points: list[BriefingPoint]) -> SummaryStats:
    return compute_summary_stats(points=points, tz=SEOUL, interval_seconds=900)


# --- statistics -------------------------------------------------------------------------------


def test_stats_carry_visitors_their_mix_and_visitors_per_hour() -> None:
    # given the day with visitors and a mean stay / when the statistics are computed
    stats = tracked()
    # then visitors are kept in label order, with their shares and total
    assert stats.visitors == {"male": 12, "female": 9}
    assert list(stats.visitors) == ["male", "female"]
    assert stats.visitors_total == 21
    assert stats.visitor_share_pct == {"male": 57.1, "female": 42.9}
    assert stats.customer_share_pct == stats.visitor_share_pct
    assert stats.mean_dwell_seconds == DWELL
    # and each hour counts those who came in during it
    assert [(h.hour.hour, h.visitors) for h in stats.hourly] == [(9, 9), (10, 12)]
    assert stats.busiest_visitor_hour == stats.hourly[1]
    # and the occupancy figures are what they were
    assert stats.share_pct == {"male": 60.0, "female": 40.0}
    assert stats.mean_total == 2.5


def test_stats_as_data_give_visitors_per_class_per_hour_and_the_stay() -> None:
    # given the tracked day / when turned into data for the prompt
    data = tracked().as_dict()
    # then visitors, their shares, visitors per hour and the stay in minutes are there
    assert data["visitors_by_class"] == {"male": 12, "female": 9}
    assert data["visitors_total"] == 21
    assert data["visitor_share_percent_by_class"] == {"male": 57.1, "female": 42.9}
    assert data["mean_dwell_minutes"] == 7.5
    assert [h["visitors"] for h in data["hourly_mean_occupancy"]] == [9, 12]  # type: ignore[attr-defined]
    assert json.dumps(data)


def test_stats_without_tracking_have_no_visitor_figures() -> None:
    # given the day without visitors (the camera was not tracked)
    stats = untracked(day())
    # then nothing about visitors is claimed, and the customer mix is the occupancy mix
    assert (stats.visitors, stats.visitors_total, stats.mean_dwell_seconds) == (None, None, None)
    assert stats.busiest_visitor_hour is None
    assert stats.customer_share_pct == stats.share_pct
    data = stats.as_dict()
    assert not {"visitors_by_class", "visitors_total", "mean_dwell_minutes"} & set(data)
    assert all("visitors" not in h for h in data["hourly_mean_occupancy"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("points", "visitors", "dwell"),
    [
        ([point(1, 0, 1, 0, entered=-1)], None, None),
        ([point(1, 0, 1, 0)], {"male": -1}, None),
        ([point(1, 0, 1, 0)], {"male": 1}, -3.0),
        ([point(1, 0, 1, 0)], {"male": 1}, float("nan")),
    ],
)
def test_negative_visitors_or_stays_are_refused(
    points: list[BriefingPoint], visitors: dict[str, int] | None, dwell: float | None
) -> None:
    # given a negative entry count, visitor count or stay / when statistics are computed / then refused
    with pytest.raises(ValueError, match="negative"):
        compute_summary_stats(points=points, tz=SEOUL, interval_seconds=60, visitors=visitors, mean_dwell_seconds=dwell)


# --- template ---------------------------------------------------------------------------------


def test_korean_template_gives_visitors_not_summed_occupancy() -> None:
    # given the tracked day / when the template summarises it in Korean
    lines = template_summary(stats=tracked(), custom=["공손하게 말해줘"]).splitlines()
    # then the customer numbers are the visitors, with their mix and the mean stay
    assert lines[2] == (
        "2. 당일 방문객은 남성 12명, 여성 9명(합계 21명)으로 성별 비중은 남성 57.1%, 여성 42.9%이며, "
        "평균 체류 시간은 7.5분입니다."
    )
    # and the third line gives visitors per hour, then the occupancy
    assert lines[3] == (
        "3. 시간대별 방문객은 09시 9명, 10시 12명으로 10시에 가장 많았고, "
        "평균 재실 인원은 2.5명, 최대 재실 인원은 10:00의 4명입니다."
    )


def test_english_template_gives_visitors_per_class_per_hour_and_the_stay() -> None:
    # given the tracked day / when the template summarises it in English
    text = template_summary(stats=tracked(), custom=["English"])
    lines = text.splitlines()
    # then visitors, visitors per hour and the stay are stated
    assert lines[2] == (
        "2. Visitors: 12 men and 9 women (21 in total); the customer mix was men 57.1%, women 42.9%; "
        "the average stay was 7.5 min."
    )
    assert lines[3] == (
        "3. Visitors by hour: 09:00 9, 10:00 12 (most at 10:00); "
        "average occupancy was 2.5 people, with a peak of 4 people at 10:00."
    )
    # and the advice reads the visitors' mix
    assert "- Customer mix: men make up 57.1% of visitors" in text


def test_template_of_one_visitor_uses_the_singular_and_seconds() -> None:
    # given one person who came in and stayed 40 s, within one hour
    stats = tracked([point(1, 0, 1, 0, entered=1)], visitors={"person": 1}, mean_dwell_seconds=40.0)
    english = template_summary(stats=stats, custom=["English"])
    korean = template_summary(stats=stats, custom=[])
    # then it reads "1 person", "1 visitor", "40 seconds" / "1명", "40초"
    assert "2. Visitors: 1 person; the average stay was 40 seconds." in english
    assert "3. 1 visitor came in during the 09:00 hour;" in english
    assert "1 people" not in english
    assert "2. 당일 방문객은 1명이며, 평균 체류 시간은 40초입니다." in korean
    assert "3. 09시대 방문객은 1명이며," in korean
    # and a short stay gets its advice, with the right particle
    assert "평균 체류 시간이 40초로 짧으므로" in korean
    assert "- Short visits: the average stay is 40 seconds;" in english


def test_template_says_so_when_nobody_came_in() -> None:
    # given a tracked request nobody came into
    stats = tracked(day(entered=False), visitors={"male": 0, "female": 0}, mean_dwell_seconds=None)
    # then the summary says no visitors came in, and claims no visitors per hour
    korean = template_summary(stats=stats, custom=[])
    assert "2. 기록된 시간 동안 매장에 들어온 방문객은 없었습니다." in korean
    assert "3. 평균 재실 인원은 2.5명, 최대 재실 인원은 10:00의 4명입니다." in korean
    assert "2. No visitors came in during the recorded period." in template_summary(stats=stats, custom=["English"])


def test_template_without_visitors_is_unchanged_even_with_entries_on_the_briefings() -> None:
    # given briefings with entries but no visitors given (tracking not known for the request)
    with_entries, without = untracked(day(entered=True)), untracked(day(entered=False))
    # then the summary is exactly the occupancy summary of before, in both languages
    for custom in ([], ["English"]):
        assert template_summary(stats=with_entries, custom=custom) == template_summary(stats=without, custom=custom)
    assert "방문객은" not in template_summary(stats=with_entries, custom=[])
    assert "2. 평균 재실 인원은 남성 1.5명, 여성 1명(합계 2.5명)" in template_summary(stats=with_entries, custom=[])


def test_template_with_only_a_mean_stay_adds_it_to_the_occupancy_summary() -> None:
    # given no visitors but a known mean stay of 25 minutes
    stats = compute_summary_stats(points=day(), tz=SEOUL, interval_seconds=900, mean_dwell_seconds=1500)
    text = template_summary(stats=stats, custom=[])
    # then the occupancy line gains the stay, and a long stay gets its advice
    assert "성별 비중은 남성 60%, 여성 40%입니다. 평균 체류 시간은 25분입니다." in text
    assert "평균 체류 시간이 25분으로 길므로" in text


# --- LLM prompt -------------------------------------------------------------------------------


def test_prompt_with_visitors_asks_for_visitors_not_summed_occupancy() -> None:
    # given the tracked day / when the summary prompt is built
    prompt = build_summary_messages(stats=tracked(), custom=[], business_context="a cafe")[1].content
    # then the statistics carry the visitors and the stay
    sent = json.loads(prompt.split("Statistics (JSON):\n", 1)[1].split("\n", 1)[0])
    assert sent["visitors_by_class"] == {"male": 12, "female": 9}
    assert sent["mean_dwell_minutes"] == 7.5
    # and the brief says visitors are the customer numbers, never summed occupancy
    assert "'visitors_by_class' are the customers who came in" in prompt
    assert "never add them up to count customers" in prompt
    assert "female and male customers (the visitors) and the average stay" in prompt


def test_prompt_without_visitors_is_unchanged() -> None:
    # given the day without tracking / when the summary prompt is built
    prompt = build_summary_messages(stats=untracked(day()), custom=[], business_context="a cafe")[1].content
    # then it is the occupancy brief of before
    assert prompt.startswith(
        "Below are the occupancy statistics a people-counting camera recorded during one monitoring session"
    )
    assert "1. A three-line summary of the day that includes the numbers of female and male customers.\n" in prompt
    assert "visitors" not in prompt


@pytest.mark.asyncio
async def test_llm_summary_with_visitors_sends_them_and_keeps_the_original_sampling(
    fake_openai: FakeOpenAI, make_llm: Callable[..., LLMClient], make_settings: Callable[..., Settings]
) -> None:
    # given an LLM that answers / when a tracked request is summarised
    fake_openai.script(Reply.text("1. 당일 방문객은 남성 12명, 여성 9명입니다.\n2. ...\n3. ..."))
    stats = tracked()
    result = await write_summary(stats=stats, custom=[], llm=make_llm(), settings=make_settings(), user_id="u1")
    # then the LLM's text is used, and the request carried the visitors at temperature 0.7, top_p 0.9
    assert result.source == "LLM"
    (request,) = fake_openai.requests
    assert (request.body["temperature"], request.body["top_p"]) == (0.7, 0.9)
    sent = json.loads(request.prompt.split("Statistics (JSON):\n", 1)[1].split("\n", 1)[0])
    assert sent == json.loads(json.dumps(stats.as_dict()))
    assert sent["visitors_total"] == 21
