"""The gate's background parts (access log sink, consent ledger, blocked-cookie counters, ingest process).

``open_services`` only builds objects (contract 2: no I/O in ``CookieGate.__init__``); ``start`` at lifespan
startup starts the blocked-cookie flusher and the supervisor of the data dir's ingest process, which is
where the stores are opened. The request path only ever appends to local spool files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cookiegate.consent import Consent, ConsentMethod
from cookiegate.keyfile import configured_keyring
from cookiegate.leaks import LeakCounter
from cookiegate.proxies import TrustedProxies
from cookiegate.records.accesslog import AccessLog
from cookiegate.records.aggregates import BlockedCookieFlusher
from cookiegate.records.channels import spool_root
from cookiegate.records.gpc import GpcEvents
from cookiegate.records.ledger import ConsentLedger
from cookiegate.records.retention import validate_retention_months
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.status import save_trusted_proxies
from cookiegate.records.supervisor import IngestSupervisor
from cookiegate.records.types import Outcome
from cookiegate.stores import default_urls

logger = logging.getLogger("cookiegate")


class AccessLogSink(Protocol):
    """Receives one record per request (contract 1); must only append (it runs on the request path)."""

    def log(
        self,
        scope: dict[str, Any],  # the request's ASGI scope (a dict, as the spec says; a sink may take any Mapping)
        status: int,
        sent_bytes: int,
        started_ns: int,
        consent: Consent,
        user_agent: bytes,
        forwarded_for: bytes | None,
        forwarded: bytes | None,
        outcome: Outcome = "ok",
    ) -> None: ...


class ConsentRecorder(Protocol):
    """Appends consent events (proof of consent) and reads a visitor's own history (blocking: off the loop)."""

    def record(self, consent: Consent, *, method: ConsentMethod, locale: str, client_ip: str | None) -> bool: ...

    def history(self, consent_id: str) -> list[dict[str, object]]: ...


@dataclass(slots=True)
class Services:
    """What runs beside the requests; started and stopped with the ASGI lifespan."""

    access_log: AccessLogSink | None = None
    ledger: ConsentRecorder | None = None
    leaks: LeakCounter = field(default_factory=LeakCounter)
    proxies: TrustedProxies = field(default_factory=lambda: TrustedProxies(()))
    data_dir: Path | None = None
    flusher: BlockedCookieFlusher | None = None
    supervisor: IngestSupervisor | None = None

    def start(self) -> None:
        """Note the proxy list for the ingester, start the counters' flusher and the ingest supervisor (idempotent)."""
        if self.data_dir is not None:
            try:
                save_trusted_proxies(self.data_dir, self.proxies.networks)
            except OSError:
                # The site must come up even if its data dir is read-only; the ingester then warns too.
                logger.exception("cannot note the trusted proxies in %s for the ingester", self.data_dir)
            keys = configured_keyring(self.data_dir)  # 제29조: seal addresses before they reach the spool
            if keys is not None and isinstance(self.access_log, AccessLog):
                self.access_log.sealer = RecordSealer(keys)
        if isinstance(self.access_log, AccessLog) and self.ledger is not None:
            self.access_log.gpc_events = GpcEvents(self.ledger)
        if self.flusher is not None:
            self.flusher.start()
        if self.supervisor is not None:
            self.supervisor.start()

    def stop(self) -> None:
        """Flush the counters, seal the spools and stop our ingester (it drains first) (idempotent)."""
        if self.flusher is not None:
            self.flusher.stop()
        for part in (self.access_log, self.ledger):
            if isinstance(part, AccessLog | ConsentLedger):
                part.spool.close()
        if self.supervisor is not None:
            self.supervisor.stop()


def open_services(
    *,
    data_dir: Path,
    access_log_url: str | None,
    ledger_url: str | None,
    access_log: bool,
    retention_months: int,
    trusted_proxies: tuple[str, ...],
    aggregates_url: str | None = None,
    ingest: bool = True,
) -> Services:
    """Build the services the gate was configured with; nothing is opened or started here.

    The spools live in ``data_dir/spool`` whichever stores the URLs name. With ``ingest=False`` the operator
    runs ``cookiegate ingest`` (sidecar or systemd unit) for this data dir instead of the gate's own.
    """
    validate_retention_months(retention_months)
    proxies = TrustedProxies(trusted_proxies)
    default_access, default_ledger, default_aggregates = default_urls(data_dir)
    root = spool_root(data_dir)
    leaks = LeakCounter()
    ledger_url = ledger_url or default_ledger
    args = ["--data-dir", str(data_dir), "--ledger-url", ledger_url,
            "--aggregates-url", aggregates_url or default_aggregates,
            "--retention-months", str(retention_months), "--create"]  # fmt: skip
    args += ["--access-log-url", access_log_url or default_access] if access_log else ["--no-access-log"]
    return Services(
        access_log=AccessLog(root / "access") if access_log else None,
        ledger=ConsentLedger(root / "ledger", ledger_url),
        leaks=leaks,
        proxies=proxies,
        data_dir=data_dir,
        flusher=BlockedCookieFlusher(leaks, root / "aggregates"),
        supervisor=IngestSupervisor(data_dir, args) if ingest else None,
    )
