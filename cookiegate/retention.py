"""How long the access log is kept, the purge that ends it, legal holds, and the lawful disclosure export.

통신비밀보호법 제2조11호 마·사목 and 시행령 제41조②2 oblige a site to keep log records (로그기록자료) and the
client address (접속지 추적자료) for **at least 3 months**; 개인정보 보호법 제21조 obliges it to destroy them
without delay once that purpose is over, irreversibly. So the period is counted in calendar months of the
Korean calendar (Asia/Seoul), may not be set below 3, and every purge overwrites what it removes.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Final, cast
from zoneinfo import ZoneInfo

import orjson

from cookiegate.stores import ACCESS_COLUMNS, AccessStore, Disclosure, PurgeResult

SEOUL: Final = ZoneInfo("Asia/Seoul")
MIN_RETENTION_MONTHS: Final = 3
DEFAULT_RETENTION_MONTHS: Final = 3
#: Disclosure ledger entries are kept this long (통신비밀보호법 제13조⑦ and 시행령 제37조: 7 years).
DISCLOSURE_RETENTION_YEARS: Final = 7
_PROGRESS_FROM: Final = 10_000

Clock = Callable[[], datetime]
logger = logging.getLogger("cookiegate.retention")


def utc_now() -> datetime:
    """The default clock; tests pass their own frozen one."""
    return datetime.now(UTC)


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


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, the unit every store keeps time in."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """An aware Seoul datetime for display (logs are stored in UTC)."""
    return datetime.fromtimestamp(ms / 1000, SEOUL)


def seoul_day(ts_ms: int) -> tuple[date, int, int]:
    """The Seoul calendar day of ``ts_ms`` and its bounds in ms; partitions are days so cutoffs align."""
    day = datetime.fromtimestamp(ts_ms / 1000, SEOUL).date()
    start = datetime.combine(day, time(0), SEOUL)
    return day, to_ms(start), to_ms(start + timedelta(days=1))


def parse_moment(text: str, *, end: bool = False) -> int:
    """``2025-03-01`` or an ISO datetime as ms; dates and naive times are Seoul time.

    A bare date as ``end`` means the end of that day, so ``--from 2025-03-01 --to 2025-03-01`` is one day.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), SEOUL)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=SEOUL)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (2025-03-01) or an ISO datetime") from exc
    return to_ms(moment)


def purge(store: AccessStore, *, months: int, clock: Clock = utc_now) -> PurgeResult:
    """Destroy access records older than the cutoff, except those under legal hold, and audit it.

    개인정보 보호법 제21조: destroy without delay once the period of 시행령 제41조 is over. The store drops whole
    Seoul-day partitions with SQLite ``secure_delete`` so the bytes are overwritten, not just unlinked.
    The audit line carries counts and a date range only, never the removed data.
    """
    now = clock()
    cutoff = retention_cutoff(now, months)
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


def export_disclosure(
    store: AccessStore,
    *,
    from_ms: int,
    to_ms: int,
    ip: str | None,
    agency: str,
    permit: str,
    out: Path,
    clock: Clock = utc_now,
    progress: IO[str] | None = None,
) -> Disclosure:
    """Write the records a court permit covers to ``out`` (.jsonl or .csv) and log the disclosure.

    통신비밀보호법 제13조: communication confirmation data is disclosed only on a court permit, and the
    disclosure is recorded and kept 7 years. Without the agency and permit number nothing is written.
    """
    if not agency.strip() or not permit.strip():
        raise ValueError(
            "a disclosure needs the requesting agency (--agency) and the court permit number (--permit); "
            "통신비밀보호법 제13조 allows disclosure only against a permit"
        )
    if from_ms >= to_ms:
        raise ValueError("--from must be before --to")
    suffix = out.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        raise ValueError(f"--out must end in .jsonl or .csv, not {out.name!r}")
    total = store.count(from_ms, to_ms, ip)
    show = progress if progress is not None and total >= _PROGRESS_FROM else None
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle) if suffix == ".csv" else None
        if writer is not None:
            writer.writerow(("time_utc", *ACCESS_COLUMNS))
        for row in store.records(from_ms, to_ms, ip):
            time_utc = datetime.fromtimestamp(cast(int, row[0]) / 1000, UTC).isoformat(timespec="milliseconds")
            if writer is not None:
                writer.writerow((time_utc, *row))
            else:
                record = {"time_utc": time_utc, **dict(zip(ACCESS_COLUMNS, row, strict=True))}
                handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())
            written += 1
            if show is not None and written % 5000 == 0:
                _draw_progress(show, written, total)
    if show is not None:
        _draw_progress(show, written, total)
        show.write("\n")
    out.chmod(0o600)
    disclosure = Disclosure(
        at_ms=to_ms_now(clock),
        agency=agency.strip(),
        permit=permit.strip(),
        from_ms=from_ms,
        to_ms=to_ms,
        ip=ip,
        records=written,
        out_file=str(out),
        sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
    )
    store.add_disclosure(disclosure)
    return disclosure


def to_ms_now(clock: Clock) -> int:
    """``clock()`` in ms."""
    return to_ms(clock())


def _draw_progress(stream: IO[str], done: int, total: int) -> None:
    width = 30
    filled = width if total == 0 else min(width, width * done // total)
    percent = 100 if total == 0 else min(100, 100 * done // total)
    stream.write(f"\rexport [{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total}")
    stream.flush()


def stderr() -> IO[str]:
    """Where progress bars go (kept out of stdout so an export can be piped)."""
    return sys.stderr


class PurgeTimer:
    """Runs ``purge`` in a background thread shortly after start and then once a day at 04:00 Seoul time.

    In-process so a site without cron still destroys expired records without delay (개인정보 보호법
    제21조); ``cookiegate purge`` does the same from cron. Each run opens its own store connection, so a
    purge never waits behind the access log writer's lock.
    """

    def __init__(
        self,
        store_factory: Callable[[], AccessStore],
        *,
        months: int,
        clock: Clock = utc_now,
        first_delay: float = 5.0,
    ) -> None:
        self._store_factory = store_factory
        self.months = validate_retention_months(months)
        self._clock = clock
        self._first_delay = first_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the timer thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cookiegate-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer thread, waiting for a running purge to commit (idempotent)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self._thread = None

    def seconds_until_next(self) -> float:
        """Seconds from now until the next 04:00 in Seoul."""
        now = self._clock().astimezone(SEOUL)
        target = now.replace(hour=4, minute=0, second=0, microsecond=0)
        if target <= now:
            target += timedelta(days=1)
        return (target - now).total_seconds()

    def run_once(self) -> PurgeResult | None:
        """One purge; failures are logged loudly and retried at the next run, never raised into the server."""
        try:
            store = self._store_factory()
            try:
                return purge(store, months=self.months, clock=self._clock)
            finally:
                store.close()
        except Exception:  # a purge that fails must not kill the timer; the next day retries
            logger.exception("scheduled access log purge failed; run `cookiegate purge` to retry")
            return None
        finally:
            self.runs += 1

    def _run(self) -> None:
        delay = self._first_delay
        while not self._stop.wait(delay):
            self.run_once()
            delay = self.seconds_until_next()
