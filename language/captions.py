"""Captions for one tick: an LLM sentence checked against the counts, or a template sentence.

:func:`write_caption` is the one entry point. It asks the LLM (when there is one and the user's
hourly budget allows) for one or two sentences in the style of the user's instructions, checks the
answer with :func:`check_caption` — every number it states equals a count (or the total), every
class present is mentioned, and it does not claim the store is empty when it is not — and falls back
to :func:`template_caption` for any failure. The template follows the instructions it can read
(language, politeness, brevity) and always passes the same check.

With a :class:`Movement` (people who came in and went out through the entrance since the request's
previous briefing, from the camera watcher's tracker), both add one sentence about it (``지난 1분 동안
2명이 들어오고 1명이 나갔습니다.``), and the check also holds the caption to it: every number it states
about coming in or going out equals the entries or exits, every "nobody came in" is true, the span
it names is the span measured, and the entries and exits above zero are stated.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from language.llm import ChatMessage, LLMClient, LLMUnavailable
from language.numbers import NOBODY_PATTERN, NumberMention, extract_numbers, find_durations, mask_non_counts
from language.style import DEFAULT_CUSTOM, CaptionStyle, order_labels, read_style

__all__ = [
    "DEFAULT_CUSTOM",
    "Caption",
    "CaptionCheck",
    "CaptionStyle",
    "Movement",
    "build_caption_messages",
    "check_caption",
    "read_style",
    "template_caption",
    "write_caption",
]

log = logging.getLogger(__name__)

_MAX_CAPTION_CHARS = 400

# Words that name each class, Korean and English. A label not listed must appear literally.
_CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "male": (
        "남자",
        "남성",
        "남학생",
        "아저씨",
        "신사",
        "남녀",
        r"\bm[ae]n\b",
        r"\bmales?\b",
        r"\bgentlem[ae]n\b",
        r"\bguys?\b",
        r"\bboys?\b",
    ),
    "female": (
        "여자",
        "여성",
        "여학생",
        "아주머니",
        "숙녀",
        "남녀",
        r"\bwom[ae]n\b",
        r"\bfemales?\b",
        r"\blad(?:y|ies)\b",
        r"\bgirls?\b",
    ),
    "person": (
        "사람",
        "손님",
        "고객",
        "인원",
        "방문객",
        r"\bpersons?\b",
        r"\bpeople\b",
        r"\bcustomers?\b",
        r"\bguests?\b",
        r"\bvisitors?\b",
        r"\bshoppers?\b",
    ),
}
_SHARED_WORDS = frozenset({"남녀"})  # names several classes: counts as a mention, never pairs


@dataclass(frozen=True, slots=True)
class Movement:
    """People who crossed the entrance line during the ``seconds`` since the request's previous
    briefing: ``entered`` came in, ``exited`` went out (everyone together, not by class)."""

    entered: int
    exited: int
    seconds: float

    def __post_init__(self) -> None:
        if self.entered < 0 or self.exited < 0:
            raise ValueError(f"entries and exits must not be negative: {self.entered}, {self.exited}")
        if not math.isfinite(self.seconds) or self.seconds < 0:
            raise ValueError(f"the span must be a non-negative number of seconds: {self.seconds}")


@dataclass(frozen=True, slots=True)
class Caption:
    """A caption and where it came from: the LLM, or the template."""

    text: str
    source: Literal["LLM", "TEMPLATE"]


@dataclass(frozen=True, slots=True)
class CaptionCheck:
    """The verdict on a caption: ``ok`` when ``problems`` is empty."""

    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the caption may be shown."""
        return not self.problems


# --- templates --------------------------------------------------------------------------------

_KO_WORDS = {"male": "남자", "female": "여자", "person": "손님"}
_EN_WORDS = {
    "male": ("man", "men"),
    "female": ("woman", "women"),
    "person": ("person", "people"),
}


def _present(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Non-zero classes, male, female and person first, then the others in the given order."""
    return [(label, counts[label]) for label in order_labels(counts) if counts[label] > 0]


def _ko_subject(phrase: str) -> str:
    """``phrase`` with the subject particle its last syllable takes (``2명이``, ``2개가``)."""
    syllables = [ord(char) - 0xAC00 for char in phrase if "가" <= char <= "힣"]
    has_final = not syllables or syllables[-1] % 28 != 0
    return f"{phrase}{'이' if has_final else '가'}"


def _ko_item(label: str, count: int) -> str:
    if label in _KO_WORDS:
        return f"{_KO_WORDS[label]} {count}명"
    return f"{label} {count}개"


def _en_item(label: str, count: int) -> str:
    if label in _EN_WORDS:
        singular, plural = _EN_WORDS[label]
    else:
        singular, plural = label, label if label.endswith("s") else f"{label}s"
    return f"{count} {singular if count == 1 else plural}"


def _en_there_verb(present: list[tuple[str, int]]) -> str:
    """``is`` or ``are`` after "there": it agrees with the first thing named, as English does
    ("There is 1 man and 1 woman", "There are 2 men and 1 woman"); ``is`` for nobody."""
    return "are" if present and present[0][1] != 1 else "is"


def _en_join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _camera_phrase(camera_name: str, *, word: str) -> str:
    """``입구 카메라`` / ``Entrance camera``: the name, with the word for camera unless it has one."""
    if camera_name.lower().endswith(("camera", "카메라", "cam")):
        return camera_name
    return f"{camera_name} {word}"


def _ko_time(local_time: datetime) -> str:
    half = "오전" if local_time.hour < 12 else "오후"
    hour = local_time.hour % 12 or 12
    return f"{half} {hour}시 {local_time.minute}분"


def _en_time(local_time: datetime) -> str:
    half = "AM" if local_time.hour < 12 else "PM"
    return f"{local_time.hour % 12 or 12}:{local_time.minute:02d} {half}"


def _ko_caption(present: list[tuple[str, int]], *, style: CaptionStyle, camera_name: str, local_time: datetime) -> str:
    items = ", ".join(_ko_item(label, count) for label, count in present)
    if not style.concise and len(present) > 1 and all(label in _KO_WORDS for label, _ in present):
        items = f"{items}(총 {sum(count for _, count in present)}명)"
    if style.polite:
        body = f"현재 매장에는 {_ko_subject(items)} 있습니다." if present else "현재 매장에는 아무도 없습니다."
    else:
        body = f"지금 매장에 {_ko_subject(items)} 있어." if present else "지금 매장에 아무도 없어."
    if style.concise:
        return body
    if not camera_name:
        return f"{_ko_time(local_time)} 기준, {body}"
    camera = _camera_phrase(camera_name, word="카메라")
    return f"{_ko_time(local_time)}, {camera} 기준으로 {body}"


def _en_caption(present: list[tuple[str, int]], *, style: CaptionStyle, camera_name: str, local_time: datetime) -> str:
    total = sum(count for _, count in present)
    items = _en_join([_en_item(label, count) for label, count in present])
    if style.concise:
        if style.polite:
            verb = _en_there_verb(present)
            return (
                f"There {verb} {items} in the store right now."
                if present
                else ("There is nobody in the store right now.")
            )
        return f"Right now the store has {items}." if present else "The store is empty right now."
    if len(present) > 1:
        items = f"{items} ({total} in total)"
    when = _en_time(local_time)
    camera = f"the {_camera_phrase(camera_name, word='camera')}" if camera_name else "the camera"
    if style.polite:
        verb = _en_there_verb(present)
        seen = f"there {verb} {items} in the store" if present else "there is nobody in the store"
        return f"As of {when}, {seen}, according to {camera}."
    seen = f"{items} in the store" if present else "nobody in the store"
    return f"It's {when} and {camera} shows {seen}."


def _span_parts(seconds: float) -> tuple[int, int, int]:
    """The span as (hours, minutes, seconds) the way a person says it: whole seconds under a
    minute (at least 1), half minutes under ten minutes, whole minutes above."""
    whole = max(1, math.floor(seconds + 0.5))
    if whole < 60:
        return 0, 0, whole
    if whole < 600:
        halves = math.floor(whole / 30 + 0.5) * 30
        return 0, halves // 60, halves % 60
    minutes = math.floor(whole / 60 + 0.5)
    return minutes // 60, minutes % 60, 0


def _ko_span(seconds: float) -> str:
    """``지난 1분 동안``, ``지난 30초 동안``, ``지난 1시간 30분 동안``."""
    hours, minutes, rest = _span_parts(seconds)
    parts = [f"{hours}시간"] * bool(hours) + [f"{minutes}분"] * bool(minutes) + [f"{rest}초"] * bool(rest)
    return f"지난 {' '.join(parts)} 동안"


def _en_span(seconds: float) -> str:
    """``the last minute``, ``the last 30 seconds``, ``the last 90 seconds``, ``the last 2 hours``."""
    hours, minutes, rest = _span_parts(seconds)
    if rest or (minutes == 0 and hours == 0):
        total = hours * 3600 + minutes * 60 + rest
        return "the last second" if total == 1 else f"the last {total} seconds"
    if hours and minutes:
        return f"the last {hours * 60 + minutes} minutes"
    if hours:
        return "the last hour" if hours == 1 else f"the last {hours} hours"
    return "the last minute" if minutes == 1 else f"the last {minutes} minutes"


def _ko_movement(movement: Movement, *, style: CaptionStyle) -> str:
    """``지난 1분 동안 2명이 들어오고 1명이 나갔습니다.``; zeros are said (or, when brief, left out)."""
    end = "습니다" if style.polite else "어"
    none = "없습니다" if style.polite else "없어"
    came, left = _ko_subject(f"{movement.entered}명"), _ko_subject(f"{movement.exited}명")
    if movement.entered and movement.exited:
        body = f"{came} 들어오고 {left} 나갔{end}"
    elif movement.entered:
        body = f"{came} 들어왔{end}" if style.concise else f"{came} 들어왔고, 나간 사람은 {none}"
    elif movement.exited:
        body = f"{left} 나갔{end}" if style.concise else f"들어온 사람은 없고, {left} 나갔{end}"
    else:
        body = f"드나든 사람은 {none}"
    return f"{_ko_span(movement.seconds)} {body}."


def _en_people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def _en_movement(movement: Movement, *, style: CaptionStyle) -> str:
    """``In the last minute, 2 people came in and 1 left.``; zeros are said (or, when brief, left out)."""
    came, left = movement.entered, movement.exited
    if came and left:
        body = f"{_en_people(came)} came in and {left} left"
    elif came:
        body = f"{_en_people(came)} came in" if style.concise else f"{_en_people(came)} came in and nobody left"
    elif left:
        body = f"{_en_people(left)} left" if style.concise else f"nobody came in and {_en_people(left)} left"
    else:
        body = "nobody came in or left"
    return f"In {_en_span(movement.seconds)}, {body}."


def template_caption(
    *,
    counts: Mapping[str, int],
    camera_name: str,
    local_time: datetime,
    custom: Sequence[str],
    movement: Movement | None = None,
) -> str:
    """The rule-based caption for ``counts``, in the language and tone the instructions ask for.

    Korean by default (``현재 매장에는 남자 2명, 여자 1명이 있습니다.``), English when asked
    (``There are 2 men and 1 woman in the store right now.``); with a ``movement``, a sentence about
    who came in and went out follows (``지난 1분 동안 2명이 들어오고 1명이 나갔습니다.``, ``In the last
    minute, 2 people came in and 1 left.``). Always passes :func:`check_caption`.
    """
    style = read_style(custom)
    present = _present(counts)
    writer = _en_caption if style.language == "en" else _ko_caption
    text = writer(present, style=style, camera_name=camera_name.strip(), local_time=local_time)
    if movement is None:
        return text
    moved = _en_movement if style.language == "en" else _ko_movement
    return f"{text} {moved(movement, style=style)}"


# --- checking an answer -----------------------------------------------------------------------


def _class_patterns(counts: Mapping[str, int]) -> dict[str, re.Pattern[str]]:
    """A pattern per class the caption may name: male and female always, others when counted."""
    labels = set(counts) | {"male", "female"}
    patterns: dict[str, re.Pattern[str]] = {}
    for label in labels:
        words = _CLASS_WORDS.get(label, (rf"(?<![A-Za-z]){re.escape(label)}",))
        patterns[label] = re.compile("|".join(words), re.IGNORECASE)
    return patterns


def _class_near(segment: str, patterns: Mapping[str, re.Pattern[str]], *, last: bool) -> str | None:
    """The class whose word stands closest in ``segment`` (its end when ``last``, else its start)."""
    best: tuple[int, str] | None = None
    for label, pattern in patterns.items():
        for found in pattern.finditer(segment):
            if found.group(0) in _SHARED_WORDS:
                continue
            distance = len(segment) - found.end() if last else found.start()
            if best is None or distance < best[0]:
                best = (distance, label)
    return best[1] if best else None


_EN_CLAUSE_END = re.compile(r"[.;,()!?]")


def _paired_class(
    text: str,
    mentions: list[NumberMention],
    index: int,
    patterns: Mapping[str, re.Pattern[str]],
) -> str | None:
    """The class a number speaks of: the class word before it in Korean (``남자 2명``), after it
    in English (``2 men``) or in the Korean genitive (``두 명의 남자``); None when unclear."""
    mention = mentions[index]
    previous_end = mentions[index - 1].end if index > 0 else 0
    next_start = mentions[index + 1].start if index + 1 < len(mentions) else len(text)
    if mention.korean and not mention.genitive:
        return _class_near(text[max(previous_end, mention.start - 12) : mention.start], patterns, last=True)
    after = text[mention.end : min(next_start, mention.end + (10 if mention.korean else 30))]
    if not mention.korean:
        clause_end = _EN_CLAUSE_END.search(after)
        after = after[: clause_end.start()] if clause_end else after
    return _class_near(after, patterns, last=False)


# Words for coming in (``entry``), going out (``exit``) and both (``both``: crossings of either kind).
_MoveKind = Literal["entry", "exit", "both"]
_MOVE_KINDS: tuple[_MoveKind, ...] = ("entry", "exit", "both")
_KO_EXIT_START = r"(?:(?<![가-힣])|(?<=빠져)|(?<=걸어)|(?<=뛰어))"
_MOVE_WORDS: dict[_MoveKind, re.Pattern[str]] = {
    "entry": re.compile(
        r"들어(?:[오왔온]|와(?!\s?(?:있|계)))|입장|입점|내점|방문(?!객)|새로\s?(?:오|온|왔)|찾아[오와왔온]"
        r"|\b(?:came|come|comes|coming|walked|walks|walking|stepped|popped|dropped)\s+in\b"
        r"|\benter(?:ed|s|ing)?\b|\bentr(?:y|ies)\b|\barriv(?:ed|als?|ing|es)\b",
        re.IGNORECASE,
    ),
    "exit": re.compile(
        rf"{_KO_EXIT_START}나[가갔간감]|퇴장|퇴점|(?<![가-힣])떠[나났난]|돌아[가갔간]"
        r"|\bleft\b|\bleav(?:e|es|ing)\b|\bexit(?:s|ed|ing)?\b|\bdepart(?:ed|ures?|ing|s)?\b"
        r"|\b(?:went|go|goes|going|gone|walked|walks|walking|stepped|headed|heads)\s+out\b",
        re.IGNORECASE,
    ),
    "both": re.compile(
        r"드나[들든드]|출입|들락|(?<![가-힣])오[가간갔]"
        r"|\bcame\s+(?:and|or)\s+went\b|\bcome\s+(?:and|or)\s+go\b|\bin\s+(?:and|or)\s+out\b"
        r"|\bcrossings?\b|\bfoot\s+traffic\b",
        re.IGNORECASE,
    ),
}
# Forms that name the movement before its number: ``들어온 사람은 2명``, ``입장 2명``, ``entries: 2``.
_KO_TAIL = r"(?:\s*[가-힣]{1,4}){0,2}\s*[:：]?\s*$"
_EN_TAIL = r"\s*[:=]?\s*$"
_MOVE_BEFORE: dict[_MoveKind, re.Pattern[str]] = {
    "entry": re.compile(
        rf"(?:들어온|입장한|입장|방문한|새로\s?온|찾아온|내점한){_KO_TAIL}|\b(?:entr(?:y|ies)|arrivals?){_EN_TAIL}",
        re.IGNORECASE,
    ),
    "exit": re.compile(
        rf"(?:{_KO_EXIT_START}나간|퇴장한|퇴장|(?<![가-힣])떠난|돌아간){_KO_TAIL}|\b(?:exits?|departures?){_EN_TAIL}",
        re.IGNORECASE,
    ),
    "both": re.compile(rf"(?:드나든|출입한|출입|(?<![가-힣])오간){_KO_TAIL}|\bcrossings?{_EN_TAIL}", re.IGNORECASE),
}
# "Nobody came in" and its kin: a claim that a movement was zero.
_KO_ZERO_WORD = (
    rf"들어온|들어오거나|들어오고|입장한|입장|방문한|새로\s?온|{_KO_EXIT_START}나간|{_KO_EXIT_START}나가거나"
    r"|퇴장한|퇴장|떠난|드나든|출입한|출입|오간"
)
_KO_STEM = rf"들어오|{_KO_EXIT_START}나가|드나들|출입하|입장하|퇴장하|방문하|오가|떠나|찾아오"
_MOVE_ZERO = (
    re.compile(
        rf"(?:{_KO_ZERO_WORD})(?:\s*(?:및|과|와|이나|,)?\s*(?:{_KO_ZERO_WORD}))*(?:\s*[가-힣]{{1,4}}){{0,2}}?\s*없"
    ),
    re.compile(rf"(?:아무도\s*)?(?:{_KO_STEM})(?:\s*(?:거나|고)?\s*(?:{_KO_STEM}))*\s*지\s?(?:않|못)"),
    re.compile(r"(?:아무도\s*)?(?<![가-힣])안\s?(?:들어[오왔와]|나[가갔]|드나[들든]|오[가갔]|떠[나났])"),
    re.compile(
        r"\bno\s+(?:new\s+)?(?:entries|entry|arrivals|exits|departures|crossings|foot\s+traffic)"
        r"(?:\s*(?:,|or|and|nor)\s*(?:entries|entry|arrivals|exits|departures|crossings))*\b",
        re.IGNORECASE,
    ),
)
_EN_NOBODY = re.compile(
    r"\b(?:nobody|no[- ]one|no\s+(?:customers|people|guests|visitors|shoppers|persons)"
    r"|not\s+a\s+(?:single\s+)?(?:soul|person|customer))\b",
    re.IGNORECASE,
)
_EN_NOBODY_VERB = re.compile(r"\s+(?:(?:has|have|had|else|yet|ever|actually|just|really)\s+)*", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;!?,()]")


@dataclass(frozen=True, slots=True)
class _ZeroClaim:
    """A stretch of text that says nobody came in (``entry``), went out (``exit``), or either."""

    start: int
    end: int
    kinds: frozenset[_MoveKind]


def _kinds_in(segment: str) -> frozenset[_MoveKind]:
    return frozenset(kind for kind in _MOVE_KINDS if _MOVE_WORDS[kind].search(segment))


def _nearest_kind(segment: str) -> _MoveKind | None:
    """The movement whose word comes first in ``segment``."""
    best: tuple[int, _MoveKind] | None = None
    for kind in _MOVE_KINDS:
        found = _MOVE_WORDS[kind].search(segment)
        if found is not None and (best is None or found.start() < best[0]):
            best = (found.start(), kind)
    return best[1] if best else None


def _clause(segment: str) -> str:
    """``segment`` up to its first punctuation."""
    end = _CLAUSE_END.search(segment)
    return segment[: end.start()] if end else segment


def _movement_kind(text: str, mentions: list[NumberMention], index: int) -> _MoveKind | None:
    """Whether a number speaks of people coming in or going out: a movement word after it in its
    clause (``2명이 들어오고``, ``2 people came in``), or a movement named just before it
    (``들어온 사람은 2명``, ``entries: 2``); None for a head count."""
    mention = mentions[index]
    previous_end = mentions[index - 1].end if index > 0 else 0
    next_start = mentions[index + 1].start if index + 1 < len(mentions) else len(text)
    reach = 16 if mention.korean else 40
    # From the number's start: a zero like ``한 명도 들어오지 않`` holds its verb.
    after = _clause(text[mention.start : min(next_start, mention.end + reach)])
    kind = _nearest_kind(after)
    if kind is not None:
        return kind
    before = text[max(previous_end, mention.start - 20) : mention.start]
    before = _CLAUSE_END.split(before)[-1]
    for candidate in _MOVE_KINDS:
        if _MOVE_BEFORE[candidate].search(before):
            return candidate
    return None


def _zero_claims(text: str, mentions: list[NumberMention]) -> list[_ZeroClaim]:
    """Every "nobody came in / went out" in ``text``, with the movements it speaks of."""
    claims = [
        _ZeroClaim(found.start(), found.end(), _kinds_in(found.group(0)))
        for pattern in _MOVE_ZERO
        for found in pattern.finditer(text)
    ]
    starts = [mention.start for mention in mentions]
    for found in _EN_NOBODY.finditer(text):
        lead = _EN_NOBODY_VERB.match(text, found.end())
        verb_at = lead.end() if lead else found.end()
        if not any(word.match(text, verb_at) for word in _MOVE_WORDS.values()):
            continue  # "nobody is here": about who is in, not who moved
        stop = min([start for start in starts if start > found.end()] + [len(text)])
        rest = _clause(text[found.end() : stop])
        following = _EN_NOBODY.search(rest)
        rest = rest[: following.start()] if following else rest
        claims.append(_ZeroClaim(found.start(), found.end() + len(rest), _kinds_in(rest)))
    return [claim for claim in claims if claim.kinds]


def _blank_claims(text: str, claims: Sequence[_ZeroClaim]) -> str:
    for claim in claims:
        text = text[: claim.start] + " " * (claim.end - claim.start) + text[claim.end :]
    return text


def _expected(kind: _MoveKind, movement: Movement) -> int:
    if kind == "entry":
        return movement.entered
    if kind == "exit":
        return movement.exited
    return movement.entered + movement.exited


_KIND_WORDS: dict[_MoveKind, str] = {"entry": "entries", "exit": "exits", "both": "entries and exits"}


def _movement_number_problem(
    stated: str, value: float, *, kind: _MoveKind, label: str | None, movement: Movement
) -> str | None:
    if label is not None and label != "person":
        return f"states {stated!r} {_KIND_WORDS[kind]} for {label}, but they are not counted by class"
    expected = _expected(kind, movement)
    if value != expected:
        return f"states {stated!r} {_KIND_WORDS[kind]}, but the {_KIND_WORDS[kind]} were {expected}"
    return None


def _number_problems(
    text: str, *, counts: Mapping[str, int], camera_name: str, movement: Movement | None
) -> tuple[list[str], set[_MoveKind]]:
    """Problems with the numbers ``text`` states, and the movements it gave a number for."""
    masked = mask_non_counts(text, camera_name=camera_name)
    mentions = extract_numbers(text, camera_name=camera_name)
    patterns = _class_patterns(counts)
    total = sum(counts.values())
    allowed = set(counts.values()) | {total}
    problems: list[str] = []
    stated_kinds: set[_MoveKind] = set()
    for index, mention in enumerate(mentions):
        stated = text[mention.start : mention.end].strip()
        label = _paired_class(masked, mentions, index, patterns)
        kind = _movement_kind(masked, mentions, index) if movement is not None else None
        if kind is not None and movement is not None:
            stated_kinds.add(kind)
            problem = _movement_number_problem(stated, mention.value, kind=kind, label=label, movement=movement)
            problems += [problem] if problem else []
        elif label is not None and mention.value != counts.get(label, 0):
            problems.append(f"states {stated!r} for {label}, but the count is {counts.get(label, 0)}")
        elif label is None and mention.value not in allowed:
            problems.append(f"states {stated!r}, which is none of the counts {dict(counts)}")
    return problems, stated_kinds


def _mention_problems(text: str, *, counts: Mapping[str, int], camera_name: str) -> list[str]:
    masked = mask_non_counts(text, camera_name=camera_name)
    patterns = _class_patterns(counts)
    return [
        f"does not mention {label} (count {count})"
        for label, count in counts.items()
        if count > 0 and not patterns[label].search(masked)
    ]


def _emptiness_problems(text: str, *, counts: Mapping[str, int]) -> list[str]:
    total = sum(counts.values())
    if total > 0 and NOBODY_PATTERN.search(text):
        return [f"claims nobody is there, but {total} were counted"]
    if total == 0 and not (NOBODY_PATTERN.search(text) or re.search(r"없|\bno\b|\b0\b|zero", text)):
        return ["does not say the store is empty"]
    return []


def _span_problems(text: str, *, movement: Movement, camera_name: str) -> list[str]:
    """A span the caption names must be the one measured, give or take a quarter (at least 5 s)."""
    tolerance = max(0.25 * movement.seconds, 5.0)
    return [
        f"names a span of {text[span.start : span.end].strip()!r} ({span.seconds:g} s), "
        f"but the movement covers {movement.seconds:g} s"
        for span in find_durations(text, camera_name=camera_name)
        if abs(span.seconds - movement.seconds) > tolerance
    ]


def _movement_problems(
    text: str, *, movement: Movement, claims: Sequence[_ZeroClaim], stated: set[_MoveKind], camera_name: str
) -> list[str]:
    problems: list[str] = []
    for claim in claims:
        said = text[claim.start : claim.end].strip()
        for kind in sorted(claim.kinds):
            if _expected(kind, movement) != 0:
                problems.append(f"says {said!r}, but the {_KIND_WORDS[kind]} were {_expected(kind, movement)}")
    if movement.entered > 0 and not stated & {"entry", "both"}:
        problems.append(f"does not state the entries ({movement.entered})")
    if movement.exited > 0 and not stated & {"exit", "both"}:
        problems.append(f"does not state the exits ({movement.exited})")
    return problems + _span_problems(text, movement=movement, camera_name=camera_name)


def check_caption(
    text: str, *, counts: Mapping[str, int], camera_name: str = "", movement: Movement | None = None
) -> CaptionCheck:
    """Whether ``text`` is faithful to ``counts`` (and to ``movement``, when given).

    Rejected when a number it states differs from the count of the class it is written next to
    (or, standing alone, from every count and the total), when a class counted above zero is not
    named, when it claims the store is empty while people were counted (or vice versa), or when it
    is empty or too long. Times, dates, spans of time and the camera's name are not read as numbers.

    With a ``movement``, a number written with coming in or going out (``2명이 들어오고``, ``1 left``,
    ``들어온 사람은 2명``) must equal the entries or the exits (a number for both, ``3명이 드나들었``,
    their sum) and may not be given to a class other than people in general, since movement is not
    counted by class; "nobody came in / left" must be true; entries and exits above zero must be
    stated; and a span it names (``지난 1분``, ``30초``, ``the last minute``) must be the movement's,
    give or take a quarter.
    """
    stripped = text.strip()
    if not stripped:
        return CaptionCheck(problems=("is empty",))
    if len(stripped) > _MAX_CAPTION_CHARS:
        return CaptionCheck(problems=(f"is longer than {_MAX_CAPTION_CHARS} characters",))
    numbers, stated = _number_problems(stripped, counts=counts, camera_name=camera_name, movement=movement)
    problems = numbers + _mention_problems(stripped, counts=counts, camera_name=camera_name)
    if movement is None:
        problems += _emptiness_problems(stripped, counts=counts)
    else:
        claims = _zero_claims(stripped, extract_numbers(stripped, camera_name=camera_name))
        problems += _emptiness_problems(_blank_claims(stripped, claims), counts=counts)
        problems += _movement_problems(
            stripped, movement=movement, claims=claims, stated=stated, camera_name=camera_name
        )
    return CaptionCheck(problems=tuple(problems))


# --- the LLM prompt ---------------------------------------------------------------------------

_CLASS_MEANINGS = {"male": "men (남자)", "female": "women (여자)", "person": "people (사람)"}

_CAPTION_SYSTEM = (
    "You write live captions for the owner of a shop, describing who is in the store right now "
    "from a camera's person counts. Write one or two sentences only, and follow the owner's "
    "instructions about language and tone. State every count exactly as given, name every class "
    "whose count is above zero, and do not state any other number. If every count is zero, say "
    "that nobody is in the store. Reply with the caption only, without quotes."
)
_MOVEMENT_SYSTEM = (
    "You write live captions for the owner of a shop, describing who is in the store right now "
    "from a camera's person counts, and how many people came in and went out through the entrance "
    "since the previous caption. Write two sentences at most, and follow the owner's instructions "
    "about language and tone. State every count exactly as given and name every class whose count "
    "is above zero. Then state the number of people who came in ('entered') and went out "
    "('exited') exactly as given, for everyone together (never by class), over the span worded as "
    "in 'span' (for example '지난 1분 동안 2명이 들어오고 1명이 나갔습니다.' or 'In the last minute, "
    "2 people came in and 1 left.'). Do not state any other number. If every count is zero, say "
    "that nobody is in the store. Reply with the caption only, without quotes."
)


def build_caption_messages(
    *,
    counts: Mapping[str, int],
    camera_name: str,
    local_time: datetime,
    custom: Sequence[str],
    movement: Movement | None = None,
) -> list[ChatMessage]:
    """The chat messages asking for one caption; the counts (and the movement) travel as JSON."""
    data: dict[str, object] = {
        "counts": dict(counts),
        "total": sum(counts.values()),
        "classes": {label: _CLASS_MEANINGS.get(label, label) for label in counts},
        "camera": camera_name,
        "local_time": local_time.strftime("%Y-%m-%d %H:%M"),
    }
    if movement is not None:
        data["movement"] = {
            "entered": movement.entered,
            "exited": movement.exited,
            "span_seconds": round(movement.seconds),
            "span": {"ko": _ko_span(movement.seconds), "en": f"in {_en_span(movement.seconds)}"},
        }
    instructions = "\n".join(f"- {line}" for line in custom) or "- (none)"
    user = (
        f"Counts (JSON):\n{json.dumps(data, ensure_ascii=False)}\n\n"
        f"Owner's instructions:\n{instructions}\n\n"
        "Write the caption."
    )
    system = _CAPTION_SYSTEM if movement is None else _MOVEMENT_SYSTEM
    return [ChatMessage("system", system), ChatMessage("user", user)]


def _clean(answer: str) -> str:
    text = " ".join(answer.split())
    return text.strip("\"'“”‘’` ")


async def write_caption(
    *,
    counts: Mapping[str, int],
    camera_name: str,
    local_time: datetime,
    custom: Sequence[str],
    llm: LLMClient | None,
    user_id: str,
    movement: Movement | None = None,
) -> Caption:
    """The caption for one tick: the LLM's if it passes :func:`check_caption`, else the template.

    With a ``movement`` (entries and exits since the request's previous briefing), the caption also
    says who came in and went out, and the LLM's answer is checked against it too.

    Never raises for an LLM failure (no client, budget spent, timeout, 429/5xx, empty or unfaithful
    answer): those all give the template caption with ``source="TEMPLATE"``.
    """
    if any(count < 0 for count in counts.values()):
        raise ValueError(f"counts must not be negative: {dict(counts)}")
    fallback = Caption(
        text=template_caption(
            counts=counts, camera_name=camera_name, local_time=local_time, custom=custom, movement=movement
        ),
        source="TEMPLATE",
    )
    if llm is None:
        return fallback
    messages = build_caption_messages(
        counts=counts, camera_name=camera_name, local_time=local_time, custom=custom, movement=movement
    )
    max_tokens = 160 if movement is None else 240
    try:
        reply = await llm.chat(
            purpose="caption", messages=messages, user_id=user_id, temperature=0.3, max_tokens=max_tokens
        )
    except LLMUnavailable as exc:
        log.info("caption from the template: LLM unavailable (%s)", exc)
        return fallback
    text = _clean(reply.text)
    verdict = check_caption(text, counts=counts, camera_name=camera_name, movement=movement)
    if not verdict.ok:
        log.warning("caption from the template: LLM answer %r rejected: %s", text, verdict.problems)
        return fallback
    return Caption(text=text, source="LLM")


def failure_caption(*, custom: Sequence[str], camera_name: str) -> str:
    """What a briefing says when its frame could not be read: no numbers, since nothing was counted."""
    style = read_style(custom)
    if style.language == "en":
        return f"The {camera_name} camera could not be read this time; the next briefing will try again."
    if style.polite:
        return f"이번에는 {camera_name} 카메라 영상을 가져오지 못했습니다. 다음 브리핑에서 다시 시도합니다."
    return f"이번엔 {camera_name} 카메라 영상을 못 가져왔어. 다음 브리핑에서 다시 해볼게."
