"""The election of a data dir's one ingester: an exclusive ``flock`` on ``data_dir/ingest.lock``.

However many workers serve the site, one process drains the spool. The lock lives as long as the fd that
holds it: a crashed ingester frees it with its process, and the supervisor's next check starts another.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final

LOCK_FILE: Final = "ingest.lock"
#: Exit status of an ingester that found another one holding the data dir's lock.
EXIT_LOCK_BUSY: Final = 75


def take_lock(data_dir: Path) -> int | None:
    """The lock that elects the data dir's one ingester: an fd to keep open, or None if someone holds it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def lock_is_free(data_dir: Path) -> bool:
    """Whether no ingester holds the data dir's lock right now (the supervisor's cheap check)."""
    fd = take_lock(data_dir)
    if fd is None:
        return False
    os.close(fd)
    return True
