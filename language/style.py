"""The owner's style: reading the caption instructions, the default list, and the label order.

Captions and summaries both follow the user's instructions (`custom`); what the templates can
understand of them (language, politeness, brevity) is read here, once, for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_CUSTOM", "LABEL_ORDER", "CaptionStyle", "order_labels", "read_style"]

DEFAULT_CUSTOM: tuple[str, ...] = ("한국어로 말해줘", "공손하게 말해줘", "간단명료하게 말해줘")
"""The instructions a new account starts with (the original service's defaults)."""

LABEL_ORDER: tuple[str, ...] = ("male", "female", "person")
"""Classes named first, in this order, in captions and summaries; other labels follow as given."""


@dataclass(frozen=True, slots=True)
class CaptionStyle:
    """What the templates understood from the user's instructions."""

    language: Literal["ko", "en"] = "ko"
    polite: bool = True
    concise: bool = False


_LANGUAGE_CUES: tuple[tuple[re.Pattern[str], Literal["ko", "en"]], ...] = (
    (re.compile(r"영어|영문|english", re.IGNORECASE), "en"),
    (re.compile(r"한국어|한글|국어|korean", re.IGNORECASE), "ko"),
)
_POLITE = re.compile(r"공손|존댓말|존대|정중|높임|예의|polite|formal|courteous", re.IGNORECASE)
_CASUAL = re.compile(r"반말|편하게|친근|친구처럼|casual|informal|friendly", re.IGNORECASE)
_CONCISE = re.compile(r"간단|간결|짧게|짧은|요약|concise|brief|short|succinct", re.IGNORECASE)


def read_style(custom: Sequence[str]) -> CaptionStyle:
    """The language, politeness and brevity the instructions ask for; later instructions win."""
    language: Literal["ko", "en"] = "ko"
    polite = True
    concise = False
    for instruction in custom:
        for pattern, lang in _LANGUAGE_CUES:
            if pattern.search(instruction):
                language = lang
        if _CASUAL.search(instruction):
            polite = False
        elif _POLITE.search(instruction):
            polite = True
        if _CONCISE.search(instruction):
            concise = True
    return CaptionStyle(language=language, polite=polite, concise=concise)


def order_labels(labels: Iterable[str]) -> list[str]:
    """The distinct labels, those of LABEL_ORDER first in that order, then the rest as given."""
    seen = list(dict.fromkeys(labels))
    return [label for label in LABEL_ORDER if label in seen] + [label for label in seen if label not in LABEL_ORDER]
