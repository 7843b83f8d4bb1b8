"""Every version of the cookie policy, archived with its full text and a SHA-256 the consent ledger stores.

Consent is consent to a specific notice (개인정보 보호법 제22조: the site must prove what the visitor agreed
to), so a free-form version string is not enough: the ledger keeps the hash of the text, and the text itself is
archived read-only, one file per version, never rewritten. Visitors can read earlier versions ("이전 버전
보기"). A version has a 공고일 (announced) that may precede its 시행일 (effective); the version in force on a
day is the newest whose 시행일 has come. Consent events of a version are kept for a configurable time after
the version was superseded (default 3 years), then destroyed (제21조).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import orjson

from cookiegate.policy import LOCALES, Policy

logger = logging.getLogger("cookiegate")

DEFAULT_LEDGER_RETENTION_YEARS: Final = 3
_SAFE_VERSION: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def policy_document(policy: Policy) -> dict[str, Any]:
    """The full text visitors were shown: every locale's texts, the dates and the cookie rules."""
    return {
        "version": policy.version,
        "announced_date": (policy.announced_date or policy.effective_date).isoformat(),
        "effective_date": policy.effective_date.isoformat(),
        "unknown_category": policy.unknown_category,
        "texts": {locale: _without_state(policy.public_document(locale)) for locale in LOCALES},
        "cookie_rules": [list(rule) for rule in policy.cookie_rules],
    }


def _without_state(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("consent", "locale", "version")}


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes that are hashed and archived: JSON with sorted keys, so equal texts hash alike."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def policy_sha256(policy: Policy) -> str:
    """SHA-256 (hex) of the policy's full text: what the ledger stores with each consent event."""
    return hashlib.sha256(canonical(policy_document(policy))).hexdigest()


@dataclass(frozen=True, slots=True)
class ArchivedPolicy:
    """One archived version: its hash, dates, and (``document``) the full text."""

    version: str
    sha256: str
    announced: date
    effective: date
    document: dict[str, Any]

    def summary(self, superseded: date | None) -> dict[str, object]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "announced_date": self.announced.isoformat(),
            "effective_date": self.effective.isoformat(),
            "superseded_date": None if superseded is None else superseded.isoformat(),
        }


class PolicyArchive:
    """A folder of ``<version>.json`` files, written once with mode 444. Construction does no I/O."""

    __slots__ = ("directory",)

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def archive(self, policy: Policy) -> ArchivedPolicy:
        """Archive ``policy`` unless already archived; a changed text under an archived version is refused.

        Raises ValueError: a text visitors agreed to cannot change in place; give the change a new version.
        """
        document = policy_document(policy)
        raw = canonical(document)
        digest = hashlib.sha256(raw).hexdigest()
        path = self._path(policy.version)
        if path.exists():
            archived = self.get(policy.version)
            if archived is None or archived.sha256 != digest:
                raise ValueError(
                    f"policy version {policy.version} was archived with another text ({path}); a changed text "
                    "needs a new version (and announced_date/effective_date), so visitors are asked again"
                )
            return archived
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(raw)
        os.chmod(temporary, 0o444)
        os.replace(temporary, path)
        return _archived(document, digest)

    def get(self, version: str) -> ArchivedPolicy | None:
        """One archived version (hash recomputed from the file, so an edited file shows a new hash)."""
        if not _SAFE_VERSION.fullmatch(version):
            return None
        try:
            raw = self._path(version).read_bytes()
            document = orjson.loads(raw)
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        return _archived(document, hashlib.sha256(raw).hexdigest())

    def versions(self) -> list[ArchivedPolicy]:
        """Every archived version, oldest 시행일 first."""
        if not self.directory.is_dir():
            return []
        found = [self.get(path.stem) for path in self.directory.glob("*.json")]
        return sorted((v for v in found if v is not None), key=lambda v: (v.effective, v.announced, v.version))

    def in_force(self, on: date) -> ArchivedPolicy | None:
        """The version whose 시행일 is the latest on or before ``on`` (an announced one waits its day)."""
        current = [v for v in self.versions() if v.effective <= on]
        return current[-1] if current else None

    def superseded(self) -> dict[str, date | None]:
        """For each version, the 시행일 of the version after it (None: still in force or not yet)."""
        ordered = self.versions()
        return {v.version: (ordered[i + 1].effective if i + 1 < len(ordered) else None) for i, v in enumerate(ordered)}

    def expired_versions(self, today: date, years: int = DEFAULT_LEDGER_RETENTION_YEARS) -> list[str]:
        """Versions superseded more than ``years`` ago: their consent events may now be destroyed (제21조)."""
        if years < 1:
            raise ValueError("ledger retention must be at least 1 year after a version is superseded")
        out = []
        for version, superseded in self.superseded().items():
            if superseded is not None and _add_years(superseded, years) <= today:
                out.append(version)
        return out

    def _path(self, version: str) -> Path:
        if not _SAFE_VERSION.fullmatch(version):
            raise ValueError(f"policy version {version!r} must be letters, digits, '.', '_' or '-' (max 64)")
        return self.directory / f"{version}.json"


def _archived(document: dict[str, Any], digest: str) -> ArchivedPolicy:
    return ArchivedPolicy(
        version=str(document["version"]),
        sha256=digest,
        announced=date.fromisoformat(str(document["announced_date"])),
        effective=date.fromisoformat(str(document["effective_date"])),
        document=document,
    )


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class PolicyVersions:
    """What the consent API serves read-only: the list of versions and each one's full text ("이전 버전 보기").

    Blocking file access: call ``answer`` and ``ensure`` off the event loop. Without an archive folder only the
    current version is known.
    """

    __slots__ = ("_lock", "archive", "archived", "policy", "sha256")

    def __init__(self, policy: Policy, archive: PolicyArchive | None) -> None:
        self.policy = policy
        self.archive = archive
        self.sha256 = policy_sha256(policy)
        self.archived = archive is None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Archive the current version once per process (before the first consent to it is recorded)."""
        with self._lock:
            if self.archived or self.archive is None:
                return
            try:
                self.archive.archive(self.policy)
            except ValueError:
                # The text changed under an archived version: the ledger keeps the hash of the text really
                # shown; the operator must give the change a new version. Loud, but never a failed request.
                logger.exception("policy %s differs from its archived text", self.policy.version)
            except OSError:
                logger.exception("could not archive policy %s; retrying at the next consent", self.policy.version)
                return
            self.archived = True

    def answer(self, version: str | None) -> dict[str, object] | None:
        """The version list (``version`` None) or one version's archived text; None if there is no such version."""
        self.ensure()
        archived = self.archive.versions() if self.archive is not None else []
        if not archived:
            archived = [_archived(policy_document(self.policy), self.sha256)]
        if version is None:
            superseded = {
                v.version: s for v, s in zip(archived, [*(a.effective for a in archived[1:]), None], strict=True)
            }
            return {
                "current": self.policy.version,
                "versions": [v.summary(superseded[v.version]) for v in archived],
            }
        for candidate in archived:
            if candidate.version == version:
                return {**candidate.summary(None), "read_only": True, "document": candidate.document}
        return None
