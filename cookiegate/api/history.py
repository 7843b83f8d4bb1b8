"""A visitor's own consent record: ``GET {prefix}/consent`` and the ``{prefix}/my-data`` page.

열람 right: a visitor may see the record of their own choices (개인정보 보호법 제35조), and the page also
says how to exercise 정정·삭제 and 처리정지 (제36조, 제37조).
"""

from __future__ import annotations

import logging
from typing import Final

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from cookiegate.api.errors import APIError, json_response
from cookiegate.api.language import choose_locale
from cookiegate.consent import Consent
from cookiegate.mydata import my_data_page
from cookiegate.policy import Policy
from cookiegate.services import ConsentRecorder

logger = logging.getLogger("cookiegate")

#: How long a visitor waits for the store before a 503: a locked or slow store must not hold the request.
HISTORY_TIMEOUT_S: Final = 2.0


async def read_history(ledger: ConsentRecorder | None, consent: Consent) -> list[dict[str, object]]:
    """The visitor's own events, oldest first; empty for a visitor who never chose or a gate without a ledger.

    A store read may wait on a lock: it runs off the event loop, bounded by ``HISTORY_TIMEOUT_S``, and any
    failure is a clear 503 ("try later"), never a 500 and never a stalled worker.
    """
    if not consent.consent_id or ledger is None:
        return []
    try:
        with anyio.fail_after(HISTORY_TIMEOUT_S):
            return await anyio.to_thread.run_sync(ledger.history, consent.consent_id, abandon_on_cancel=True)
    except Exception as exc:  # a timeout, or the store locked, unreadable or down: all mean "try later"
        logger.warning("consent history unavailable", exc_info=True)
        detail = "the consent history cannot be read right now; retry later"
        raise APIError(503, "ledger_unavailable", detail) from exc


async def current_consent(ledger: ConsentRecorder | None, consent: Consent) -> Response:
    """``GET {prefix}/consent``: the choice in force and the events that led to it."""
    return json_response({"consent": consent.as_public_dict(), "history": await read_history(ledger, consent)})


async def my_data(request: Request, ledger: ConsentRecorder | None, consent: Consent, policy: Policy) -> Response:
    """``GET {prefix}/my-data``: the same record as a page a visitor can read, in their language."""
    locale = choose_locale(request.headers.get("accept-language", ""), request.query_params.get("locale"))
    page = my_data_page(consent, await read_history(ledger, consent), policy, locale)
    return HTMLResponse(page, headers={"vary": "Accept-Language, Cookie", "content-language": locale})
