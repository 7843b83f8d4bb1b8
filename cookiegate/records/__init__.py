"""The back office: record types, the spool, the ingest process, the ledger, retention and disclosure.

Nothing here is imported by the request path except ``types`` and ``spool`` (the append side); the stores
open only in the ingest process and the operator commands.
"""
