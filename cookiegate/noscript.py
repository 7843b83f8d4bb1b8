"""The consent form for visitors without JavaScript: a ``<noscript>`` that posts to the consent API.

The banner is a script, so a visitor who turned scripts off would have no way to consent or to refuse.
Refusal must be as easy as acceptance and withdrawal as easy as consent (개인정보 보호법 제37조), for
them too: this form offers "accept all" and "reject all" as plain submit buttons of equal weight, nothing
pre-ticked, and the age question (개인정보 보호법 제22조의2: targeting needs a guardian under 14). The
consent API already takes ``application/x-www-form-urlencoded`` and answers with a 303 back to the page.

Button and heading texts come from the policy's ``[ui.<locale>]`` tables, so a site that rewords its
banner rewords this form too; ``noscript_intro`` there replaces the default sentence.
"""

from __future__ import annotations

import html
import re
from typing import Final, get_args

from starlette.types import Scope

from cookiegate.api import Locale, choose_locale
from cookiegate.bounded import FifoCache
from cookiegate.policy import Policy

LOCALES: Final[tuple[Locale, ...]] = get_args(Locale)
_RETURN_MARK: Final = "\x00return-to\x00"  # cannot occur in escaped text, so the split below is exact
#: Distinct (locale, path and query) forms remembered.
PAGE_CACHE_SIZE: Final = 4096
_PAGE_LANG: Final = re.compile(rb"<html\b[^>]*?\slang\s*=\s*[\"']?(ko|en)\b", re.IGNORECASE)

#: The banner's intro points at its "Settings" button, which this form does not have.
NOSCRIPT_INTRO: Final[dict[Locale, str]] = {
    "ko": "필수 쿠키 외의 기능·분석·맞춤형 광고 쿠키는 동의하신 경우에만 씁니다. "
    "자바스크립트를 끈 상태에서도 여기서 고르거나 바꿀 수 있습니다.",
    "en": "Functional, analytics and advertising cookies are used only if you agree; strictly necessary ones "
    "always. You can choose or change your choice here without JavaScript.",
}


def consent_form(policy: Policy, locale: Locale, *, prefix: str, return_to: str) -> str:
    """``<noscript>`` with a form posting "accept all" or "reject all" to ``{prefix}/consent``.

    ``return_to`` is the same-site path the API redirects to afterwards (it refuses any other).
    """
    ui = policy.public_document(locale)["ui"]

    def text(key: str, default: str = "") -> str:
        return html.escape(str(ui.get(key, default)))

    title_id = "cg-ns-t"
    age = ""
    if policy.age_question and not policy.child_directed:
        # Two radios and nothing ticked: no answer counts as "not under 14", as in the banner.
        age = (
            f'<fieldset class="cg-age"><legend>{text("age_question")}</legend>'
            f'<label><input type="radio" name="under14" value="1"> {text("yes")}</label>'
            f'<label><input type="radio" name="under14" value="0"> {text("no")}</label></fieldset>'
        )
    return (
        f'<noscript><form class="cg cg-d cg-ns" lang="{locale}" method="post" '
        f'action="{html.escape(prefix)}/consent" aria-labelledby="{title_id}">'
        f'<h2 id="{title_id}">{text("title")}</h2>'
        f"<p>{text('noscript_intro', NOSCRIPT_INTRO[locale])} "
        f'<a href="{html.escape(policy.privacy_policy_url)}">{text("privacy")}</a></p>'
        f"{age}"
        f'<input type="hidden" name="locale" value="{locale}">'
        f'<input type="hidden" name="return_to" value="{html.escape(return_to)}">'
        f'<div class="cg-a">'
        f'<button class="cg-btn" type="submit" name="choice" value="accept_all">{text("accept_all")}</button>'
        f'<button class="cg-btn" type="submit" name="choice" value="reject_all">{text("reject_all")}</button>'
        f"</div></form></noscript>"
    )


class NoscriptForms:
    """The form of one policy, built once per locale; ``tag`` only splices in the page's path.

    Built in the gate's constructor (no I/O). ``for_page`` runs per injected page: the finished form is kept
    per (locale, path, query) in a bounded dict, as the gate keeps its banner tags, so a page seen before costs a
    lookup.
    """

    __slots__ = ("_pages", "_parts")

    def __init__(self, policy: Policy, prefix: str) -> None:
        parts: dict[str, tuple[bytes, bytes]] = {}
        for locale in LOCALES:
            before, after = consent_form(policy, locale, prefix=prefix, return_to=_RETURN_MARK).split(_RETURN_MARK)
            parts[locale] = (before.encode(), after.encode())
        self._parts = parts
        # Bounded (oldest out): random paths cost a build each, never memory.
        self._pages: FifoCache[tuple[bytes, bytes, bytes], bytes] = FifoCache(PAGE_CACHE_SIZE)

    def tag(self, locale: str, return_to: str) -> bytes:
        """The encoded ``<noscript>`` for ``locale`` (Korean for anything else) returning to ``return_to``."""
        before, after = self._parts.get(locale) or self._parts["ko"]
        return before + html.escape(return_to).encode("utf-8", "replace") + after

    def for_page(self, scope: Scope, page: bytes, end: int) -> bytes:
        """The form for a page (``page[:end]`` is what precedes the banner tag): in the page's ``<html lang>``
        when it is ko or en, as the banner script picks, else by ``Accept-Language``; returning to the page's
        own path and query.

        Runs on every injected page, so it does as little as it can: a plain find of the usual lower-case
        ``<html`` (the case-insensitive search alone scans the whole head several times slower), then one
        dict lookup keyed by (locale, path, query) for the finished form.
        """
        locale = self.page_locale(page, end)
        if locale is None:
            accept = b",".join(v for n, v in scope["headers"] if n == b"accept-language")
            locale = choose_locale(accept.decode("latin-1")).encode()
        path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        query: bytes = scope.get("query_string", b"")
        key = (locale, path, query)
        form = self._pages.entries.get(key)
        if form is None:
            return_to = path + b"?" + query if query else path
            form = self.tag(locale.decode("ascii"), return_to.decode("latin-1"))
            self._pages.put(key, form)
        return form

    @staticmethod
    def page_locale(page: bytes, end: int) -> bytes | None:
        """The page's own ``<html lang>`` (ko or en) in ``page[:end]``, or None: then the visitor's languages pick."""
        start = page.find(b"<html", 0, end)
        found = _PAGE_LANG.match(page, start, end) if start != -1 else _PAGE_LANG.search(page, 0, end)
        return None if found is None else found[1].lower()
