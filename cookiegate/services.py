"""The gate's background parts (access log writer, consent ledger, purge timer) behind small interfaces.

The middleware only calls these protocols; which store sits behind them is decided here, from URLs, so the
hot path never knows about SQLite or PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from starlette.types import Scope

from cookiegate.consent import Consent, ConsentMethod
from cookiegate.leaks import LeakCounter


class AccessLogSink(Protocol):
    """Receives one record per finished request; must only enqueue (it runs on the request path)."""

    def log(
        self,
        scope: Scope,
        status: int,
        sent_bytes: int,
        started_ns: int,
        consent: Consent,
        user_agent: bytes,
        forwarded_for: bytes | None,
        forwarded: bytes | None,
    ) -> None: ...


class ConsentRecorder(Protocol):
    """Appends consent events to the ledger (proof of consent) and reads a visitor's own history."""

    def record(
        self, consent: Consent, *, method: ConsentMethod, locale: str, client_ip: str | None
    ) -> None: ...

    def history(self, consent_id: str) -> list[dict[str, object]]: ...


@dataclass(slots=True)
class Services:
    """What runs beside the requests; started and stopped with the ASGI lifespan."""

    access_log: AccessLogSink | None = None
    ledger: ConsentRecorder | None = None
    leaks: LeakCounter = field(default_factory=LeakCounter)

    def start(self) -> None:
        """Start background threads (idempotent)."""

    def stop(self) -> None:
        """Drain and stop background threads (idempotent)."""


def open_services(
    *,
    data_dir: Path,
    access_log_url: str | None,
    ledger_url: str | None,
    access_log: bool,
    retention_months: int,
    trusted_proxies: tuple[str, ...],
) -> Services:
    """Build the services the gate was configured with."""
    return Services()
