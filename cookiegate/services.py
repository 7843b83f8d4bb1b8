"""The gate's background parts (access log writer, consent ledger, purge timer) behind small interfaces.

The middleware only calls these protocols; which store sits behind them is decided here, from URLs, so the
hot path never knows about SQLite or PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from starlette.types import Scope

from cookiegate.accesslog import AccessLogWriter, TrustedProxies
from cookiegate.consent import Consent, ConsentMethod
from cookiegate.leaks import LeakCounter
from cookiegate.ledger import ConsentLedger
from cookiegate.retention import PurgeTimer, validate_retention_months
from cookiegate.stores import default_urls, open_access_store, open_ledger_store


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
        outcome: str = "ok",
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
    writer: AccessLogWriter | None = None
    purge_timer: PurgeTimer | None = None
    proxies: TrustedProxies = field(default_factory=lambda: TrustedProxies(()))

    def start(self) -> None:
        """Start the access log writer (recovering any spool a dead process left) and the daily purge (idempotent)."""
        if self.writer is not None:
            self.writer.start()
        if self.purge_timer is not None:
            self.purge_timer.start()

    def stop(self) -> None:
        """Store every spooled record and stop the background threads (idempotent)."""
        if self.purge_timer is not None:
            self.purge_timer.stop()
        if self.writer is not None:
            self.writer.stop()


def open_services(
    *,
    data_dir: Path,
    access_log_url: str | None,
    ledger_url: str | None,
    access_log: bool,
    retention_months: int,
    trusted_proxies: tuple[str, ...],
) -> Services:
    """Build the services the gate was configured with; the access log store opens in its writer thread.

    The spool lives in ``data_dir/access-spool`` whichever store the URL names, so a crash is recovered
    by the next process (or ``cookiegate``) that uses the same ``data_dir``.
    """
    validate_retention_months(retention_months)
    proxies = TrustedProxies(trusted_proxies)
    default_access, default_ledger = default_urls(data_dir)
    leaks = LeakCounter()
    ledger = ConsentLedger(open_ledger_store(ledger_url or default_ledger))
    if not access_log:
        return Services(ledger=ledger, leaks=leaks, proxies=proxies)
    url = access_log_url or default_access
    open_access_store(url).close()  # fail at startup, not in a thread, if the URL or the folder is wrong
    writer = AccessLogWriter(
        lambda: open_access_store(url), spool_dir(data_dir), trusted_proxies=proxies, leaks=leaks
    )
    timer = PurgeTimer(lambda: open_access_store(url), months=retention_months)
    return Services(
        access_log=writer, ledger=ledger, leaks=leaks, writer=writer, purge_timer=timer, proxies=proxies
    )


def spool_dir(data_dir: Path) -> Path:
    """Where the access log spool of ``data_dir`` lives."""
    return data_dir / "access-spool"
