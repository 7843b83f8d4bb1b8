"""The lawful disclosure export: the records a court permit covers, written out and entered in the ledger.

통신비밀보호법 제13조: communication confirmation data is disclosed only on a court permit, and the disclosure
is recorded and kept 7 years. Without the agency and the permit number nothing is written.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import orjson

from cookiegate.clock import Clock, to_ms, utc_iso, utc_now
from cookiegate.crypto import address_in, parse_networks
from cookiegate.destruction import shred
from cookiegate.records.permit import Permit
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.types import ACCESS_COLUMNS, AccessRecord
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
    sealer: RecordSealer | None = None,
    scope: Permit | None = None,
) -> Disclosure:
    """Write the records in ``[from_ms, to_ms_)`` (of ``ip`` if given) to ``out`` (.jsonl or .csv); log it.

    With a ``sealer`` the stored addresses are opened only for the records written (one address: matched by
    its lookup tags, no decryption of others; a network: the records of the period are opened and filtered).
    With a ``scope`` (the permit) an export outside its period or addresses is refused before any read.
    """
    if scope is not None:
        scope.check(from_ms, to_ms_, ip)
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
    selected = _selected(store, from_ms, to_ms_, ip, sealer)
    total = store.count(from_ms, to_ms_, ip) if sealer is None else 0
    show = progress if progress is not None and total >= _PROGRESS_FROM else None
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    shred(out)  # a replaced export is overwritten, not just truncated (시행령 제16조); a missing one is a no-op
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle) if suffix == ".csv" else None
        if writer is not None:
            writer.writerow(("time_utc", *ACCESS_COLUMNS))
        for record in selected:
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
        permit=permit.strip() if scope is None else f"{scope.describe()}; operator {scope.operator.strip()}",
        from_ms=from_ms,
        to_ms=to_ms_,
        ip=ip if sealer is None or ip is None else sealer.cipher.seal(ip),
        records=written,
        out_file=str(out),
        sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
    )
    store.add_disclosure(disclosure)
    return disclosure


def _selected(
    store: AccessStore, from_ms: int, to_ms: int, ip: str | None, sealer: RecordSealer | None
) -> Iterator[AccessRecord]:
    if sealer is None:
        yield from store.records(from_ms, to_ms, ip)
        return
    if ip is not None and "/" not in ip:
        for tag in sealer.cipher.tags(ip):
            yield from (sealer.open_record(r) for r in store.records(from_ms, to_ms, tag))
        return
    networks = None if ip is None else parse_networks([ip])
    for record in store.records(from_ms, to_ms, None):
        opened = sealer.open_record(record)
        if networks is None or (opened.client_ip is not None and address_in(opened.client_ip, networks)):
            yield opened


def _draw_progress(stream: IO[str], done: int, total: int) -> None:
    width = 30
    filled = width if total == 0 else min(width, width * done // total)
    percent = 100 if total == 0 else min(100, 100 * done // total)
    stream.write(f"\rexport [{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total}")
    stream.flush()
