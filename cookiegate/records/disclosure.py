"""The lawful disclosure export: the records a court permit covers, written out and entered in the ledger.

통신비밀보호법 제13조: communication confirmation data is disclosed only on a court permit, and the disclosure
is recorded and kept 7 years. Without the agency and the permit number nothing is written.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path
from typing import IO, Final

import orjson

from cookiegate.clock import Clock, to_ms, utc_iso, utc_now
from cookiegate.records.types import ACCESS_COLUMNS
from cookiegate.stores import AccessStore
from cookiegate.stores.protocols import Disclosure

_PROGRESS_FROM: Final = 10_000


def export_disclosure(
    store: AccessStore,
    *,
    from_ms: int,
    to_ms_: int,
    ip: str | None,
    agency: str,
    permit: str,
    out: Path,
    clock: Clock = utc_now,
    progress: IO[str] | None = None,
    overwrite: bool = False,
) -> Disclosure:
    """Write the records in ``[from_ms, to_ms_)`` (of ``ip`` if given) to ``out`` (.jsonl or .csv); log it."""
    if not agency.strip() or not permit.strip():
        raise ValueError(
            "a disclosure needs the requesting agency (--agency) and the court permit number (--permit); "
            "통신비밀보호법 제13조 allows disclosure only against a permit"
        )
    if from_ms >= to_ms_:
        raise ValueError("--from must be before --to")
    suffix = out.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        raise ValueError(f"--out must end in .jsonl or .csv, not {out.name!r}")
    if out.exists() and not overwrite:
        raise ValueError(f"{out} exists; choose another --out or pass --force to overwrite it")
    total = store.count(from_ms, to_ms_, ip)
    show = progress if progress is not None and total >= _PROGRESS_FROM else None
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle) if suffix == ".csv" else None
        if writer is not None:
            writer.writerow(("time_utc", *ACCESS_COLUMNS))
        for record in store.records(from_ms, to_ms_, ip):
            time_utc = utc_iso(record.ts_ms)
            if writer is not None:
                writer.writerow((time_utc, *record))
            else:
                line = {"time_utc": time_utc, **record._asdict()}
                handle.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE).decode())
            written += 1
            if show is not None and written % 5000 == 0:
                _draw_progress(show, written, total)
    if show is not None:
        _draw_progress(show, written, total)
        show.write("\n")
    disclosure = Disclosure(
        at_ms=to_ms(clock()),
        agency=agency.strip(),
        permit=permit.strip(),
        from_ms=from_ms,
        to_ms=to_ms_,
        ip=ip,
        records=written,
        out_file=str(out),
        sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
    )
    store.add_disclosure(disclosure)
    return disclosure


def _draw_progress(stream: IO[str], done: int, total: int) -> None:
    width = 30
    filled = width if total == 0 else min(width, width * done // total)
    percent = 100 if total == 0 else min(100, 100 * done // total)
    stream.write(f"\rexport [{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total}")
    stream.flush()
