"""How the consent API says no: one JSON shape for every client error.

Every bad input gets a 4xx that names the problem, so a site's developer (or the banner) can tell what to
fix; nothing a visitor sends may produce a 500.
"""

from __future__ import annotations

import orjson
from starlette.responses import Response


class APIError(Exception):
    """A client error answered as JSON ``{"error": code, "detail": text}`` with ``status``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def response(self) -> Response:
        """The error as the client sees it."""
        return json_response({"error": self.code, "detail": self.detail}, status=self.status)


def allow(method: str, allowed: tuple[str, ...]) -> None:
    """Refuse a method the route does not serve with a 405 that lists the ones it does."""
    if method not in allowed:
        raise APIError(405, "method_not_allowed", f"use {', '.join(allowed)}")


def json_response(content: object, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    """A JSON answer serialised by orjson (dates, dataclasses and non-ASCII text as they are)."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json", headers=headers)
