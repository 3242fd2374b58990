"""The user's caption style instructions ("custom")."""

from __future__ import annotations

from documents import User
from documents.transient import retry_transient
from resolvers.errors import bad_input

MAX_ITEMS = 20
MAX_ITEM_CHARS = 200
UPDATED = "Success to update Custom."


def normalise_custom(custom: list[str]) -> list[str]:
    """Trim every instruction and enforce the limits (≤ 20 items, each 1–200 characters)."""
    if len(custom) > MAX_ITEMS:
        raise bad_input(f"At most {MAX_ITEMS} instructions are allowed, got {len(custom)}", field="custom")
    cleaned = [item.strip() for item in custom]
    for position, item in enumerate(cleaned, start=1):
        if not item:
            raise bad_input(f"Instruction {position} is empty", field="custom")
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
