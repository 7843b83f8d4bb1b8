"""One PostgreSQL connection per store, shared by its methods under a lock, reconnecting after a restart.

A server restart or a network cut breaks the connection; the call that meets it raises
``StoreUnavailableError`` (the ingester backs off and retries the batch, which the stored spool offset makes
idempotent) and the next call connects again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cookiegate.stores import redact_url
from cookiegate.stores.postgres_schema import VERSIONS, connect, require_schema, schema_version
from cookiegate.stores.protocols import StoreUnavailableError

if TYPE_CHECKING:
    import psycopg


class PostgresLink:
    """The lock-guarded connection of one store; ``what`` names the store in errors."""

    def __init__(self, url: str, what: str) -> None:
        self.url = url
        self.location = redact_url(url)
        self.what = what
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """The open connection, held for the block; a lost connection becomes ``StoreUnavailableError``."""
        import psycopg

        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.url)
            try:
                yield self._conn
            except psycopg.OperationalError as exc:
                self._conn.close()
                self._conn = None
                raise StoreUnavailableError(f"{self.what} {self.location} unavailable: {str(exc).strip()}") from exc

    def open(
        self,
        schema: str,
        ddl: Sequence[str],
        *,
        create: bool,
        then: Callable[[psycopg.Connection[tuple[object, ...]], bool], None] | None = None,
    ) -> None:
        """Check that ``schema`` exists (``StoreMissingError`` naming the URL), or with ``create`` migrate it.

        ``create`` migrates only a missing or older schema: the gate's own ingester opens with ``create`` under
        the ingest role, which may not run DDL on a store the owner already migrated.
        ``then(conn, migrated)`` finishes opening (the access log loads its day partitions); on any failure
        the connection is closed again, so a refused open leaves nothing behind.
        """
        try:
            with self.connection() as conn:
                found = schema_version(conn, schema, self.url)
            migrated = create and (found is None or found < VERSIONS[schema])
            if migrated:
                self.migrate(schema, ddl)
            with self.connection() as conn:
                if require_schema(conn, schema, self.url) < VERSIONS[schema]:
                    raise StoreUnavailableError(
                        f"{self.what} {self.location} has an older schema than this cookiegate "
                        f"({VERSIONS[schema]}): the owner role upgrades it with `cookiegate migrate`"
                    )
                if then is not None:
                    then(conn, migrated)
        except BaseException:
            self.close()
            raise

    def migrate(self, schema: str, ddl: Sequence[str]) -> int:
        """Run ``ddl`` in one transaction under a cluster-wide lock (two ingesters may start at once)."""
        with self.connection() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('cookiegate.migrate'))")
                for script in ddl:
                    conn.execute(script)
            return require_schema(conn, schema, self.url)

    def one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        with self.connection() as conn:
            return conn.execute(sql, args).fetchone()

    def all(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self.connection() as conn:
            return conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
