"""``cookiegate migrate --roles [--apply]``: the PostgreSQL roles that keep appending, reading and owning apart.

The ingest role may only append to the access log (통신비밀보호법: the log is evidence, so the process that
writes it cannot read, change or delete it); reading and exporting need the disclosure role (제13조: only
against a court permit). The SQL is printed for a DBA to review, or applied with the owner's URL.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from cookiegate.stores import redact_url


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgresql", "postgres")


def roles_command(access_url: str, ledger_url: str, *, apply: bool, aggregates_url: str = "") -> int:
    """Print (and with ``apply`` run) the role SQL for every PostgreSQL store; 2 when there is none."""
    from cookiegate.stores.postgres_schema import access_roles_sql, aggregates_roles_sql, connect, ledger_roles_sql

    stores = ((access_url, access_roles_sql), (ledger_url, ledger_roles_sql), (aggregates_url, aggregates_roles_sql))
    scripts = [(url, build()) for url, build in stores if is_postgres(url)]
    if not scripts:
        print("cookiegate migrate --roles: roles apply to postgresql:// stores; pass --access-log-url or "
              "--ledger-url postgresql://owner@host/db", file=sys.stderr)  # fmt: skip
        return 2
    for url, sql in scripts:
        print(f"-- for {redact_url(url)}\n{sql}\n")
        if apply:
            with connect(url) as conn:
                conn.execute(sql)
            print(f"-- applied to {redact_url(url)}")
    return 0
