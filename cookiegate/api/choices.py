"""A visitor's consent choice from the request body: the banner's JSON or the no-script form post.

Each malformed field gets its own 4xx code naming the field, so the banner's developer (or a site's own
form) sees what to fix; nothing in a body can make the gate record a category that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from cookiegate.api.errors import APIError
from cookiegate.api.language import Locale, locale_named
from cookiegate.consent import ConsentMethod
from cookiegate.policy import CATEGORIES, Category

#: Cookie names the banner may list for clearing: a page with more than this is not a real page.
MAX_BROWSER_COOKIES: Final = 200
#: Fields a consent form may carry: the banner's form sends at most eight.
MAX_FORM_FIELDS: Final = 50
_CLIENT_METHODS: Final[dict[object, ConsentMethod]] = {"banner": "banner", "api": "api"}
_YES: Final = frozenset(("1", "true", "yes", "on"))


@dataclass(frozen=True, slots=True)
class Choice:
    """What a visitor asked for, validated; the recording endpoint narrows it (GPC, minors) afterwards."""

    granted: tuple[Category, ...]
    under14: bool
    locale: Locale | None
    method: ConsentMethod
    #: Form posts only: the page to send the browser back to (303), already made same-site.
    return_to: str | None = None
    #: JSON only: cookie names the banner's script sees, so the answer can list those to clear.
    browser_cookies: tuple[str, ...] = ()


def parse_choice(content_type: str, body: bytes) -> Choice:
    """The choice in ``body``, by its media type: JSON from the banner, URL-encoded from the form."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return parse_json_choice(body)
    if media_type == "application/x-www-form-urlencoded":
        return parse_form_choice(body)
    raise APIError(415, "unsupported_media_type", "send application/json or a form post")


def parse_json_choice(body: bytes) -> Choice:
    """``{"granted": [...], "under14": bool, "locale"?, "method"?, "cookies"?}`` from the banner or an API client."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise APIError(422, "invalid_body", 'send an object like {"granted": ["analytics"], "under14": false}')
    granted = data.get("granted")
    if not isinstance(granted, list):
        raise APIError(422, "invalid_granted", '"granted" must be a list of category names')
    under14 = data.get("under14", False)
    if not isinstance(under14, bool):
        raise APIError(422, "invalid_under14", '"under14" must be true or false')
    # Compared with ==, so a list or an object in these fields is a 422, not a TypeError.
    locale = data.get("locale")
    if locale is not None and locale_named(locale) is None:
        raise APIError(422, "invalid_locale", '"locale" must be "ko" or "en"')
    method = data.get("method", "api")
    if method not in ("banner", "api"):
        raise APIError(422, "invalid_method", '"method" must be "banner" or "api"')
    return Choice(
        granted=validate_categories(granted),
        under14=under14,
        locale=locale_named(locale),
        method=_CLIENT_METHODS[method],
        browser_cookies=_browser_cookies(data.get("cookies", [])),
    )


def parse_form_choice(body: bytes) -> Choice:
    """The no-script form: ``choice`` (accept_all / reject_all / save), ``granted``, ``under14``, ``return_to``."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise APIError(400, "invalid_form", "a form post must be URL-encoded ASCII") from exc
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise APIError(413, "too_many_fields", f"a consent form has at most {MAX_FORM_FIELDS} fields") from exc
    values: dict[str, list[str]] = {}
    for key, value in fields:
        values.setdefault(key, []).append(value)

    def first(key: str, default: str) -> str:
        return (values.get(key) or [default])[0]

    choice = first("choice", "")
    if choice == "accept_all":
        granted: tuple[Category, ...] = CATEGORIES
    elif choice == "reject_all":
        granted = ()
    elif choice in ("", "save"):
        granted = validate_categories(values.get("granted", []))
    else:
        raise APIError(422, "invalid_choice", '"choice" must be accept_all, reject_all or save')
    return Choice(
        granted=granted,
        under14=first("under14", "0") in _YES,
        locale=locale_named(first("locale", "")),
        method="form",
        return_to=safe_return_path(first("return_to", "/")),
    )


def validate_categories(values: Iterable[object]) -> tuple[Category, ...]:
    """Each value must name a category exactly; the first that does not is a 422 naming it."""
    granted: list[Category] = []
    for value in values:
        if not isinstance(value, str) or value not in CATEGORIES:
            raise APIError(422, "unknown_category", f"{_shown(value)} is not one of {list(CATEGORIES)}")
        granted.append(value)
    return tuple(granted)


def safe_return_path(value: str) -> str:
    """A same-site path to redirect to after a form post; anything else becomes ``/`` (no open redirect)."""
    if value.startswith("/") and not value.startswith(("//", "/\\")) and "\\" not in value and value.isprintable():
        return value
    return "/"


def _browser_cookies(cookies: object) -> tuple[str, ...]:
    if (
        not isinstance(cookies, list)
        or len(cookies) > MAX_BROWSER_COOKIES
        or not all(isinstance(n, str) and len(n) <= 256 for n in cookies)
    ):
        raise APIError(422, "invalid_cookies", f'"cookies" must be a list of at most {MAX_BROWSER_COOKIES} names')
    return tuple(cookies)


def _shown(value: object) -> str:
    """A value for an error message, bounded: ``repr`` of JSON nested ~1000 deep raises RecursionError."""
    if isinstance(value, str):
        return repr(value[:40] + ("…" if len(value) > 40 else ""))
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)[:40]
    return f"a {type(value).__name__}"
