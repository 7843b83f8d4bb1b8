"""Every staff read of the statutory data, with who and why: an append-only JSON-lines file in the data dir.

Legally kept data is used for nothing but its legal purpose (개인정보 보호법 제21조③; the access log only for a
permit under 통신비밀보호법 제13조), and 안전성 확보조치 기준 제8조 asks that access to personal data by staff
be recorded. So ``export`` and ``rights`` append a line naming the operator, the reason and what was read;
addresses in it are sealed like the log itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

STAFF_LOG: Final = "staff-reads.jsonl"


def staff_log_path(data_dir: Path) -> Path:
    return data_dir / STAFF_LOG


def record_staff_read(
    data_dir: Path,
    *,
    operator: str,
    reason: str,
    command: str,
    detail: Mapping[str, object],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Append one read; raises ValueError without an operator and a reason (a read nobody owns is refused)."""
    if not operator.strip() or not reason.strip():
        raise ValueError("name yourself and the reason (--operator, --reason): every read of the log is recorded")
    entry = {
        "at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "operator": operator.strip(),
        "reason": reason.strip(),
        "command": command,
        **detail,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(staff_log_path(data_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def staff_reads(data_dir: Path) -> list[dict[str, Any]]:
    """Every recorded read, oldest first (``cookiegate rights`` and auditors read this)."""
    try:
        lines = staff_log_path(data_dir).read_bytes().splitlines()
    except FileNotFoundError:
        return []
    return [orjson.loads(line) for line in lines if line.strip()]
