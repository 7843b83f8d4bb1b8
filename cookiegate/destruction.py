"""Irreversible destruction: a short grace after the retention period, and files overwritten before unlinking.

개인정보 보호법 제21조 and 시행령 제16조: personal data past its retention period is destroyed without delay,
in a way that cannot be restored. Unlinking a file only drops its name; its blocks keep the bytes until
reused. So spool segments and export files are overwritten with zeros and synced before they are unlinked.
(On copy-on-write filesystems and SSDs old blocks may survive an overwrite: keep the data dir on an encrypted
volume; the client addresses themselves are also encrypted, see ``crypto.py``.)

The grace (default 7 days) is added to the statutory minimum, never taken from it: 통신비밀보호법 시행령
제41조 asks for *at least* 3 months, so a record is destroyed at the earliest 3 months + grace after it was
made. The grace covers a purge job that missed a night; it is capped because 제21조 says "without delay".
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

DEFAULT_GRACE_DAYS: Final = 7
MAX_GRACE_DAYS: Final = 30
_CHUNK: Final = 1 << 20


def validate_grace_days(days: int) -> int:
    """``days`` if it is a usable grace; raises ValueError naming the legal limit otherwise."""
    if days < 0:
        raise ValueError("grace days cannot be negative: they would cut into the 3-month minimum (시행령 제41조)")
    if days > MAX_GRACE_DAYS:
        raise ValueError(f"grace days above {MAX_GRACE_DAYS} keep data past its period (제21조: destroy without delay)")
    return days


def destruction_cutoff(retention_cutoff: datetime, grace_days: int = DEFAULT_GRACE_DAYS) -> datetime:
    """Records older than this are destroyed: the retention cutoff moved back by the grace, never forward."""
    return retention_cutoff - timedelta(days=validate_grace_days(grace_days))


def shred(path: Path) -> int:
    """Overwrite ``path`` with zeros, sync, truncate and unlink it; returns the bytes overwritten.

    A missing file counts as destroyed (0). Raises OSError if the file cannot be overwritten: a file that
    was not destroyed must not be reported as destroyed.
    """
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return 0
    try:
        size = os.fstat(fd).st_size
        zeros = bytes(min(size, _CHUNK))
        written = 0
        while written < size:
            written += os.write(fd, zeros[: min(_CHUNK, size - written)])
        os.fsync(fd)
        os.ftruncate(fd, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return size
