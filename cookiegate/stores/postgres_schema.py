"""The PostgreSQL schemas, roles and connections shared by ``postgres_access`` and ``postgres_ledger``.

The statutory access log and the consent ledger live in two schemas (``cookiegate_access``,
``cookiegate_ledger``; the same database or two), because 개인정보 보호법 제21조③ wants data kept under a legal
duty stored apart from other personal data. Three roles keep the duties apart too: the owner (``migrate``,
``purge``, holds), the ingest role that may only append (통신비밀보호법: the log is evidence, the process that
writes it must not be able to read, change or delete it), and the disclosure role that reads and exports
against a court permit (통신비밀보호법 제13조). ``cookiegate migrate --roles`` prints the grants below.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from cookiegate.records.types import ACCESS_COLUMNS, LEDGER_COLUMNS, LEDGER_EVIDENCE
from cookiegate.stores import redact_url
from cookiegate.stores.protocols import StoreMissingError, StoreUnavailableError

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION: Final = 1
ACCESS_SCHEMA: Final = "cookiegate_access"
LEDGER_SCHEMA: Final = "cookiegate_ledger"
AGGREGATES_SCHEMA: Final = "cookiegate_aggregates"
#: Ledger 3 (as the SQLite ledger): guardian verification and policy SHA-256 columns, the retention anchor.
LEDGER_SCHEMA_VERSION: Final = 3
#: The version each schema is migrated to (the access log and the ledger move apart).
VERSIONS: Final = {ACCESS_SCHEMA: SCHEMA_VERSION, LEDGER_SCHEMA: LEDGER_SCHEMA_VERSION, AGGREGATES_SCHEMA: 1}
INGEST_ROLE: Final = "cookiegate_ingest"
DISCLOSURE_ROLE: Final = "cookiegate_disclosure"
#: Days of partitions created ahead at ``migrate`` and by every ingest that meets a new day.
DAYS_AHEAD: Final = 7

_TYPES: Final = {
    "ts_ms": "bigint NOT NULL", "client_port": "integer", "status": "integer", "sent_bytes": "bigint",
    "duration_us": "bigint", "at_ms": "bigint NOT NULL", "guardian_at_ms": "bigint", "under14": "smallint NOT NULL",
    "gpc": "smallint NOT NULL", "minor": "smallint NOT NULL", "seq": "bigint PRIMARY KEY",
    "host": "text NOT NULL", "method": "text NOT NULL", "path": "text NOT NULL", "outcome": "text NOT NULL",
}  # fmt: skip
_ROLE_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def columns_ddl(columns: tuple[str, ...]) -> str:
    return ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in columns)


def copy_types(columns: tuple[str, ...]) -> list[str]:
    """The column types for a binary ``COPY`` (half the client CPU of text COPY: 1.0 vs 2.1 µs a record here)."""
    names = {"bigint": "int8", "integer": "int4", "smallint": "int2"}
    return [names.get(_TYPES.get(c, "text").split()[0], "text") for c in columns]


ACCESS_DDL: Final = f"""
CREATE SCHEMA IF NOT EXISTS {ACCESS_SCHEMA};
REVOKE ALL ON SCHEMA {ACCESS_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.access_log ({columns_ddl(ACCESS_COLUMNS)}) PARTITION BY RANGE (ts_ms);
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.partitions (
    day date PRIMARY KEY, name text NOT NULL, start_ms bigint NOT NULL UNIQUE, end_ms bigint NOT NULL,
    rows bigint NOT NULL DEFAULT 0, oldest_ms bigint, newest_ms bigint);
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.spool_progress (segment text PRIMARY KEY, "offset" bigint NOT NULL);
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.legal_holds (
    id bigserial PRIMARY KEY, ip text NOT NULL, from_ms bigint NOT NULL, to_ms bigint NOT NULL,
    reason text NOT NULL, created_ms bigint NOT NULL, released_ms bigint);
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.access_held ({columns_ddl(ACCESS_COLUMNS)});
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.disclosures (
    id bigserial PRIMARY KEY, at_ms bigint NOT NULL, agency text NOT NULL, permit text NOT NULL,
    from_ms bigint NOT NULL, to_ms bigint NOT NULL, ip text, records bigint NOT NULL,
    out_file text NOT NULL, sha256 text NOT NULL);
CREATE TABLE IF NOT EXISTS {ACCESS_SCHEMA}.purge_audit (
    id bigserial PRIMARY KEY, at_ms bigint NOT NULL, cutoff_ms bigint NOT NULL, removed bigint NOT NULL,
    kept_by_hold bigint NOT NULL, oldest_ms bigint, newest_ms bigint, partitions integer NOT NULL);

-- Whether an address (text, as logged) is a selector: an address or a CIDR. False for anything unparsable
-- (an encrypted or missing address) instead of an error that would abort a purge or an export.
CREATE OR REPLACE FUNCTION {ACCESS_SCHEMA}.ip_in(address text, selector text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF address IS NULL THEN RETURN false; END IF;
    IF position('/' IN selector) = 0 THEN RETURN address = selector; END IF;
    RETURN address::inet <<= selector::cidr;
EXCEPTION WHEN invalid_text_representation OR data_exception THEN
    RETURN false;
END $$;

-- One partition per Seoul calendar day for every instant in ``stamps`` (ms since the epoch). SECURITY DEFINER
-- so the ingest role, which may only INSERT, still gets a partition for a day nobody created ahead; the
-- advisory lock stops two ingesters racing on the same day. Day bounds come from the server's time zone data.
CREATE OR REPLACE FUNCTION {ACCESS_SCHEMA}.ensure_days(stamps bigint[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stamp bigint; seoul_day date; part text; lo bigint; hi bigint; made integer := 0;
BEGIN
    FOREACH stamp IN ARRAY stamps LOOP
        seoul_day := (to_timestamp(stamp / 1000.0) AT TIME ZONE 'Asia/Seoul')::date;
        part := 'access_' || to_char(seoul_day, 'YYYYMMDD');
        CONTINUE WHEN EXISTS (SELECT 1 FROM {ACCESS_SCHEMA}.partitions AS p WHERE p.day = seoul_day);
        PERFORM pg_advisory_xact_lock(hashtext('{ACCESS_SCHEMA}.partitions'));
        -- A fresh snapshot after the lock (a catalog lookup could still miss the winner's new table).
        CONTINUE WHEN EXISTS (SELECT 1 FROM {ACCESS_SCHEMA}.partitions AS p WHERE p.day = seoul_day);
        lo := (extract(epoch FROM seoul_day::timestamp AT TIME ZONE 'Asia/Seoul') * 1000)::bigint;
        hi := (extract(epoch FROM (seoul_day + 1)::timestamp AT TIME ZONE 'Asia/Seoul') * 1000)::bigint;
        EXECUTE format('CREATE TABLE {ACCESS_SCHEMA}.%I PARTITION OF {ACCESS_SCHEMA}.access_log '
                       'FOR VALUES FROM (%s) TO (%s)', part, lo, hi);
        INSERT INTO {ACCESS_SCHEMA}.partitions (day, name, start_ms, end_ms) VALUES (seoul_day, part, lo, hi);
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;
REVOKE ALL ON FUNCTION {ACCESS_SCHEMA}.ensure_days(bigint[]) FROM PUBLIC;
INSERT INTO {ACCESS_SCHEMA}.meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')
    ON CONFLICT (key) DO NOTHING;
"""

LEDGER_DDL: Final = f"""
CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA};
REVOKE ALL ON SCHEMA {LEDGER_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.consent_events ({columns_ddl(LEDGER_COLUMNS)});
-- Schema 1 stores predate the evidence columns (issue #10): added empty, so their chains still verify.
ALTER TABLE {LEDGER_SCHEMA}.consent_events
    {", ".join(f"ADD COLUMN IF NOT EXISTS {c} {_TYPES.get(c, 'text')}" for c in LEDGER_EVIDENCE)};
CREATE INDEX IF NOT EXISTS consent_events_by_id ON {LEDGER_SCHEMA}.consent_events (consent_id, seq);
CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.spool_progress (segment text PRIMARY KEY, "offset" bigint NOT NULL);
-- The last event each ledger retention destroyed: the chain continues from its hash (개인정보 보호법 제21조).
CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.chain_anchor (seq bigint PRIMARY KEY, hash text NOT NULL,
    at_ms bigint NOT NULL);
INSERT INTO {LEDGER_SCHEMA}.meta (key, value) VALUES ('schema_version', '{LEDGER_SCHEMA_VERSION}')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
"""

#: Report counters, apart from the statutory log (issue #10 item 2); the SQLite aggregates file's twin.
AGGREGATES_DDL: Final = f"""
CREATE SCHEMA IF NOT EXISTS {AGGREGATES_SCHEMA};
REVOKE ALL ON SCHEMA {AGGREGATES_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {AGGREGATES_SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {AGGREGATES_SCHEMA}.blocked_cookies (
    direction text NOT NULL, name text NOT NULL, path text NOT NULL, count bigint NOT NULL,
    first_ms bigint NOT NULL, last_ms bigint NOT NULL, PRIMARY KEY (direction, name, path));
CREATE TABLE IF NOT EXISTS {AGGREGATES_SCHEMA}.spool_progress (segment text PRIMARY KEY, "offset" bigint NOT NULL);
INSERT INTO {AGGREGATES_SCHEMA}.meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
"""


def _checked(role: str) -> str:
    if not _ROLE_NAME.match(role):
        raise ValueError(f"role name {role!r} must be lower-case letters, digits and _ (e.g. cookiegate_ingest)")
    return role


def _roles_preamble(schema: str, ingest: str, disclosure: str) -> list[str]:
    """Both login roles (created once), nothing granted on ``schema`` but its use: grants follow one by one."""
    ingest, disclosure = _checked(ingest), _checked(disclosure)
    create = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN; END IF; END $$;"
        for role in (ingest, disclosure)
    ]
    return [
        "-- Set passwords with ALTER ROLE … PASSWORD '…' (or use certificates); run again after every migrate.",
        *create,
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {ingest}, {disclosure};",
        f"GRANT USAGE ON SCHEMA {schema} TO {ingest}, {disclosure};",
        "-- Every ingester notes how far it read each spool segment, in the transaction that stores the batch.",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.spool_progress TO {ingest};",
        f"GRANT SELECT ON {schema}.meta TO {ingest};",
    ]


def access_roles_sql(ingest: str = INGEST_ROLE, disclosure: str = DISCLOSURE_ROLE) -> str:
    """Roles and grants for the access log: run by the owner after ``migrate``; idempotent."""
    s = ACCESS_SCHEMA
    return "\n".join([
        "-- cookiegate access log roles",
        *_roles_preamble(s, ingest, disclosure),
        "-- The ingest role appends: INSERT into the log (no SELECT, UPDATE, DELETE, TRUNCATE) and its offsets.",
        f"GRANT INSERT ON {s}.access_log TO {ingest};",
        f"GRANT SELECT ON {s}.partitions TO {ingest};",
        "-- Per-day tallies, kept with the rows so a purge and a report need not scan a day.",
        f"GRANT UPDATE (rows, oldest_ms, newest_ms) ON {s}.partitions TO {ingest};",
        f"GRANT EXECUTE ON FUNCTION {s}.ensure_days(bigint[]) TO {ingest};",
        "-- Retention runs in the gate's ingester: a function that refuses cutoffs under 3 months does the drops.",
        f"GRANT EXECUTE ON FUNCTION {s}.purge_before(bigint, bigint) TO {ingest};",
        "-- The disclosure role reads and exports against a court permit (통신비밀보호법 제13조) and sets holds.",
        f"GRANT SELECT ON {s}.access_log, {s}.access_held, {s}.partitions, {s}.meta, {s}.legal_holds,"
        f" {s}.disclosures, {s}.purge_audit, {s}.spool_progress TO {disclosure};",
        f"GRANT INSERT ON {s}.disclosures TO {disclosure};",
        f"GRANT INSERT, UPDATE (released_ms) ON {s}.legal_holds TO {disclosure};",
        f"GRANT USAGE ON SEQUENCE {s}.disclosures_id_seq, {s}.legal_holds_id_seq TO {disclosure};",
    ])  # fmt: skip


def ledger_roles_sql(ingest: str = INGEST_ROLE, disclosure: str = DISCLOSURE_ROLE) -> str:
    """Roles and grants for the consent ledger: the ingest role appends and reads (a visitor's history)."""
    s = LEDGER_SCHEMA
    return "\n".join([
        "-- cookiegate consent ledger roles: append-only for the ingest role (no UPDATE, no DELETE).",
        *_roles_preamble(s, ingest, disclosure),
        f"GRANT SELECT, INSERT ON {s}.consent_events TO {ingest};",
        "-- The anchor a retention purge (run by the owner) leaves: appenders continue the chain from it.",
        f"GRANT SELECT ON {s}.chain_anchor TO {ingest};",
        f"GRANT SELECT ON {s}.consent_events, {s}.meta, {s}.spool_progress, {s}.chain_anchor TO {disclosure};",
    ])  # fmt: skip


def aggregates_roles_sql(ingest: str = INGEST_ROLE, disclosure: str = DISCLOSURE_ROLE) -> str:
    """Roles and grants for the report counters: the ingest role adds to them, the disclosure role reports."""
    s = AGGREGATES_SCHEMA
    return "\n".join([
        "-- cookiegate report aggregates roles: the ingest role adds to the counters, nothing else.",
        *_roles_preamble(s, ingest, disclosure),
        f"GRANT SELECT, INSERT, UPDATE ON {s}.blocked_cookies TO {ingest};",
        f"GRANT SELECT ON {s}.blocked_cookies, {s}.meta, {s}.spool_progress TO {disclosure};",
    ])  # fmt: skip


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection (transactions are explicit); ``StoreUnavailableError`` when unreachable."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("postgresql:// stores need psycopg: pip install 'cookiegate[postgres]'") from exc
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5, application_name="cookiegate")
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(f"cannot reach {redact_url(url)}: {str(exc).strip()}") from exc


def schema_version(conn: psycopg.Connection[tuple[object, ...]], schema: str, url: str) -> int | None:
    """The schema version in ``schema``, ``None`` when it was never migrated; refuses a newer one."""
    row = conn.execute("SELECT to_regclass(%s)", (f"{schema}.meta",)).fetchone()
    if row is None or row[0] is None:
        return None
    version = conn.execute(f"SELECT value FROM {schema}.meta WHERE key = 'schema_version'").fetchone()
    found = int(str(version[0])) if version else 0
    if found > VERSIONS[schema]:
        raise RuntimeError(f"{redact_url(url)} has schema {found}, newer than this cookiegate ({VERSIONS[schema]})")
    return found


def require_schema(conn: psycopg.Connection[tuple[object, ...]], schema: str, url: str) -> int:
    """The schema version in ``schema``; ``StoreMissingError`` naming the URL when it was never migrated."""
    found = schema_version(conn, schema, url)
    if found is None:
        raise StoreMissingError(
            f"no cookiegate store in {redact_url(url)} (schema {schema} missing): check the URL, or create it "
            f"with `cookiegate migrate`"
        )
    return found


def as_int(value: object) -> int:
    """A column psycopg returned as ``int`` (rows are typed ``tuple[object, ...]``)."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer column, got {value!r}")
    return value
