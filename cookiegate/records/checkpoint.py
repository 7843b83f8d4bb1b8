"""Signed ledger checkpoints: the chain's head, signed with Ed25519 each day and kept in a separate place.

A hash chain shows an edited or deleted event, but not events cut off its end: the shorter chain is still a
valid chain. So each day the head (sequence number and hash) is signed and appended to a checkpoint file kept
apart from the ledger (another disk, another host, a WORM bucket). ``verify`` then finds any checkpointed
event that is missing or different. Whoever can truncate the ledger cannot forge a checkpoint without the
signing key, which lives in the key file outside the data dir (안전성 확보조치 기준 제7조). This is the proof
of consent 개인정보 보호법 제22조 puts on the site, made tamper-evident.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cookiegate.crypto import KeyRing, KeyRingError

_CONTEXT: Final = b"cookiegate.ledger-checkpoint.v1\n"
#: A checkpoint older than this means the daily job stopped: truncation since then would go unseen.
STALE_AFTER: Final = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed head: the ledger had event ``seq`` with hash ``head_hash`` at ``at`` (ISO UTC)."""

    seq: int
    head_hash: str
    at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        return _CONTEXT + f"{self.seq}\n{self.head_hash}\n{self.at}\n{self.key_id}".encode()


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    """What ``verify_checkpoints`` found: ``problems`` empty means every checkpoint matches the ledger."""

    checked: int
    problems: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class CheckpointLog:
    """An append-only JSON-lines file of signed heads. Construction does no I/O."""

    __slots__ = ("_keys", "path")

    def __init__(self, path: Path, keys: KeyRing, *, data_dir: Path | None = None) -> None:
        if not keys.signing:
            raise KeyRingError("the key ring has no signing key; run `cookiegate keys generate --rotate signing`")
        if data_dir is not None and (
            path.resolve() == data_dir.resolve() or data_dir.resolve() in path.resolve().parents
        ):
            raise ValueError(f"checkpoints at {path} sit inside the data dir {data_dir}: keep them apart")
        self.path = path
        self._keys = keys

    def write(self, seq: int, head_hash: str, now: datetime | None = None) -> Checkpoint:
        """Sign and append the head ``seq``/``head_hash``; the line is fsynced before this returns."""
        key = self._keys.signing[-1]
        at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        unsigned = Checkpoint(seq, head_hash, at, key.id, "")
        signature = Ed25519PrivateKey.from_private_bytes(key.secret).sign(unsigned.message())
        checkpoint = Checkpoint(seq, head_hash, at, key.id, base64.b64encode(signature).decode())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(
            {"seq": seq, "head_hash": head_hash, "at": at, "key_id": key.id, "signature": checkpoint.signature}
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        return checkpoint

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """The checkpoints whose signature verifies, and a problem for each line that does not."""
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return [], []
        public = {k.id: Ed25519PrivateKey.from_private_bytes(k.secret).public_key() for k in self._keys.signing}
        good: list[Checkpoint] = []
        problems: list[str] = []
        for number, line in enumerate(lines, 1):
            checkpoint = _parse(line)
            key = public.get(checkpoint.key_id) if checkpoint else None
            if checkpoint is None or key is None or not _valid(key, checkpoint):
                problems.append(f"checkpoint line {number} of {self.path} is not validly signed")
                continue
            good.append(checkpoint)
        return good, problems

    def verify(self, events: Iterable[tuple[int, str]], now: datetime | None = None) -> CheckpointCheck:
        """Compare the ledger's ``(seq, hash)`` pairs with every checkpoint (see ``verify_checkpoints``)."""
        checkpoints, problems = self.read()
        check = verify_checkpoints(checkpoints, events, now)
        return CheckpointCheck(check.checked, (*problems, *check.problems), check.warnings)


def verify_checkpoints(
    checkpoints: list[Checkpoint], events: Iterable[tuple[int, str]], now: datetime | None = None
) -> CheckpointCheck:
    """Every checkpointed event must still be in the ledger with the same hash.

    A checkpoint past the ledger's last event means events were cut off the end; a different hash at a
    checkpointed number means the chain was rebuilt. ``events`` may start after 1 (a purged prefix).
    """
    wanted = {c.seq: c for c in checkpoints}
    seen: dict[int, str] = {}
    head = 0
    for seq, event_hash in events:
        head = max(head, seq)
        if seq in wanted:
            seen[seq] = event_hash
    problems = []
    for seq, checkpoint in sorted(wanted.items()):
        if seq > head:
            problems.append(
                f"the ledger ends at event {head}, but the checkpoint of {checkpoint.at} saw event {seq}: "
                f"{seq - head} event(s) were cut off the end"
            )
        elif seq in seen and seen[seq] != checkpoint.head_hash:
            problems.append(f"event {seq} differs from the one checkpointed on {checkpoint.at}")
    warnings = []
    if checkpoints:
        last = max(datetime.fromisoformat(c.at) for c in checkpoints)
        if (now or datetime.now(UTC)) - last > STALE_AFTER:
            warnings.append(f"the newest checkpoint is from {last.isoformat()}: is the daily checkpoint running?")
    else:
        warnings.append("no checkpoints yet: truncation of the ledger's end cannot be detected")
    return CheckpointCheck(len(wanted), tuple(problems), tuple(warnings))


def _parse(line: bytes) -> Checkpoint | None:
    try:
        data = orjson.loads(line)
        return Checkpoint(int(data["seq"]), str(data["head_hash"]), str(data["at"]), str(data["key_id"]),
                          str(data["signature"]))  # fmt: skip
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _valid(key: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    try:
        key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.message())
    except (InvalidSignature, ValueError):
        return False
    return True


#: Where the ingest process writes its daily checkpoint (outside the data dir); unset: only the CLI writes them.
CHECKPOINT_FILE_ENV: Final = "COOKIEGATE_CHECKPOINT_FILE"


def daily_checkpoint(events: Iterable[tuple[int, str]], keys: KeyRing, data_dir: Path) -> Checkpoint | None:
    """Sign the head of ``events`` into ``$COOKIEGATE_CHECKPOINT_FILE`` (the ingester calls this once a day)."""
    target = os.environ.get(CHECKPOINT_FILE_ENV)
    if not target or not keys.signing:
        return None
    seq, head_hash = max(events, key=lambda event: event[0], default=(0, ""))
    if seq == 0:
        return None
    return CheckpointLog(Path(target), keys, data_dir=data_dir).write(seq, head_hash)
