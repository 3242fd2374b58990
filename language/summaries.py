"""The AI summary of one briefing request: statistics, the LLM prompt, and a template summary.

Pure, storage-free: the resolver reads the request's briefings, turns them into
:class:`BriefingPoint` values, calls :func:`compute_summary_stats` and then :func:`write_summary`,
and stores the :class:`SummaryText` it gets back.

The LLM is asked, as in the original service, for a three-line summary of the day that gives the
numbers of female and male customers, followed by detailed, concrete advice for running the store,
in a formal business style, in Korean unless the owner's instructions say otherwise, with
temperature 0.7 and top_p 0.9. Without an LLM, or when it fails, a template summary is written from
the same statistics, with rule-based advice.

When the camera watcher tracked people, the request's ``visitors`` (entries per class, each person
counted once) and the mean stay are known: the customer numbers in the summary and in the prompt are
then those visitors, never sums of the occupancy seen at each briefing (which count the same person
at every tick and miss those who came and went between ticks), and visitors per hour come from each
briefing's ``entered``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from core.settings import Settings
from language.llm import ChatMessage, LLMClient, LLMUnavailable
from language.style import order_labels, read_style

__all__ = [
    "SUMMARY_TEMPERATURE",
    "SUMMARY_TOP_P",
    "BriefingPoint",
    "HourStat",
    "Peak",
    "SummaryStats",
    "SummaryText",
    "build_summary_messages",
    "compute_summary_stats",
    "template_summary",
    "write_summary",
]

log = logging.getLogger(__name__)

SUMMARY_TEMPERATURE = 0.7
SUMMARY_TOP_P = 0.9
_SUMMARY_MAX_TOKENS = 1200


@dataclass(frozen=True, slots=True)
class BriefingPoint:
    """One stored briefing: its sequence number, when its frame was taken (aware UTC), the
    per-class counts, the error when the tick failed (no frame, detector error), and the people
    who came in since the previous briefing (``entered``, 0 when nothing was tracked)."""

    seq: int
    captured_at: datetime
    counts: Mapping[str, int]
    error: str | None = None
    entered: int = 0


@dataclass(frozen=True, slots=True)
class Peak:
    """The highest count and the first local time it was seen."""

    count: int
    at: datetime | None


@dataclass(frozen=True, slots=True)
class HourStat:
    """Mean occupancy during one local clock hour (``hour`` is the hour's local start), and the
    visitors who came in during it (the ``entered`` of its briefings)."""

    hour: datetime
    briefings: int
    mean_by_class: dict[str, float]
    mean_total: float
    visitors: int = 0


@dataclass(frozen=True, slots=True)
class SummaryStats:
    """What a briefing request observed, in the shop's local time.

    Means are over successful briefings; ``share_pct`` is each class's share of everyone seen
    (summed over briefings), so ``male`` and ``female`` add up to 100 when they are the only classes.
    ``duration`` runs from the first to the last briefing plus one interval.

    ``visitors`` (entries during the request per class, from tracking) is None when nothing was
    tracked; ``visitor_share_pct`` is then empty. ``mean_dwell_seconds`` is the mean stay, when known.
    """

    timezone: str
    interval_seconds: int
    briefings: int
    failed: int
    start: datetime | None = None
    end: datetime | None = None
    duration: timedelta = timedelta(0)
    labels: tuple[str, ...] = ()
    mean_by_class: dict[str, float] = field(default_factory=dict)
    peak_by_class: dict[str, Peak] = field(default_factory=dict)
    share_pct: dict[str, float] = field(default_factory=dict)
    mean_total: float = 0.0
    peak_total: Peak = Peak(0, None)
    hourly: tuple[HourStat, ...] = ()
    visitors: dict[str, int] | None = None
    visitor_share_pct: dict[str, float] = field(default_factory=dict)
    mean_dwell_seconds: float | None = None

    @property
    def visitors_total(self) -> int | None:
        """Everyone who came in during the request, or None when nothing was tracked."""
        return None if self.visitors is None else sum(self.visitors.values())

    @property
    def busiest_visitor_hour(self) -> HourStat | None:
        """The hour most visitors came in (earliest on a tie); None when none came in or nothing was tracked."""
        if self.visitors is None:
            return None
        best = max(self.hourly, key=lambda h: h.visitors, default=None)
        return best if best is not None and best.visitors > 0 else None

    @property
    def customer_share_pct(self) -> dict[str, float]:
        """The customer mix: the visitors' shares when tracked, else the occupancy shares."""
        return self.visitor_share_pct if self.visitors is not None else self.share_pct

    @property
    def counted(self) -> int:
        """Briefings that produced counts."""
        return self.briefings - self.failed

    @property
    def busiest_hour(self) -> HourStat | None:
        """The hour with the highest mean occupancy (earliest on a tie)."""
        return max(self.hourly, key=lambda h: h.mean_total, default=None)

    @property
    def quietest_hour(self) -> HourStat | None:
        """The hour with the lowest mean occupancy (earliest on a tie)."""
        return min(self.hourly, key=lambda h: h.mean_total, default=None)

    def as_dict(self) -> dict[str, object]:
        """The statistics as JSON-ready data (local times as ISO strings), for prompts and APIs."""

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat(timespec="minutes") if moment else None

        tracked = self.visitors is not None
        data: dict[str, object] = {
            "timezone": self.timezone,
            "start": iso(self.start),
            "end": iso(self.end),
            "duration_minutes": round(self.duration.total_seconds() / 60, 1),
            "interval_seconds": self.interval_seconds,
            "briefings": self.briefings,
            "failed_briefings": self.failed,
            "mean_occupancy_by_class": self.mean_by_class,
            "mean_occupancy_total": self.mean_total,
            "peak_by_class": {
                label: {"count": peak.count, "at": iso(peak.at)} for label, peak in self.peak_by_class.items()
            },
            "peak_total": {"count": self.peak_total.count, "at": iso(self.peak_total.at)},
            "share_percent_by_class": self.share_pct,
            "hourly_mean_occupancy": [
                {
                    "hour": iso(h.hour),
                    "briefings": h.briefings,
                    "mean_by_class": h.mean_by_class,
                    "mean_total": h.mean_total,
                    **({"visitors": h.visitors} if tracked else {}),
                }
                for h in self.hourly
            ],
        }
        if self.visitors is not None:
            data["visitors_by_class"] = dict(self.visitors)
            data["visitors_total"] = self.visitors_total
            data["visitor_share_percent_by_class"] = dict(self.visitor_share_pct)
        if self.mean_dwell_seconds is not None:
            data["mean_dwell_minutes"] = round(self.mean_dwell_seconds / 60, 1)
        return data


@dataclass(frozen=True, slots=True)
class SummaryText:
    """A summary and where it came from; ``model`` is the LLM's model name, None for the template."""

    text: str
    source: Literal["LLM", "TEMPLATE"]
    model: str | None = None


# --- statistics -------------------------------------------------------------------------------


def _ordered_labels(points: Sequence[BriefingPoint]) -> tuple[str, ...]:
    return tuple(order_labels(label for point in points for label in point.counts))


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def _peak(points: Sequence[BriefingPoint], *, label: str | None, tz: ZoneInfo) -> Peak:
    def count(point: BriefingPoint) -> int:
        return sum(point.counts.values()) if label is None else point.counts.get(label, 0)

    best: BriefingPoint | None = None
    for point in points:
        if best is None or count(point) > count(best):
            best = point
    if best is None:
        return Peak(0, None)
    return Peak(count(best), best.captured_at.astimezone(tz))


def _hourly(points: Sequence[BriefingPoint], *, labels: Sequence[str], tz: ZoneInfo) -> tuple[HourStat, ...]:
    buckets: dict[datetime, list[BriefingPoint]] = {}
    for point in points:
        local = point.captured_at.astimezone(tz)
        buckets.setdefault(local.replace(minute=0, second=0, microsecond=0), []).append(point)
    return tuple(
        HourStat(
            hour=hour,
            briefings=len(members),
            mean_by_class={label: _mean([p.counts.get(label, 0) for p in members]) for label in labels},
            mean_total=_mean([sum(p.counts.values()) for p in members]),
            visitors=sum(p.entered for p in members),
        )
        for hour, members in sorted(buckets.items())
    )


def _percentages(sums: Mapping[str, float]) -> dict[str, float]:
    everyone = sum(sums.values())
    if everyone == 0:
        return {label: 0.0 for label in sums}
    return {label: round(100 * total / everyone, 1) for label, total in sums.items()}


def _shares(points: Sequence[BriefingPoint], *, labels: Sequence[str]) -> dict[str, float]:
    return _percentages({label: sum(p.counts.get(label, 0) for p in points) for label in labels})


def _checked_tracking(
    points: Sequence[BriefingPoint], visitors: Mapping[str, int] | None, mean_dwell_seconds: float | None
) -> None:
    if any(point.entered < 0 for point in points):
        raise ValueError("a briefing's entries must not be negative")
    if visitors is not None and any(count < 0 for count in visitors.values()):
        raise ValueError(f"visitors must not be negative: {dict(visitors)}")
    if mean_dwell_seconds is not None and not (math.isfinite(mean_dwell_seconds) and mean_dwell_seconds >= 0):
        raise ValueError(f"the mean stay must be a non-negative number of seconds: {mean_dwell_seconds}")


def compute_summary_stats(
    *,
    points: Sequence[BriefingPoint],
    tz: ZoneInfo,
    interval_seconds: int,
    visitors: Mapping[str, int] | None = None,
    mean_dwell_seconds: float | None = None,
) -> SummaryStats:
    """Occupancy statistics of a request's briefings, in local time ``tz``.

    Failed briefings count towards ``briefings`` and ``failed`` but not towards any mean or peak.
    With no briefings at all, every figure is zero and the times are None.

    ``visitors`` are the entries during the request per class, from tracking (None when the camera
    was not tracked), and ``mean_dwell_seconds`` the mean stay of those who came and left; with
    them the summary's customer numbers are visitors, and each hour counts the ``entered`` of its
    counted briefings as its visitors.
    """
    _checked_tracking(points, visitors, mean_dwell_seconds)
    stats = _occupancy_stats(points=points, tz=tz, interval_seconds=interval_seconds)
    if visitors is None:
        return replace(stats, mean_dwell_seconds=mean_dwell_seconds)
    ordered_visitors = {label: visitors[label] for label in order_labels(visitors)}
    return replace(
        stats,
        visitors=ordered_visitors,
        visitor_share_pct=_percentages(ordered_visitors),
        mean_dwell_seconds=mean_dwell_seconds,
    )


def _occupancy_stats(*, points: Sequence[BriefingPoint], tz: ZoneInfo, interval_seconds: int) -> SummaryStats:
    ordered = sorted(points, key=lambda p: p.captured_at)
    ok = [p for p in ordered if p.error is None]
    base = SummaryStats(timezone=str(tz), interval_seconds=interval_seconds, briefings=len(ordered), failed=0)
    if not ordered:
        return base
    labels = _ordered_labels(ok)
    start = ordered[0].captured_at.astimezone(tz)
    end = ordered[-1].captured_at.astimezone(tz)
    return SummaryStats(
        timezone=str(tz),
        interval_seconds=interval_seconds,
        briefings=len(ordered),
        failed=len(ordered) - len(ok),
        start=start,
        end=end,
        duration=end - start + timedelta(seconds=interval_seconds),
        labels=labels,
        mean_by_class={label: _mean([p.counts.get(label, 0) for p in ok]) for label in labels},
        peak_by_class={label: _peak(ok, label=label, tz=tz) for label in labels},
        share_pct=_shares(ok, labels=labels),
        mean_total=_mean([sum(p.counts.values()) for p in ok]),
        peak_total=_peak(ok, label=None, tz=tz),
        hourly=_hourly(ok, labels=labels, tz=tz),
    )


# --- the LLM prompt ---------------------------------------------------------------------------


def build_summary_messages(*, stats: SummaryStats, custom: Sequence[str], business_context: str) -> list[ChatMessage]:
    """The chat messages asking for the summary; the statistics travel as JSON."""
    system = (
        f"You are a retail operations consultant advising the owner of {business_context}. "
        "You write in a formal, business writing style."
    )
    instructions = "\n".join(f"- {line}" for line in custom) or "- (none)"
    if stats.visitors is None:
        about = (
            "Below are the occupancy statistics a people-counting camera recorded during one "
            "monitoring session of the store (counts are people present at each check, by class; "
            "'male' = men, 'female' = women)."
        )
        customers = "the numbers of female and male customers"
    else:
        about = (
            "Below are the statistics a people-counting camera recorded during one monitoring "
            "session of the store. 'visitors_by_class' are the customers who came in through the "
            "entrance, each counted once by a person tracker ('male' = men, 'female' = women), and "
            "each hour's 'visitors' are those who came in during that hour: these are the customer "
            "numbers. The occupancy figures are people present at each check, so the same person "
            "appears at many checks: never add them up to count customers."
        )
        customers = "the numbers of female and male customers (the visitors)"
    if stats.mean_dwell_seconds is not None:
        about += " 'mean_dwell_minutes' is how long a visitor stayed on average."
        customers += " and the average stay"
    user = (
        f"{about}\n\n"
        f"Statistics (JSON):\n{json.dumps(stats.as_dict(), ensure_ascii=False)}\n\n"
        "Write:\n"
        f"1. A three-line summary of the day that includes {customers}.\n"
        "2. Detailed, concrete advice on running the store better (staffing, restocking, "
        "promotions, layout), tied to the hours and figures above.\n\n"
        "Use a formal tone and business writing style. Write in Korean unless the owner's "
        "instructions below ask for another language.\n"
        f"Owner's instructions:\n{instructions}"
    )
    return [ChatMessage("system", system), ChatMessage("user", user)]


# --- the template summary ---------------------------------------------------------------------

_KO_CLASS = {"male": "남성", "female": "여성", "person": "손님"}
_EN_CLASS = {"male": "men", "female": "women", "person": "people"}


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _whole_minutes(duration: timedelta) -> int | None:
    """The duration in whole minutes (at least 1), or None when it is under a minute."""
    if duration.total_seconds() < 60:
        return None
    return max(round(duration.total_seconds() / 60), 1)


def _ko_duration(duration: timedelta) -> str:
    minutes = _whole_minutes(duration)
    if minutes is None:
        return "1분 미만"
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}시간 {rest}분"
    return f"{hours}시간" if hours else f"{rest}분"


def _en_duration(duration: timedelta) -> str:
    minutes = _whole_minutes(duration)
    if minutes is None:
        return "less than a minute"
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{rest} min"] if rest or not hours else []
    return " ".join(parts)


def _en_count(value: float, singular: str, plural: str) -> str:
    """``1 person``, ``0 people``, ``1.5 people``: singular only for exactly one."""
    return f"{_num(value)} {singular if _num(value) == '1' else plural}"


def _by_class(stats: SummaryStats, values: Mapping[str, float], *, ko: bool, unit: str) -> str:
    names = _KO_CLASS if ko else _EN_CLASS
    return ", ".join(f"{names.get(label, label)} {_num(values[label])}{unit}" for label in stats.labels)


_EN_SINGULAR = {"male": "man", "female": "woman", "person": "person"}


def _ko_dwell(seconds: float) -> str:
    """``40초``, ``7.5분``: seconds under a minute, else minutes to one decimal."""
    if seconds < 59.5:
        return f"{max(1, math.floor(seconds + 0.5))}초"
    return f"{_num(round(seconds / 60, 1))}분"


def _en_dwell(seconds: float) -> str:
    """``40 seconds``, ``1 second``, ``7.5 min``."""
    if seconds < 59.5:
        whole = max(1, math.floor(seconds + 0.5))
        return f"{whole} second{'' if whole == 1 else 's'}"
    return f"{_num(round(seconds / 60, 1))} min"


def _ko_ro(phrase: str) -> str:
    """``으로`` or ``로`` after ``phrase`` (``7분으로``, ``40초로``), by its last syllable."""
    syllables = [ord(char) - 0xAC00 for char in phrase if "가" <= char <= "힣"]
    final = syllables[-1] % 28 if syllables else 0
    return "으로" if final not in (0, 8) else "로"


def _visitor_shares(stats: SummaryStats, *, ko: bool) -> str | None:
    """The visitors' mix (``남성 57.1%, 여성 42.9%``) when men or women are among several classes."""
    visitors = stats.visitors or {}
    if len(visitors) < 2 or not {"male", "female"} & set(visitors):
        return None
    names = _KO_CLASS if ko else _EN_CLASS
    return ", ".join(f"{names.get(label, label)} {_num(stats.visitor_share_pct[label])}%" for label in visitors)


def _ko_visitor_line(stats: SummaryStats, *, start: datetime, end: datetime) -> str:
    visitors, total = stats.visitors or {}, stats.visitors_total or 0
    if total == 0:
        return "2. 기록된 시간 동안 매장에 들어온 방문객은 없었습니다."
    if list(visitors) == ["person"]:
        items = f"{total}명"
    else:
        items = ", ".join(f"{_KO_CLASS.get(label, label)} {count}명" for label, count in visitors.items())
        items += f"(합계 {total}명)" if len(visitors) > 1 else ""
    when = "당일" if start.date() == end.date() else "기간 중"
    line = f"2. {when} 방문객은 {items}"
    shares = _visitor_shares(stats, ko=True)
    if shares:
        line += f"{_ko_ro(items)} 성별 비중은 {shares}"
    if stats.mean_dwell_seconds is not None:
        return f"{line}이며, 평균 체류 시간은 {_ko_dwell(stats.mean_dwell_seconds)}입니다."
    return f"{line}입니다."


def _ko_hourly_line(stats: SummaryStats) -> str:
    peak = stats.peak_total
    occupancy = (
        f"평균 재실 인원은 {_num(stats.mean_total)}명, 최대 재실 인원은 {peak.at:%H:%M}의 {peak.count}명입니다."
        if peak.at is not None and peak.count > 0
        else "브리핑 시점에 매장에 머문 손님은 없었습니다."
    )
    top = stats.busiest_visitor_hour if stats.visitors_total else None
    if top is None:
        return f"3. {occupancy}"
    if len(stats.hourly) == 1:
        return f"3. {top.hour:%H}시대 방문객은 {top.visitors}명이며, {occupancy}"
    hours = ", ".join(f"{h.hour:%H}시 {h.visitors}명" for h in stats.hourly)
    return f"3. 시간대별 방문객은 {hours}{_ko_ro(hours)} {top.hour:%H}시에 가장 많았고, {occupancy}"


def _en_visitor_line(stats: SummaryStats) -> str:
    visitors, total = stats.visitors or {}, stats.visitors_total or 0
    if total == 0:
        return "2. No visitors came in during the recorded period."
    if list(visitors) == ["person"]:
        items = _en_count(total, "person", "people")
    else:
        names = [
            _en_count(count, _EN_SINGULAR.get(label, label), _EN_CLASS.get(label, label))
            for label, count in visitors.items()
        ]
        items = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        items += f" ({total} in total)" if len(visitors) > 1 else ""
    parts = [f"2. Visitors: {items}"]
    shares = _visitor_shares(stats, ko=False)
    if shares:
        parts.append(f"the customer mix was {shares}")
    if stats.mean_dwell_seconds is not None:
        parts.append(f"the average stay was {_en_dwell(stats.mean_dwell_seconds)}")
    return "; ".join(parts) + "."


def _en_hourly_line(stats: SummaryStats) -> str:
    peak = stats.peak_total
    occupancy = (
        f"average occupancy was {_en_count(stats.mean_total, 'person', 'people')}, "
        f"with a peak of {_en_count(peak.count, 'person', 'people')} at {peak.at:%H:%M}."
        if peak.at is not None and peak.count > 0
        else "no one was in the store at any briefing."
    )
    top = stats.busiest_visitor_hour if stats.visitors_total else None
    if top is None:
        return f"3. {occupancy[0].upper()}{occupancy[1:]}"
    if len(stats.hourly) == 1:
        came = _en_count(top.visitors, "visitor", "visitors")
        return f"3. {came} came in during the {top.hour:%H}:00 hour; {occupancy}"
    hours = ", ".join(f"{h.hour:%H}:00 {h.visitors}" for h in stats.hourly)
    return f"3. Visitors by hour: {hours} (most at {top.hour:%H}:00); {occupancy}"


def _ko_lines(stats: SummaryStats) -> list[str]:
    assert stats.start is not None
    assert stats.end is not None
    failed = f"(그중 실패 {stats.failed}건)" if stats.failed else ""
    if stats.visitors is not None:
        return [
            f"1. {stats.start:%m월 %d일 %H:%M}부터 {stats.end:%H:%M}까지 {_ko_duration(stats.duration)} "
            f"동안 브리핑 {stats.briefings}건을 기록했습니다{failed}.",
            _ko_visitor_line(stats, start=stats.start, end=stats.end),
            _ko_hourly_line(stats),
        ]
    dwell = (
        f" 평균 체류 시간은 {_ko_dwell(stats.mean_dwell_seconds)}입니다."
        if stats.mean_dwell_seconds is not None
        else ""
    )
    lines = [
        f"1. {stats.start:%m월 %d일 %H:%M}부터 {stats.end:%H:%M}까지 {_ko_duration(stats.duration)} "
        f"동안 브리핑 {stats.briefings}건을 기록했습니다{failed}.",
        f"2. 평균 재실 인원은 {_by_class(stats, stats.mean_by_class, ko=True, unit='명')}"
        f"(합계 {_num(stats.mean_total)}명)이며, "
        + (
            f"성별 비중은 {_by_class(stats, stats.share_pct, ko=True, unit='%')}입니다."
            if stats.mean_total
            else "방문 고객은 집계되지 않았습니다."
        )
        + dwell,
    ]
    peak, busiest = stats.peak_total, stats.busiest_hour
    if peak.at is not None and busiest is not None and peak.count > 0:
        detail = _by_class(stats, {k: float(v.count) for k, v in stats.peak_by_class.items()}, ko=True, unit="명")
        lines.append(
            f"3. 가장 붐빈 시간대는 {busiest.hour:%H}시(평균 {_num(busiest.mean_total)}명)이며, "
            f"최대 재실 인원은 {peak.at:%H:%M}의 {peak.count}명입니다(클래스별 최대: {detail})."
        )
    else:
        lines.append("3. 기록된 시간 동안 매장에 머문 손님은 없었습니다.")
    return lines


def _en_lines(stats: SummaryStats) -> list[str]:
    assert stats.start is not None
    assert stats.end is not None
    failed = f" ({stats.failed} failed)" if stats.failed else ""
    recorded = "was" if stats.briefings == 1 else "were"
    first = (
        f"1. From {stats.start:%b %d %H:%M} to {stats.end:%H:%M} ({_en_duration(stats.duration)}), "
        f"{_en_count(stats.briefings, 'briefing', 'briefings')} {recorded} recorded{failed}."
    )
    if stats.visitors is not None:
        return [first, _en_visitor_line(stats), _en_hourly_line(stats)]
    dwell = (
        f" The average stay was {_en_dwell(stats.mean_dwell_seconds)}." if stats.mean_dwell_seconds is not None else ""
    )
    lines = [
        first,
        f"2. Average occupancy was {_by_class(stats, stats.mean_by_class, ko=False, unit='')} "
        f"({_num(stats.mean_total)} in total); "
        + (
            f"the customer mix was {_by_class(stats, stats.share_pct, ko=False, unit='%')}."
            if stats.mean_total
            else "no customers were counted."
        )
        + dwell,
    ]
    peak, busiest = stats.peak_total, stats.busiest_hour
    if peak.at is not None and busiest is not None and peak.count > 0:
        average = _en_count(busiest.mean_total, "person", "people")
        most = _en_count(peak.count, "person", "people")
        lines.append(
            f"3. The busiest hour was {busiest.hour:%H}:00 (average {average}); the peak was {most} at {peak.at:%H:%M}."
        )
    else:
        lines.append("3. No customers stayed in the store during the recorded period.")
    return lines


@dataclass(frozen=True)
class _AdvicePhrases:
    """The rule-based advice of one language; placeholders are filled from the statistics."""

    peak: str
    quiet: str
    balanced: str
    skewed: str
    failed: str
    none: str
    women: str
    men: str
    short_stay: str
    long_stay: str
    english: bool = False


_KO_ADVICE = _AdvicePhrases(
    peak="- 피크 대비: {hour}시 전후가 가장 붐비므로 {before}까지 음료 재료, 컵, 결제 단말 용지를 보충하고, "
    "무인 운영 중에도 이 시간대에는 원격 응대나 순회 점검 인력을 배치하시기 바랍니다.",
    quiet="- 한산 시간대 활용: {hour}시대(평균 {mean}명)에는 시간 한정 할인이나 1+1 프로모션으로 수요를 "
    "분산하고, 청소·재고 정리·기기 점검을 이 시간에 몰아 진행하시기 바랍니다.",
    balanced="- 고객 구성: 남성 {male}%, 여성 {female}%로 비중이 비슷하므로 특정 성별에 치우치지 않은 대표 "
    "메뉴 중심으로 진열하고, 세트 메뉴로 객단가를 높이시기 바랍니다.",
    skewed="- 고객 구성: {major} 고객 비중이 {share}%로 높으므로 해당 고객층의 선호 메뉴를 진열 전면에 "
    "배치하고, 상대적으로 적은 고객층을 겨냥한 신메뉴나 쿠폰을 시험해 보시기 바랍니다.",
    failed="- 설비 점검: 브리핑 {failed}건이 실패했습니다. 카메라 연결과 조명 상태를 점검하여 데이터 누락을 "
    "줄이시기 바랍니다.",
    none="- 기록이 충분하지 않아 구체적인 제안을 드리기 어렵습니다.",
    women="여성",
    men="남성",
    short_stay="- 체류 시간: 평균 체류 시간이 {dwell}{ro} 짧으므로, 결제와 픽업 동선을 빠르게 유지하고 계산대 "
    "주변에 바로 집어 갈 수 있는 상품을 배치하시기 바랍니다.",
    long_stay="- 체류 시간: 평균 체류 시간이 {dwell}{ro} 길므로, 좌석 회전율을 점검하고 오래 머무는 고객에게 "
    "디저트나 리필 같은 추가 주문 메뉴를 제안하시기 바랍니다.",
)
_EN_ADVICE = _AdvicePhrases(
    peak="- Peak readiness: {hour}:00 is the busiest hour; restock ingredients, cups and receipt paper by "
    "{before} and schedule remote support or a walk-through inspection during that hour.",
    quiet="- Quiet hours: around {hour}:00 (average {mean} {people}), run time-limited discounts or bundle "
    "offers to spread demand, and schedule cleaning, stock checks and maintenance then.",
    balanced="- Customer mix: men ({male}%) and women ({female}%) are balanced; keep the display centred on "
    "best-sellers and use set menus to raise the average spend.",
    skewed="- Customer mix: {major} make up {share}% of visitors; feature their preferred items at the front "
    "and test coupons or new items aimed at the smaller group.",
    failed="- Equipment: {failed} {briefings} failed; check the camera connection and lighting to avoid gaps "
    "in the data.",
    none="- There is not enough data for specific advice yet.",
    women="women",
    men="men",
    short_stay="- Short visits: the average stay is {dwell}; keep checkout and pick-up fast and place grab-and-go "
    "items near the counter.",
    long_stay="- Long visits: the average stay is {dwell}; watch seat turnover and offer add-ons such as desserts "
    "or refills to guests who stay.",
    english=True,
)


_SHORT_STAY_SECONDS = 5 * 60
_LONG_STAY_SECONDS = 20 * 60


def _advice(stats: SummaryStats, phrases: _AdvicePhrases) -> list[str]:
    busiest, quietest = stats.busiest_hour, stats.quietest_hour
    advice: list[str] = []
    if busiest is not None and busiest.mean_total > 0:
        before = (busiest.hour - timedelta(minutes=30)).strftime("%H:%M")
        advice.append(phrases.peak.format(hour=f"{busiest.hour:%H}", before=before))
    if quietest is not None and busiest is not None and quietest.hour != busiest.hour:
        mean = _num(quietest.mean_total)
        people = "person" if mean == "1" else "people"
        advice.append(phrases.quiet.format(hour=f"{quietest.hour:%H}", mean=mean, people=people))
    shares = stats.customer_share_pct
    male, female = shares.get("male", 0.0), shares.get("female", 0.0)
    if (male or female) and abs(male - female) < 10:
        advice.append(phrases.balanced.format(male=_num(male), female=_num(female)))
    elif male or female:
        major, share = (phrases.women, female) if female >= male else (phrases.men, male)
        advice.append(phrases.skewed.format(major=major, share=_num(share)))
    dwell = stats.mean_dwell_seconds
    if dwell is not None and (stats.visitors_total is None or stats.visitors_total > 0):
        words = _en_dwell(dwell) if phrases.english else _ko_dwell(dwell)
        if dwell < _SHORT_STAY_SECONDS:
            advice.append(phrases.short_stay.format(dwell=words, ro=_ko_ro(words)))
        elif dwell >= _LONG_STAY_SECONDS:
            advice.append(phrases.long_stay.format(dwell=words, ro=_ko_ro(words)))
    if stats.failed:
        briefings = "briefing" if stats.failed == 1 else "briefings"
        advice.append(phrases.failed.format(failed=stats.failed, briefings=briefings))
    return advice or [phrases.none]


def template_summary(*, stats: SummaryStats, custom: Sequence[str]) -> str:
    """A rule-based summary of ``stats``: three summary lines and concrete advice.

    Korean unless the instructions ask for English; handles requests with no briefings, or with
    only failed ones.
    """
    english = read_style(custom).language == "en"
    if stats.briefings == 0 or stats.counted == 0:
        if english:
            return (
                "No briefings with counts were recorded for this request, so there is nothing "
                "to summarise yet. Please check the camera and run a longer briefing."
            )
        return (
            "이 요청에는 인원이 집계된 브리핑이 없어 요약할 내용이 없습니다. "
            "카메라 연결을 확인하신 뒤 브리핑을 더 길게 실행해 주시기 바랍니다."
        )
    if english:
        head, lines, advice = "[Summary]", _en_lines(stats), ["", "[Advice]", *_advice(stats, _EN_ADVICE)]
    else:
        head, lines, advice = "[요약]", _ko_lines(stats), ["", "[운영 제안]", *_advice(stats, _KO_ADVICE)]
    return "\n".join([head, *lines, *advice])


async def write_summary(
    *,
    stats: SummaryStats,
    custom: Sequence[str],
    llm: LLMClient | None,
    settings: Settings,
    user_id: str,
) -> SummaryText:
    """The summary of a request: the LLM's (temperature 0.7, top_p 0.9) or the template's.

    Never raises for an LLM failure (no client, budget, timeout, 429/5xx, empty answer): those give
    :func:`template_summary` with ``source="TEMPLATE"`` and ``model=None``. With no counted
    briefings the template is used directly: there is nothing for a model to analyse.
    """
    fallback = SummaryText(text=template_summary(stats=stats, custom=custom), source="TEMPLATE")
    if llm is None or stats.counted == 0:
        return fallback
    messages = build_summary_messages(stats=stats, custom=custom, business_context=settings.business_context)
    try:
        reply = await llm.chat(
            purpose="summary",
            messages=messages,
            user_id=user_id,
            temperature=SUMMARY_TEMPERATURE,
            top_p=SUMMARY_TOP_P,
            max_tokens=_SUMMARY_MAX_TOKENS,
        )
    except LLMUnavailable as exc:
        log.info("summary from the template: LLM unavailable (%s)", exc)
        return fallback
    return SummaryText(text=reply.text, source="LLM", model=reply.model)
