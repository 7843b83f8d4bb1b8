"""How long the access log is kept and the purge that ends it.

통신비밀보호법 제2조11호 마·사목 and 시행령 제41조②2 oblige a site to keep log records (로그기록자료) and the
client address (접속지 추적자료) for **at least 3 months**; 개인정보 보호법 제21조 obliges it to destroy them
without delay once that purpose is over, irreversibly. So the period is counted in calendar months of the
Korean calendar (Asia/Seoul), may not be set below 3, and every purge overwrites what it removes. The purge
destroys what lies past the period *and* a short grace (``destruction.py``, default 7 days): the grace only
ever lengthens the statutory minimum, and it is the same date a rights answer promises (``records/rights.py``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Final

from cookiegate.clock import SEOUL, Clock, from_ms, to_ms, utc_now
from cookiegate.destruction import DEFAULT_GRACE_DAYS, destruction_cutoff
from cookiegate.stores import AccessStore
from cookiegate.stores.protocols import PurgeResult

MIN_RETENTION_MONTHS: Final = 3
DEFAULT_RETENTION_MONTHS: Final = 3
#: The daily purge runs at this Seoul hour (quiet traffic), and once shortly after the ingester starts.
PURGE_HOUR: Final = 4

logger = logging.getLogger("cookiegate.retention")


def validate_retention_months(months: int) -> int:
    """``months`` if it is a lawful retention period, else ``ValueError`` saying what to change.

    통신비밀보호법 시행령 제41조②2 sets the floor: log records and client addresses are kept at least 3 months.
    """
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValueError(f"retention_months must be a whole number of months, not {months!r}")
    if months < MIN_RETENTION_MONTHS:
        raise ValueError(
            f"retention_months={months} is below the legal minimum: 통신비밀보호법 시행령 제41조②2 requires "
            f"access logs and client IPs to be kept at least {MIN_RETENTION_MONTHS} months; "
            f"set retention_months to {MIN_RETENTION_MONTHS} or more"
        )
    return months


def retention_cutoff(now: datetime, months: int) -> datetime:
    """The Seoul midnight before which records may be destroyed: the same day-of-month ``months`` ago.

    On 2025-05-31 with 3 months the cutoff is 2025-02-28 00:00 KST (clamped to the shorter month), so a
    record is always kept for at least the full calendar period the law counts.
    """
    validate_retention_months(months)
    today = now.astimezone(SEOUL).date()
    month_index = today.year * 12 + (today.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(today.day, _days_in_month(year, month))
    return datetime.combine(date(year, month, day), time(0), SEOUL)


def purge_cutoff(now: datetime, months: int, grace_days: int = DEFAULT_GRACE_DAYS) -> datetime:
    """The Seoul midnight before which the purge destroys records: the retention cutoff moved back by the grace.

    시행령 제41조 sets a minimum, so the grace (a purge that missed a night, a slow release of a hold) is added
    to it, never taken from it; 개인정보 보호법 제21조 caps it (``destruction.validate_grace_days``).
    """
    return destruction_cutoff(retention_cutoff(now, months), grace_days)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def seconds_until_next_purge(now: datetime) -> float:
    """Seconds from ``now`` until the next ``PURGE_HOUR``:00 in Seoul."""
    local = now.astimezone(SEOUL)
    target = local.replace(hour=PURGE_HOUR, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return (target - local).total_seconds()


def purge(
    store: AccessStore, *, months: int, clock: Clock = utc_now, grace_days: int = DEFAULT_GRACE_DAYS
) -> PurgeResult:
    """Destroy access records older than ``purge_cutoff``, except those under legal hold, and audit it.

    개인정보 보호법 제21조: destroy without delay once the period of 시행령 제41조 (and the grace) is over. The
    store drops whole Seoul-day partitions (SQLite with ``secure_delete``; PostgreSQL detaches and drops them).
    The audit line carries counts and a date range only, never the removed data.
    """
    now = clock()
    cutoff = purge_cutoff(now, months, grace_days)
    result = store.purge_before(to_ms(cutoff), now_ms=to_ms(now))
    logger.info(
        "purge: cutoff %s, removed %d records (%s .. %s) in %d partitions, %d kept under legal hold",
        cutoff.date().isoformat(),
        result.removed,
        _day_or_dash(result.oldest_removed_ms),
        _day_or_dash(result.newest_removed_ms),
        result.partitions_dropped,
        result.kept_by_hold,
    )
    return result


def _day_or_dash(ms: int | None) -> str:
    return "-" if ms is None else from_ms(ms).date().isoformat()
