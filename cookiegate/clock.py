"""Time in the unit the stores keep (UTC milliseconds) and the Seoul calendar the law counts in.

Retention (통신비밀보호법 시행령 제41조②2: at least 3 months) is counted in calendar months and days of
Korea (Asia/Seoul), so partitions are Seoul days and cutoffs fall on Seoul midnights. A leaf module: the
stores and retention both import it, neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

SEOUL: Final = ZoneInfo("Asia/Seoul")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock; tests pass their own frozen one."""
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, the unit every store keeps time in."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """An aware Seoul datetime for display (logs are stored in UTC)."""
    return datetime.fromtimestamp(ms / 1000, SEOUL)


def utc_iso(ms: int) -> str:
    """``ms`` as an ISO UTC instant with milliseconds (exports)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def seoul_midnight(day: date) -> int:
    """The first ms of ``day`` in Seoul."""
    return to_ms(datetime.combine(day, time(0), SEOUL))


def seoul_day(ts_ms: int) -> tuple[date, int, int]:
    """The Seoul calendar day of ``ts_ms`` and its bounds in ms; partitions are days so cutoffs align."""
    day = datetime.fromtimestamp(ts_ms / 1000, SEOUL).date()
    return day, seoul_midnight(day), seoul_midnight(day + timedelta(days=1))


def parse_moment(text: str, *, end: bool = False) -> int:
    """``2025-03-01`` or an ISO datetime as ms; dates and naive times are Seoul time.

    A bare date as ``end`` means the end of that day, so ``--from 2025-03-01 --to 2025-03-01`` is one day.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return seoul_midnight(day + timedelta(days=1) if end else day)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (2025-03-01) or an ISO datetime") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SEOUL)
    return to_ms(moment)
