"""The demo shop's pages in Korean or English, chosen per request like a real bilingual site would.

The language comes from ``?lang=`` (the header links), then the shop's ``lang`` cookie (functional: it only
reaches the app after consent), then ``Accept-Language`` — the same rule the consent API uses, so the page
and its banner speak the same language.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template
from typing import Final

from starlette.requests import Request

from cookiegate.api import Locale, choose_locale

_TEMPLATES: Final = Path(__file__).resolve().parent / "templates"

PRODUCTS: Final = {
    "ko": (("한지 노트", "12,000원"), ("도자기 머그", "18,000원"), ("자개 명함집", "45,000원")),
    "en": (("Hanji notebook", "₩12,000"), ("Ceramic mug", "₩18,000"), ("Mother-of-pearl card case", "₩45,000")),
}

TEXTS: Final[dict[Locale, dict[str, str]]] = {
    "ko": {
        "title": "한결 공방 — 손으로 만든 생활 소품 (cookiegate demo)",
        "brand": "한결 공방",
        "language": "언어",
        "heading": "손으로 만든 생활 소품",
        "intro": "전주 공방에서 천천히 만든 작은 물건들입니다.",
        "add": "장바구니 담기",
        "cart_empty": "장바구니: 0개",
        "cart_items": "장바구니: {n}개",
        "visit": "공방 오시는 길",
        "map": "공방 위치 지도",
        "privacy": "개인정보 처리방침",
        "cookie_settings": "쿠키 설정",
        "whoami": "앱이 받은 쿠키 보기",
        "privacy_body": "이 페이지는 사이트의 개인정보 처리방침 자리를 나타냅니다. "
        "실제 사이트에서는 수집 항목, 이용 목적, 보유 기간, 제3자 제공과 처리 위탁, "
        "정보주체의 권리, 개인정보 보호책임자를 이곳에 적습니다.",
        "cookies": "쿠키",
        "cookies_body": "필수 쿠키 외의 쿠키는 동의하신 목적에만 씁니다. 동의는 언제든 바꾸거나 철회할 수 있습니다.",
        "open_settings": "쿠키 설정 열기",
        "home": "처음으로",
    },
    "en": {
        "title": "Hangyeol Workshop — handmade goods (cookiegate demo)",
        "brand": "Hangyeol Workshop",
        "language": "Language",
        "heading": "Handmade goods for every day",
        "intro": "Small things made slowly in our Jeonju workshop.",
        "add": "Add to cart",
        "cart_empty": "Cart: 0 items",
        "cart_items": "Cart: {n} items",
        "visit": "Visit the workshop",
        "map": "Map to the workshop",
        "privacy": "Privacy policy",
        "cookie_settings": "Cookie settings",
        "whoami": "What the app sees",
        "privacy_body": "This page stands for the site's privacy policy. A real site lists here what it collects, "
        "why, for how long, who else processes it, the visitor's rights and whom to contact.",
        "cookies": "Cookies",
        "cookies_body": "Cookies other than the necessary ones are used only for the purposes you agreed to. "
        "You can change or withdraw your consent at any time.",
        "open_settings": "Open cookie settings",
        "home": "Home",
    },
}


def page_locale(request: Request) -> Locale:
    """ko or en for this request: ``?lang=``, then the ``lang`` cookie, then ``Accept-Language``."""
    explicit = request.query_params.get("lang") or request.cookies.get("lang")
    return choose_locale(request.headers.get("accept-language", ""), explicit)


def _template(name: str) -> Template:
    return Template((_TEMPLATES / name).read_text(encoding="utf-8"))


@cache
def render(name: str, locale: Locale) -> str:
    """The template ``name`` with this locale's texts, every value HTML-escaped (once per page and locale)."""
    texts = TEXTS[locale]
    products = "\n".join(
        f"    <li><h2>{html.escape(title)}</h2><p>{html.escape(price)}</p>"
        f'<button type="button">{html.escape(texts["add"])}</button></li>'
        for title, price in PRODUCTS[locale]
    )
    values = {key: html.escape(value) for key, value in texts.items()}
    return _template(name).substitute(values, lang=locale, products=products)
