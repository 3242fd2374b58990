"""Find every number a caption states, in Korean or English, with where it stands.

The caption validator (``language.captions``) needs to know each number a model wrote and its
position, so it can compare the number with the detector's counts and pair it with the class word
next to it. This module only reads text: digits (``2``, ``2명``), native Korean numerals before a
counter (``두 명``, ``한 분``, ``스물한 명``) or standing alone (``둘이``, ``하나``), Sino-Korean numerals
before ``명`` (``삼 명``), English number words (``two``, ``twenty-one``, ``a couple of``, ``a man``)
and zero phrases (``한 명도 없``, ``한 명도 들어오지 않``, ``no women``).

Clock times, dates, spans of time and the camera's name are masked first (replaced by spaces, so
offsets hold): ``오후 3시 5분`` or ``3:05 PM`` is a time, and ``지난 1분 동안``, ``30초``, ``in the last
2 minutes`` a span (:func:`find_durations` reads its length), not a head count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "NOBODY_PATTERN",
    "DurationMention",
    "NumberMention",
    "extract_numbers",
    "find_durations",
    "mask_non_counts",
]

_HANGUL = "가-힣"

_NATIVE_UNITS: dict[str, int] = {
    "하나": 1,
    "한": 1,
    "둘": 2,
    "두": 2,
    "셋": 3,
    "세": 3,
    "넷": 4,
    "네": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
}
_NATIVE_TENS: dict[str, int] = {"열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50}
_SINO_DIGITS: dict[str, int] = {
    "일": 1,
    "이": 2,
    "삼": 3,
    "사": 4,
    "오": 5,
    "육": 6,
    "륙": 6,
    "칠": 7,
    "팔": 8,
    "구": 9,
}
_EN_UNITS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "dozen": 12,
}
_EN_TENS = ("twenty", "thirty", "forty", "fifty")
_EN_SINGULAR_PEOPLE = "man|woman|person|customer|guest|visitor|shopper|gentleman|lady|male|female|boy|girl"


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of the given words, longest first so prefixes never win."""
    return "|".join(sorted(words, key=len, reverse=True))


# A Korean counter for people, and what may follow it without making it another word
# (``분위기``, ``분야``, ``명확`` and ``명단`` are not counters).
_KO_COUNTER = r"(?:명(?![확단소령예칭함성시절])|분(?![위야석명량류리할배포노산실말비주]))"
_KO_NATIVE = (
    rf"(?:(?:{_alternation(_NATIVE_TENS)})(?:{_alternation(_NATIVE_UNITS)})?"
    rf"|(?:{_alternation(_NATIVE_UNITS)}))"
)
_KO_NATIVE_COUNTED = re.compile(rf"(?<![{_HANGUL}])(?P<num>{_KO_NATIVE})\s?(?P<counter>{_KO_COUNTER})(?P<tail>\s?의)?")
# Full native forms may stand without a counter when a particle or a non-Hangul character follows.
_KO_NATIVE_ALONE = re.compile(
    rf"(?<![{_HANGUL}])(?P<num>하나|둘|셋|넷|다섯|여섯|일곱|여덟|아홉|혼자)"
    rf"(?=[이가은는도과와랑뿐씩밖만]|입니|예요|$|[^{_HANGUL}])"
)
_KO_SINO_COUNTED = re.compile(
    rf"(?<![{_HANGUL}])(?P<num>[{''.join(_SINO_DIGITS)}]?십[{''.join(_SINO_DIGITS)}]?"
    rf"|[{''.join(_SINO_DIGITS)}])\s?(?P<counter>명(?![확단소령예칭함성시절]))(?P<tail>\s?의)?"
)
_KO_ZERO = re.compile(r"(?<![가-힣])(?:하나|한\s?명|한\s?분|한\s?사람)도\s?(?:없|[가-힣]{1,4}지\s?(?:않|못))")
_DIGITS = re.compile(
    rf"(?<![\d.])(?P<num>\d+(?:\.\d+)?)(?![\d])(?:\s?(?P<counter>{_KO_COUNTER}|[{_HANGUL}]))?"
    rf"(?P<tail>(?<=[명분])\s?의)?"
)
_EN_WORD = re.compile(
    rf"\b(?P<num>(?:{'|'.join(_EN_TENS)})[- ](?:one|two|three|four|five|six|seven|eight|nine)"
    rf"|{_alternation(_EN_UNITS)})\b",
    re.IGNORECASE,
)
_EN_COUPLE = re.compile(r"\ba\s+(?:couple|pair)\b", re.IGNORECASE)
_EN_ARTICLE = re.compile(
    rf"\b(?:a|an)\s+(?=(?:single\s+|lone\s+|young\s+|male\s+|female\s+)?(?:{_EN_SINGULAR_PEOPLE})\b)",
    re.IGNORECASE,
)
_EN_NO = re.compile(
    r"\bno\s+(?=(?:male\s+|female\s+)?(?:men|women|males|females|man|woman|guys|ladies|"
    r"customers|people|guests|visitors|shoppers|persons)\b)",
    re.IGNORECASE,
)

NOBODY_PATTERN = re.compile(
    r"아무도|아무\s?(?:손님|사람|고객)도|텅\s?(?:비|빈)|비어\s?있|비었|"
    r"\bnobody\b|\bno[- ]one\b|\bempty\b|\bno\s+(?:customers|people|guests|visitors|shoppers)\b|"
    r"\bnot\s+a\s+(?:single\s+)?(?:soul|person|customer)\b",
    re.IGNORECASE,
)

_TIME_PATTERNS = (
    re.compile(r"\b\d{4}\s*[-./년]\s*\d{1,2}\s*[-./월]\s*\d{1,2}\s*일?"),
    re.compile(r"\d{1,2}\s*월\s*\d{1,2}\s*일|\d{4}\s*년"),
    re.compile(r"\b\d{1,2}(?::\d{2}){1,2}(?:\s*(?:am|pm|a\.m\.|p\.m\.))?", re.IGNORECASE),
    re.compile(r"\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.|o'clock)", re.IGNORECASE),
    re.compile(
        r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+o'clock",
        re.IGNORECASE,
    ),
    re.compile(r"(?:오전|오후|새벽|아침|저녁|밤|낮)?\s*\d{1,2}\s*시(?!간)(?:\s*\d{1,2}\s*분)?(?:\s*\d{1,2}\s*초)?"),
)

# Spans of time. ``시간`` and ``초`` only ever measure time; a digit before ``분`` is a span only
# with a word that makes it one (``지난 1분``, ``1분 동안``, ``1분간``), since ``2분`` also counts
# people politely (``손님 2분``).
_KO_SPAN = re.compile(
    r"(?:(?:지난|최근|지나간|과거)\s*)?(?<![\d.])(?:"
    r"(?P<h>\d+(?:\.\d+)?)\s*시간(?:\s*(?P<hm>\d+)\s*분)?(?:\s*(?P<hs>\d+)\s*초)?"
    rf"|(?P<nh>{_alternation(_NATIVE_UNITS)}|반)\s?시간(?:\s*(?P<nhm>\d+)\s*분)?"
    r"|(?P<m>\d+)\s*분\s*(?P<ms>\d+(?:\.\d+)?)\s*초"
    r"|(?P<s>\d+(?:\.\d+)?)\s*초(?![반과기대])"
    r")"
)
_KO_MINUTES = re.compile(
    r"(?P<pre>(?:지난|최근|지나간|과거)\s*)?(?<![\d.])(?P<m>\d+(?:\.\d+)?)\s*(?P<unit>분)"
    r"(?P<post>\s*(?:동안|간(?![식판])|사이|새(?![로벽])|전(?![체부원])|이내|내(?![내부])|째|만에))?"
)
_EN_UNIT_SECONDS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600}
_EN_SPAN_NUMBER = (
    rf"\d+(?:\.\d+)?|(?:{'|'.join(_EN_TENS)})[- ](?:one|two|three|four|five|six|seven|eight|nine)"
    rf"|{_alternation(_EN_UNITS)}|an?"
)
_EN_SPAN = re.compile(
    rf"\b(?P<n>{_EN_SPAN_NUMBER})(?:\s+|-)(?P<unit>second|sec|minute|min|hour|hr)s?\b"
    r"(?P<half>\s+and\s+a\s+half\b)?",
    re.IGNORECASE,
)
_EN_LAST_UNIT = re.compile(r"\b(?:last|past|previous|recent)\s+(?P<unit>second|minute|hour)\b", re.IGNORECASE)
_EN_HALF = re.compile(r"\bhalf\s+an?\s+(?P<unit>minute|hour)\b", re.IGNORECASE)
_EN_SPAN_JOIN = re.compile(r"\s*(?:,\s*|\s+and\s+|\s+)?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NumberMention:
    """One number stated in a text.

    ``start``/``end`` span the numeral (and its counter, for Korean); ``korean`` says the number was
    written the Korean way (a Korean numeral or a counter after it), so its class word is expected
    before it (``남자 2명``), or after it when ``genitive`` (``두 명의 남자``); otherwise after it
    (``2 men``).
    """

    value: float
    start: int
    end: int
    korean: bool
    genitive: bool = False


@dataclass(frozen=True, slots=True)
class DurationMention:
    """A span of time stated in a text (``지난 1분 동안``, ``30초``, ``the last 2 minutes``), in seconds."""

    seconds: float
    start: int
    end: int


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _mask_clock(text: str, *, camera_name: str | None) -> str:
    """``text`` with the camera's name, dates and clock times blanked."""
    masked = text
    if camera_name and camera_name.strip():
        for found in re.finditer(re.escape(camera_name.strip()), masked, re.IGNORECASE):
            masked = _blank(masked, found.start(), found.end())
    for pattern in _TIME_PATTERNS:
        for found in pattern.finditer(masked):
            masked = _blank(masked, found.start(), found.end())
    return masked


def _en_span_value(number: str) -> float:
    lowered = number.lower()
    if lowered in ("a", "an"):
        return 1
    if re.fullmatch(r"\d+(?:\.\d+)?", lowered):
        return float(lowered)
    return _english_value(lowered)


def _korean_spans(text: str) -> list[DurationMention]:
    found: list[DurationMention] = []
    for match in _KO_SPAN.finditer(text):
        if match["h"] is not None:
            seconds = float(match["h"]) * 3600 + int(match["hm"] or 0) * 60 + int(match["hs"] or 0)
        elif match["nh"] is not None:
            hours = 0.5 if match["nh"] == "반" else _NATIVE_UNITS[match["nh"]]
            seconds = hours * 3600 + int(match["nhm"] or 0) * 60
        elif match["m"] is not None:
            seconds = int(match["m"]) * 60 + float(match["ms"])
        else:
            seconds = float(match["s"])
        found.append(DurationMention(seconds, match.start(), match.end()))
    for match in _KO_MINUTES.finditer(text):
        if match["pre"] or match["post"]:
            found.append(DurationMention(float(match["m"]) * 60, match.start(), match.end("unit")))
    return found


def _english_spans(text: str) -> list[DurationMention]:
    found: list[DurationMention] = []
    for match in _EN_SPAN.finditer(text):
        unit = _EN_UNIT_SECONDS[match["unit"].lower()]
        value = _en_span_value(match["n"]) + (0.5 if match["half"] else 0)
        found.append(DurationMention(value * unit, match.start(), match.end()))
    for match in _EN_LAST_UNIT.finditer(text):
        found.append(DurationMention(_EN_UNIT_SECONDS[match["unit"].lower()], match.start(), match.end()))
    for match in _EN_HALF.finditer(text):
        found.append(DurationMention(_EN_UNIT_SECONDS[match["unit"].lower()] / 2, match.start(), match.end()))
    return found


def _joined_spans(text: str, spans: list[DurationMention]) -> list[DurationMention]:
    """Overlaps dropped (the earliest, then longest, wins), and a larger unit followed by a smaller
    one joined into one span (``1 minute and 30 seconds`` is 90 s, not 60 s and 30 s)."""
    ordered = sorted(spans, key=lambda d: (d.start, -(d.end - d.start)))
    kept: list[DurationMention] = []
    for span in ordered:
        if kept and span.start < kept[-1].end:
            continue
        last = kept[-1] if kept else None
        gap = text[last.end : span.start] if last else ""
        if last is not None and span.seconds < last.seconds and _EN_SPAN_JOIN.fullmatch(gap):
            kept[-1] = DurationMention(last.seconds + span.seconds, last.start, span.end)
            continue
        kept.append(span)
    return kept


def find_durations(text: str, *, camera_name: str | None = None) -> list[DurationMention]:
    """Every span of time ``text`` states, in order, with its length in seconds.

    Korean: ``1시간 30분``, ``한 시간``, ``1분 30초``, ``30초``, and a digit before ``분`` with a word
    that makes it a span (``지난 1분``, ``1분 동안``, ``1분간``). English: ``30 seconds``, ``two
    minutes``, ``an hour and a half``, ``half an hour``, ``the last minute``. Clock times, dates and
    the camera's name are not spans.
    """
    masked = _mask_clock(text, camera_name=camera_name)
    return _joined_spans(masked, _korean_spans(masked) + _english_spans(masked))


def mask_non_counts(text: str, *, camera_name: str | None = None) -> str:
    """Blank out what carries digits but no head count: the camera's name, clock times, dates,
    spans of time (:func:`find_durations`) and "nobody" phrases.

    Offsets are preserved (each masked character becomes a space).
    """
    masked = _mask_clock(text, camera_name=camera_name)
    for span in _joined_spans(masked, _korean_spans(masked) + _english_spans(masked)):
        masked = _blank(masked, span.start, span.end)
    for found in NOBODY_PATTERN.finditer(masked):
        masked = _blank(masked, found.start(), found.end())
    return masked


def _native_value(word: str) -> int:
    for tens_word, tens in sorted(_NATIVE_TENS.items(), key=lambda kv: -len(kv[0])):
        if word.startswith(tens_word):
            rest = word[len(tens_word) :]
            return tens + (_NATIVE_UNITS[rest] if rest else 0)
    return 1 if word == "혼자" else _NATIVE_UNITS[word]


def _sino_value(word: str) -> int:
    if "십" not in word:
        return _SINO_DIGITS[word]
    tens_part, _, unit_part = word.partition("십")
    tens = _SINO_DIGITS[tens_part] if tens_part else 1
    return tens * 10 + (_SINO_DIGITS[unit_part] if unit_part else 0)


def _english_value(word: str) -> int:
    lowered = word.lower()
    if lowered in _EN_UNITS:
        return _EN_UNITS[lowered]
    tens, unit = re.split(r"[- ]", lowered, maxsplit=1)
    return _EN_UNITS[tens] + _EN_UNITS[unit]


def _korean_mentions(text: str) -> list[NumberMention]:
    found: list[NumberMention] = []
    for match in _KO_ZERO.finditer(text):
        found.append(NumberMention(0, match.start(), match.end(), korean=True))
    for match in _KO_NATIVE_COUNTED.finditer(text):
        value = _native_value(match["num"])
        genitive = match["tail"] is not None
        found.append(NumberMention(value, match.start(), match.end(), korean=True, genitive=genitive))
    for match in _KO_NATIVE_ALONE.finditer(text):
        found.append(NumberMention(_native_value(match["num"]), match.start(), match.end(), True))
    for match in _KO_SINO_COUNTED.finditer(text):
        genitive = match["tail"] is not None
        value = _sino_value(match["num"])
        found.append(NumberMention(value, match.start(), match.end(), korean=True, genitive=genitive))
    return found


def _digit_mentions(text: str) -> list[NumberMention]:
    found: list[NumberMention] = []
    for match in _DIGITS.finditer(text):
        korean = match["counter"] is not None
        end = match.end() if korean else match.end("num")
        genitive = match["tail"] is not None
        value = float(match["num"])
        found.append(NumberMention(value, match.start(), end, korean=korean, genitive=genitive))
    return found


def _english_mentions(text: str) -> list[NumberMention]:
    found: list[NumberMention] = []
    for match in _EN_WORD.finditer(text):
        found.append(NumberMention(_english_value(match["num"]), match.start(), match.end(), False))
    for match in _EN_COUPLE.finditer(text):
        found.append(NumberMention(2, match.start(), match.end(), korean=False))
    for match in _EN_ARTICLE.finditer(text):
        found.append(NumberMention(1, match.start(), match.end(), korean=False))
    for match in _EN_NO.finditer(text):
        found.append(NumberMention(0, match.start(), match.end(), korean=False))
    return found


def _without_overlaps(mentions: list[NumberMention]) -> list[NumberMention]:
    """Keep the earliest, then longest, mention wherever two overlap (``한 명도 없`` over ``한 명``)."""
    ordered = sorted(mentions, key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[NumberMention] = []
    for mention in ordered:
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept


def extract_numbers(text: str, *, camera_name: str | None = None) -> list[NumberMention]:
    """Every number ``text`` states as a head count, in order of appearance.

    Times, dates, the camera's name and "nobody" phrases are not numbers here (see
    :func:`mask_non_counts`); ``한 명도 없`` and ``no women`` are zeros.
    """
    masked = mask_non_counts(text, camera_name=camera_name)
    mentions = _korean_mentions(masked) + _digit_mentions(masked) + _english_mentions(masked)
    return _without_overlaps(mentions)
