"""Captions for one tick: an LLM sentence checked against the counts, or a template sentence.

:func:`write_caption` is the one entry point. It asks the LLM (when there is one and the user's
hourly budget allows) for one or two sentences in the style of the user's instructions, checks the
answer with :func:`check_caption` — every number it states equals a count (or the total), every
class present is mentioned, and it does not claim the store is empty when it is not — and falls back
to :func:`template_caption` for any failure. The template follows the instructions it can read
(language, politeness, brevity) and always passes the same check.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from language.llm import ChatMessage, LLMClient, LLMUnavailable
from language.numbers import NOBODY_PATTERN, NumberMention, extract_numbers, mask_non_counts
from language.style import DEFAULT_CUSTOM, CaptionStyle, order_labels, read_style

__all__ = [
    "DEFAULT_CUSTOM",
    "Caption",
    "CaptionCheck",
    "CaptionStyle",
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


def template_caption(
    *, counts: Mapping[str, int], camera_name: str, local_time: datetime, custom: Sequence[str]
) -> str:
    """The rule-based caption for ``counts``, in the language and tone the instructions ask for.

    Korean by default (``현재 매장에는 남자 2명, 여자 1명이 있습니다.``), English when asked
    (``There are 2 men and 1 woman in the store right now.``); always passes :func:`check_caption`.
    """
    style = read_style(custom)
    present = _present(counts)
    writer = _en_caption if style.language == "en" else _ko_caption
    return writer(present, style=style, camera_name=camera_name.strip(), local_time=local_time)


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


def _number_problems(text: str, *, counts: Mapping[str, int], camera_name: str) -> list[str]:
    masked = mask_non_counts(text, camera_name=camera_name)
    mentions = extract_numbers(text, camera_name=camera_name)
    patterns = _class_patterns(counts)
    total = sum(counts.values())
    allowed = set(counts.values()) | {total}
    problems: list[str] = []
    for index, mention in enumerate(mentions):
        stated = text[mention.start : mention.end].strip()
        label = _paired_class(masked, mentions, index, patterns)
        if label is not None and mention.value != counts.get(label, 0):
            problems.append(f"states {stated!r} for {label}, but the count is {counts.get(label, 0)}")
        elif label is None and mention.value not in allowed:
            problems.append(f"states {stated!r}, which is none of the counts {dict(counts)}")
    return problems


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


def check_caption(text: str, *, counts: Mapping[str, int], camera_name: str = "") -> CaptionCheck:
    """Whether ``text`` is faithful to ``counts``.

    Rejected when a number it states differs from the count of the class it is written next to
    (or, standing alone, from every count and the total), when a class counted above zero is not
    named, when it claims the store is empty while people were counted (or vice versa), or when it
    is empty or too long. Times, dates and the camera's name are not read as numbers.
    """
    stripped = text.strip()
    if not stripped:
        return CaptionCheck(problems=("is empty",))
    if len(stripped) > _MAX_CAPTION_CHARS:
        return CaptionCheck(problems=(f"is longer than {_MAX_CAPTION_CHARS} characters",))
    problems = (
        _number_problems(stripped, counts=counts, camera_name=camera_name)
        + _mention_problems(stripped, counts=counts, camera_name=camera_name)
        + _emptiness_problems(stripped, counts=counts)
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


def build_caption_messages(
    *, counts: Mapping[str, int], camera_name: str, local_time: datetime, custom: Sequence[str]
) -> list[ChatMessage]:
    """The chat messages asking for one caption; the counts travel as JSON."""
    data = {
        "counts": dict(counts),
        "total": sum(counts.values()),
        "classes": {label: _CLASS_MEANINGS.get(label, label) for label in counts},
        "camera": camera_name,
        "local_time": local_time.strftime("%Y-%m-%d %H:%M"),
    }
    instructions = "\n".join(f"- {line}" for line in custom) or "- (none)"
    user = (
        f"Counts (JSON):\n{json.dumps(data, ensure_ascii=False)}\n\n"
        f"Owner's instructions:\n{instructions}\n\n"
        "Write the caption."
    )
    return [ChatMessage("system", _CAPTION_SYSTEM), ChatMessage("user", user)]


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
) -> Caption:
    """The caption for one tick: the LLM's if it passes :func:`check_caption`, else the template.

    Never raises for an LLM failure (no client, budget spent, timeout, 429/5xx, empty or unfaithful
    answer): those all give the template caption with ``source="TEMPLATE"``.
    """
    if any(count < 0 for count in counts.values()):
        raise ValueError(f"counts must not be negative: {dict(counts)}")
    fallback = Caption(
        text=template_caption(counts=counts, camera_name=camera_name, local_time=local_time, custom=custom),
        source="TEMPLATE",
    )
    if llm is None:
        return fallback
    messages = build_caption_messages(counts=counts, camera_name=camera_name, local_time=local_time, custom=custom)
    try:
        reply = await llm.chat(purpose="caption", messages=messages, user_id=user_id, temperature=0.3, max_tokens=160)
    except LLMUnavailable as exc:
        log.info("caption from the template: LLM unavailable (%s)", exc)
        return fallback
    text = _clean(reply.text)
    verdict = check_caption(text, counts=counts, camera_name=camera_name)
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
