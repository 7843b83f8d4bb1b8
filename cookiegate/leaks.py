"""Counts cookies the gate had to block, so a site owner learns which page leaks which cookie.

A blocked request cookie means a script set it without consent (or it outlived a withdrawal); a blocked
Set-Cookie means server code tried to set it. Both point at a page to fix or a name to classify.

The counts are aggregates for a report, not a log: random cookie names and paths (a crawler, an attacker)
must not turn them into thousands of rows a minute. Paths are normalised (ids and hashes become ``:id``,
depth and length capped), and at most ``MAX_KEYS`` distinct (direction, name, path) keys are admitted per
day; everything past that is folded into one ``OTHER`` key per direction.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from typing import Final, Literal

Direction = Literal["request", "response"]
#: Distinct keys admitted per day: a site leaking more distinct (name, page) pairs than this has a
#: problem the "other" bucket still shows.
MAX_KEYS: Final = 2_000
OTHER: Final = "(other)"
_ADMIT_WINDOW_SECONDS: Final = 86_400
_MAX_NAME: Final = 64
_MAX_PATH: Final = 128
_MAX_SEGMENTS: Final = 4
#: Distinct (names, page) notes held between two drains. The flusher drains every 10 s; without it (no access
#: log) later notes fold into one ``OTHER`` note, so memory stays bounded either way.
MAX_PENDING: Final = 10_000
#: Segments that are ids, not pages: digits, hex/uuid-ish, long tokens with a digit.
_ID_SEGMENT: Final = re.compile(r"^(?:\d+|[0-9a-fA-F-]{8,}|(?=[^/]*\d)[A-Za-z0-9_.~-]{16,})$")


def normalise_path(path: str) -> str:
    """The page a path stands for: ``/order/12345/items`` and ``/order/98765/items`` count as one."""
    segments = path.split("/", _MAX_SEGMENTS + 1)
    cut = len(segments) > _MAX_SEGMENTS + 1
    if cut:
        segments = segments[: _MAX_SEGMENTS + 1]
    normal = "/".join(":id" if _ID_SEGMENT.match(s) else s for s in segments)
    if cut:
        normal += "/…"
    return normal[:_MAX_PATH]


#: Per direction: blocked names -> raw path -> requests (the names tuple is the verdict's own object).
_Notes = dict[Direction, dict[tuple[str, ...], dict[str, int]]]


def _no_notes() -> _Notes:
    return {"request": {}, "response": {}}


class LeakCounter:
    """Counts of ``(direction, cookie name, page)``; bounded so random names and paths cannot grow it.

    The request path adds one to a count per (blocked names, raw path): two dict lookups under a lock, and
    the same few notes recur (a tracker on every page view), so it holds few keys. Normalising paths, cutting
    names and admitting keys happen in ``drain``, once per distinct note, on the flusher's thread.
    """

    __slots__ = ("_admitted", "_admitted_since", "_counts", "_lock", "_notes_lock", "_pending", "folded",
                 "pending_keys")  # fmt: skip

    def __init__(self) -> None:
        self._pending = _no_notes()
        self.pending_keys = 0
        self._counts: Counter[tuple[Direction, str, str]] = Counter()
        self._admitted: set[tuple[Direction, str, str]] = set()
        self._admitted_since = time.monotonic()
        self._notes_lock = threading.Lock()
        self._lock = threading.Lock()
        self.folded = 0

    def count_all(self, direction: Direction, names: tuple[str, ...], path: str) -> None:
        """Note the cookies one request had blocked."""
        # acquire/release rather than ``with``, as in the spool append: cheaper in the compiled build.
        self._notes_lock.acquire()
        try:
            notes = self._pending[direction]
            by_path = notes.get(names)
            count = None if by_path is None else by_path.get(path)
            if count is not None and by_path is not None:
                by_path[path] = count + 1
            elif self.pending_keys < MAX_PENDING:
                if by_path is None:
                    by_path = notes[names] = {}
                by_path[path] = 1
                self.pending_keys += 1
            else:  # a flood of distinct names or pages between two drains: still counted, as one note
                other = notes.setdefault((OTHER,), {})
                other[OTHER] = other.get(OTHER, 0) + 1
        finally:
            self._notes_lock.release()

    def _take_notes(self) -> _Notes:
        with self._notes_lock:
            notes, self._pending = self._pending, _no_notes()
            self.pending_keys = 0
        return notes

    def _fold(self) -> None:
        """Move pending notes into the counts (under ``_lock``)."""
        if time.monotonic() - self._admitted_since > _ADMIT_WINDOW_SECONDS:
            self._admitted.clear()  # a new day: the names leaking now get their own rows again
            self._admitted_since = time.monotonic()
        counts, admitted = self._counts, self._admitted
        for direction, by_names in self._take_notes().items():
            for names, by_path in by_names.items():
                for raw_path, times in by_path.items():
                    path = normalise_path(raw_path)
                    for raw_name in names:
                        name = raw_name if len(raw_name) <= _MAX_NAME else raw_name[:_MAX_NAME] + "…"
                        key = (direction, name, path)
                        if key not in admitted:
                            if len(admitted) >= MAX_KEYS:
                                self.folded += times
                                key = (direction, OTHER, OTHER)
                            else:
                                admitted.add(key)
                        counts[key] += times

    def drain(self) -> dict[tuple[Direction, str, str], int]:
        """The counts since the last drain (a writer persists them), resetting to zero."""
        with self._lock:
            self._fold()
            counts, self._counts = dict(self._counts), Counter()
        return counts

    def snapshot(self) -> dict[tuple[Direction, str, str], int]:
        """The counts since the last drain, without resetting."""
        with self._lock:
            self._fold()
            return dict(self._counts)
