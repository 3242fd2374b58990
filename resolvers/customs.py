"""The user's caption style instructions ("custom")."""

from __future__ import annotations

import unicodedata

from documents import User
from documents.transient import retry_transient
from resolvers.errors import bad_input

MAX_ITEMS = 20
MAX_ITEM_CHARS = 200
UPDATED = "Success to update Custom."
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _problem(item: str) -> str | None:
    """Why an instruction cannot be stored as text a caption prompt will quote, or None."""
    for char in item:
        if char in _BIDI_CONTROLS:
            return f"contains a bidirectional control character (U+{ord(char):04X})"
        if unicodedata.category(char) == "Cc":
            return f"contains a control character (U+{ord(char):04X})"
    if all(char in _ZERO_WIDTH for char in item):
        return "is empty (only zero-width characters)"
    return None


def normalise_custom(custom: list[str]) -> list[str]:
    """Trim every instruction and enforce the limits (≤ 20 items, each 1–200 characters)."""
    if len(custom) > MAX_ITEMS:
        raise bad_input(f"At most {MAX_ITEMS} instructions are allowed, got {len(custom)}", field="custom")
    cleaned = [item.strip() for item in custom]
    for position, item in enumerate(cleaned, start=1):
        if not item:
            raise bad_input(f"Instruction {position} is empty", field="custom")
        if (problem := _problem(item)) is not None:
            raise bad_input(f"Instruction {position} {problem}", field="custom")
        if len(item) > MAX_ITEM_CHARS:
            raise bad_input(
                f"Instruction {position} is {len(item)} characters; at most {MAX_ITEM_CHARS} are allowed",
                field="custom",
            )
    return cleaned


async def update_custom(*, user: User, custom: list[str]) -> str:
    """Replace the user's instructions; returns the original API's success message."""
    cleaned = normalise_custom(custom)
    await retry_transient(
        lambda: User.find_one(User.id == user.id).update({"$set": {"custom": cleaned}}), what="update instructions"
    )
    user.custom = cleaned
    return UPDATED
