"""Clock helpers: aware UTC now, local names, and the endtime grammar of the original client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.quoting import quoted


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat naive datetimes (as some drivers return them) as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_name(*, moment: datetime, tz: ZoneInfo) -> str:
    """`YYYY-MM-DD HH:MM:SS` in the shop's time zone, as the original named requests."""
    return as_utc(moment).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


class EndtimeError(ValueError):
    """The endtime text is not one of the accepted forms, or not in the allowed window."""


_CLOCK_24 = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_CLOCK_12 = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*([AaPp])\.?\s*[Mm]\.?")


def _next_local(*, hour: int, minute: int, now: datetime, tz: ZoneInfo) -> datetime:
    local_now = now.astimezone(tz)
    candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local_now:
        candidate = (local_now + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate.astimezone(UTC)


def _clock(text: str) -> tuple[int, int] | None:
    if match := _CLOCK_24.fullmatch(text):
        hour, minute = int(match[1]), int(match[2])
        return (hour, minute) if hour < 24 and minute < 60 else None
    if match := _CLOCK_12.fullmatch(text):
        hour, minute, half = int(match[1]), int(match[2]), match[3].upper()
        if not 1 <= hour <= 12 or minute >= 60:
            return None
        return (hour % 12 + (12 if half == "P" else 0), minute)
    return None


def parse_endtime(*, text: str, now: datetime, tz: ZoneInfo, max_ahead: timedelta) -> datetime:
    """Resolve an endtime (`HH:MM`, `h:mm AM/PM` or ISO 8601 with offset) to an aware UTC moment.

    Clock times mean their next occurrence in the shop's time zone, so `01:00` said at 23:00 ends
    tomorrow. The result must lie in the future and at most `max_ahead` after `now`.
    """
    cleaned = text.strip()
    if not cleaned.isascii():  # `١٢:٣٠` or `１２:３０` would parse as digits and be stored as such
        raise EndtimeError(f"endtime {quoted(text)} must be written with ASCII digits")
    clock = _clock(cleaned)
    if clock is not None:
        moment = _next_local(hour=clock[0], minute=clock[1], now=now, tz=tz)
    else:
        try:
            parsed = datetime.fromisoformat(cleaned)
        except ValueError:
            raise EndtimeError(
                f"endtime {quoted(text)} is not HH:MM, h:mm AM/PM or an ISO 8601 time with an offset"
            ) from None
        if parsed.tzinfo is None:
            raise EndtimeError(f"endtime {quoted(text)} needs a UTC offset, e.g. 2026-01-01T23:00:00+09:00")
        moment = parsed.astimezone(UTC)
    if moment <= now:
        raise EndtimeError(f"endtime {quoted(text)} is not in the future")
    if moment - now > max_ahead:
        hours = max_ahead.total_seconds() / 3600
        raise EndtimeError(f"endtime {quoted(text)} is more than {hours:g} hours ahead")
    return moment
