"""Data-subject requests about the access log and the consent ledger: register, answer, refuse, track deadlines.

개인정보 보호법 제35조 (열람), 제36조 (정정·삭제) and 제37조 (처리정지) give a visitor the right to see, correct,
delete and stop the processing of their data; 시행령 제41조④, 제43조③ and 제44조② give the site 10 days to act.
Deletion of the access log inside its retention window is refused: 통신비밀보호법 시행령 제41조②2호 requires it to
be kept, and 개인정보 보호법 제36조① proviso excludes data another law requires to be collected. The refusal
names that basis and the date the records will be destroyed anyway.

Requests live in an append-only JSON-lines file in the data dir (who asked, how their identity was checked,
when); the requester's address is kept only as its lookup tag when keys are configured.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args

import orjson

from cookiegate.destruction import DEFAULT_GRACE_DAYS

RequestType = Literal["access", "correction", "deletion", "suspension"]
REQUEST_TYPES: Final[tuple[str, ...]] = get_args(RequestType)
#: The 10-day answer period of each request type.
DEADLINE_BASIS: Final[dict[str, str]] = {
    "access": "개인정보 보호법 제35조, 시행령 제41조④ (10일)",
    "correction": "개인정보 보호법 제36조, 시행령 제43조③ (10일)",
    "deletion": "개인정보 보호법 제36조, 시행령 제43조③ (10일)",
    "suspension": "개인정보 보호법 제37조, 시행령 제44조② (10일)",
}
ANSWER_DAYS: Final = 10
RIGHTS_FILE: Final = "rights-requests.jsonl"
STATUTORY_BASIS: Final = (
    "통신비밀보호법 제15조의2 및 같은 법 시행령 제41조②2호: 접속기록(로그기록자료·접속지 추적자료)은 3개월 이상 "
    "보관해야 하므로 보관 기간 중에는 삭제·처리정지할 수 없습니다 (개인정보 보호법 제36조①단서, 제37조②1호)."
)


@dataclass(frozen=True, slots=True)
class RightsRequest:
    """One request as registered; ``answered``/``outcome`` are filled when it is answered."""

    id: int
    type: str
    requester: str
    identity_check: str
    received: str
    consent_id: str | None
    address_tag: str | None
    deadline: str
    answered: str | None = None
    outcome: str | None = None
    operator: str | None = None

    def days_left(self, today: date) -> int:
        return (date.fromisoformat(self.deadline) - today).days


def deadline_for(received: date) -> date:
    """Received date + 10 days (the day of receipt not counted)."""
    return received + timedelta(days=ANSWER_DAYS)


def destruction_date(record_day: date, retention_months: int, grace_days: int = DEFAULT_GRACE_DAYS) -> date:
    """When a record made on ``record_day`` is destroyed: retention months, then the grace, then purge."""
    month = record_day.month - 1 + retention_months
    year, month = record_day.year + month // 12, month % 12 + 1
    day = min(record_day.day, _days_in(year, month))
    return date(year, month, day) + timedelta(days=grace_days + 1)


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


class RightsBook:
    """The requests of one data dir. Construction does no I/O."""

    __slots__ = ("path",)

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / RIGHTS_FILE

    def register(
        self,
        *,
        type: str,
        requester: str,
        identity_check: str,
        received: date,
        consent_id: str | None = None,
        address_tag: str | None = None,
    ) -> RightsRequest:
        """Add a request; ValueError naming what is missing (a request nobody verified cannot be answered)."""
        if type not in REQUEST_TYPES:
            raise ValueError(f"--type must be one of {list(REQUEST_TYPES)}")
        if not requester.strip() or not identity_check.strip():
            raise ValueError("name the requester and how their identity was checked (--requester, --identity-check)")
        if consent_id is None and address_tag is None:
            raise ValueError("give the visitor's consent id (--consent-id) or address (--ip) to find their data")
        request = RightsRequest(
            id=len(self.all()) + 1, type=type, requester=requester.strip(), identity_check=identity_check.strip(),
            received=received.isoformat(), consent_id=consent_id, address_tag=address_tag,
            deadline=deadline_for(received).isoformat(),
        )  # fmt: skip
        self._append({"event": "registered", **asdict(request)})
        return request

    def answer(self, request_id: int, *, outcome: str, operator: str, on: date) -> RightsRequest:
        """Mark a request answered with ``outcome`` (what was given or refused, and why)."""
        found = self.get(request_id)
        if found is None:
            raise ValueError(f"no rights request {request_id}")
        answered = replace(found, answered=on.isoformat(), outcome=outcome, operator=operator)
        self._append({"event": "answered", "id": request_id, "answered": answered.answered, "outcome": outcome,
                      "operator": operator})  # fmt: skip
        return answered

    def get(self, request_id: int) -> RightsRequest | None:
        return next((r for r in self.all() if r.id == request_id), None)

    def all(self) -> list[RightsRequest]:
        """Every request with its latest state, oldest first."""
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        requests: dict[int, RightsRequest] = {}
        for line in lines:
            entry: dict[str, Any] = orjson.loads(line)
            if entry.pop("event") == "registered":
                requests[entry["id"]] = RightsRequest(**entry)
            elif entry["id"] in requests:
                requests[entry["id"]] = replace(
                    requests[entry["id"]], answered=entry["answered"], outcome=entry["outcome"],
                    operator=entry["operator"],
                )  # fmt: skip
        return list(requests.values())

    def _append(self, entry: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
            os.fsync(fd)
        finally:
            os.close(fd)
