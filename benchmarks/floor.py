"""The floor under the gate's cost: the least a server-side cookie filter can do, as a pure ASGI middleware.

Issue #11 names it: read the Cookie header, filter ``Set-Cookie`` and add ``Vary: Cookie``. No consent, no
classification, no banner: what is left is the plumbing every such middleware pays (a send wrapper per
request, a header scan each way). ``run.py --variants bare,floor,...`` serves it next to the gate, so the
gate's cost over HTTP can be read against this floor rather than against zero.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: A fixed list stands in for a policy: the floor only pays for the byte compare, not for knowing.
BLOCKED_PREFIXES: Final = (b"_fbp=", b"_gcl_au=", b"IDE=")
#: Where the floor leaves what it read, as the gate leaves the consent (so the read cannot be skipped).
SCOPE_KEY: Final = "cookie_floor"


class CookieFloor:
    """Reads the Cookie header into the scope; drops ``Set-Cookie`` of ``BLOCKED_PREFIXES``; adds ``Vary``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value
        scope[SCOPE_KEY] = cookie

        async def filtered_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (name == b"set-cookie" and value.startswith(BLOCKED_PREFIXES))
                ]
                headers.append((b"vary", b"Cookie"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, filtered_send)
