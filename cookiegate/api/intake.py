"""What a consent change must pass before the gate reads it: same-site origin, a bounded body.

A forged cross-site POST could "accept all" for a visitor, and an unbounded body could hold the worker's
memory; both are refused with a 4xx before any consent is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.types import Receive, Scope

from cookiegate.api.errors import APIError

#: A consent choice is a few hundred bytes; the banner's largest (200 cookie names) stays under 8 KiB.
MAX_BODY_BYTES: Final = 16 * 1024
_SAME_SITE: Final = ("same-origin", "none")


def header_fields(scope: Scope) -> dict[str, str]:
    """The request's headers by name, the first of a repeated name winning (as Starlette's ``Headers.get``).

    Read once into a dict: a consent change asks for eight names, most of them absent, and each
    ``Headers.get`` scans the list and raises and catches a ``KeyError`` for a missing one.
    """
    fields: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key not in fields:
            fields[key] = value.decode("latin-1")
    return fields


def refuse_cross_site(headers: Mapping[str, str]) -> None:
    """Only the site's own pages may change consent: a forged cross-site POST could "accept all".

    Browsers send ``Sec-Fetch-Site`` and ``Origin`` on POST/DELETE; a request with neither comes from a
    non-browser client, which cannot ride on a visitor's cookies anyway.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in _SAME_SITE:
        raise APIError(403, "cross_site", f"consent can only be changed from this site (Sec-Fetch-Site: {site})")
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        origin_host = origin.split("://", 1)[-1].rstrip("/")
        if origin == "null" or origin_host.lower() != host.lower():
            raise APIError(403, "cross_site", "consent can only be changed from this site (Origin mismatch)")


async def read_body(receive: Receive, headers: Mapping[str, str]) -> bytes:
    """The request body, at most ``MAX_BODY_BYTES`` whether or not ``Content-Length`` says so (413)."""
    declared = headers.get("content-length")
    # At most 10 ASCII digits: int() of a 5,000-digit string raises ValueError (Python's digit limit).
    if declared is not None and (
        not declared.isascii() or not declared.isdigit() or len(declared) > 10 or int(declared) > MAX_BODY_BYTES
    ):
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    while True:  # ``receive`` itself, not Starlette's ``Request.stream``: no async generator per body
        message = await receive()
        if message["type"] == "http.disconnect":
            raise APIError(400, "disconnected", "the client went away before sending the body")
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large() -> APIError:
    return APIError(413, "too_large", f"the body may be at most {MAX_BODY_BYTES} bytes")
