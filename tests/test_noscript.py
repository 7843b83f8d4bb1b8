"""The <noscript> consent form: what a visitor without JavaScript sees, and that the consent API takes it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookiegate import CookieGate, Policy, get_consent
from cookiegate.api import Locale
from cookiegate.noscript import NoscriptForms, consent_form

POLICY = Policy.default()


class Form(HTMLParser):
    """The parts of the form that matter to a visitor, read as a browser would."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.inputs: list[dict[str, str | None]] = []
        self.buttons: list[tuple[dict[str, str | None], str]] = []
        self.ids: dict[str, str] = {}
        self._open: list[tuple[str, dict[str, str | None]]] = []
        self._text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.attrs.setdefault(tag, attributes)
        if attributes.get("id"):
            self.ids[str(attributes["id"])] = tag
        if tag == "input":
            in_label = any(name == "label" for name, _ in self._open)
            self.inputs.append({**attributes, "_in_label": "yes" if in_label else None})
            return
        self._open.append((tag, attributes))
        self._text = []

    def handle_endtag(self, tag: str) -> None:
        name, attributes = self._open.pop()
        assert name == tag, f"<{name}> closed by </{tag}>"
        if tag == "button":
            self.buttons.append((attributes, "".join(self._text).strip()))

    def handle_data(self, data: str) -> None:
        self._text.append(data)


@pytest.mark.parametrize(
    ("locale", "title", "accept", "reject", "question"),
    [
        ("ko", "쿠키 사용 동의", "모두 동의", "동의하지 않음", "만 14세 미만입니까?"),
        ("en", "Cookies on this site", "Accept all", "Reject all", "Are you under 14?"),
    ],
)
def test_form_offers_accept_and_reject_as_equal_buttons_in_the_visitors_language(
    locale: Locale, title: str, accept: str, reject: str, question: str
) -> None:
    markup = consent_form(POLICY, locale, prefix="/_cookiegate", return_to="/shop?page=2")
    assert markup.startswith("<noscript>") and markup.endswith("</noscript>")
    form = Form(markup)
    assert form.attrs["form"]["method"] == "post"
    assert form.attrs["form"]["action"] == "/_cookiegate/consent"
    assert form.attrs["form"]["lang"] == locale
    labelled_by = form.attrs["form"]["aria-labelledby"]
    assert form.ids[str(labelled_by)] == "h2", "the form is a landmark named by its heading"
    assert title in markup and question in markup
    assert [(b["name"], b["value"], b["class"], b["type"], text) for b, text in form.buttons] == [
        ("choice", "accept_all", "cg-btn", "submit", accept),
        ("choice", "reject_all", "cg-btn", "submit", reject),
    ], "same element, same class: equal weight"
    hidden = {i["name"]: i["value"] for i in form.inputs if i["type"] == "hidden"}
    assert hidden == {"locale": locale, "return_to": "/shop?page=2"}
    radios = [i for i in form.inputs if i["type"] == "radio"]
    assert [r["value"] for r in radios] == ["1", "0"]
    assert all(r["_in_label"] for r in radios), "every radio has a label"
    assert all("checked" not in i for i in form.inputs), "nothing pre-ticked"
    assert 'href="/privacy"' in markup


def test_return_path_and_policy_texts_are_escaped() -> None:
    policy = replace(POLICY, ui={"ko": {**POLICY.ui["ko"], "title": "<b>쿠키</b> & 동의"}})
    markup = consent_form(policy, "ko", prefix="/_cookiegate", return_to='/x"><script>alert(1)</script>')
    assert "<script>" not in markup and "<b>" not in markup
    assert "&lt;b&gt;쿠키&lt;/b&gt; &amp; 동의" in markup
    assert 'value="/x&quot;&gt;&lt;script&gt;' in markup


def test_child_directed_site_asks_no_age_question() -> None:
    markup = consent_form(replace(POLICY, child_directed=True), "ko", prefix="/_cookiegate", return_to="/")
    assert 'name="under14"' not in markup and "만 14세" not in markup


def test_site_may_reword_the_intro_per_locale() -> None:
    policy = replace(POLICY, ui={**POLICY.ui, "en": {**POLICY.ui["en"], "noscript_intro": "Pick one, please."}})
    assert "Pick one, please." in consent_form(policy, "en", prefix="/_cookiegate", return_to="/")


def test_prebuilt_tags_match_the_builder_and_fall_back_to_korean() -> None:
    forms = NoscriptForms(POLICY, "/consent-api")
    for locale in ("ko", "en"):
        expected = consent_form(POLICY, locale, prefix="/consent-api", return_to="/a?b=c&d")
        assert forms.tag(locale, "/a?b=c&d") == expected.encode()
    assert forms.tag("fr", "/") == forms.tag("ko", "/")


def _fields(markup: str, choice: str, under14: str | None) -> dict[str, str]:
    form = Form(markup)
    fields = {str(i["name"]): str(i["value"]) for i in form.inputs if i["type"] == "hidden"}
    fields["choice"] = choice
    if under14 is not None:
        fields["under14"] = under14
    return fields


@pytest.mark.parametrize(
    ("choice", "under14", "granted"),
    [
        ("accept_all", "0", ["necessary", "functional", "analytics", "targeting"]),
        ("accept_all", "1", ["necessary"]),  # 제22조의2①: a child without guardian consent, necessary only
        ("reject_all", None, ["necessary"]),
    ],
)
def test_posting_the_form_records_the_choice_and_returns_to_the_page(
    tmp_path: Path, choice: str, under14: str | None, granted: list[str]
) -> None:
    async def seen(request: Request) -> PlainTextResponse:
        granted = get_consent(request.scope).as_public_dict()["granted"]
        assert isinstance(granted, list)
        return PlainTextResponse(",".join(granted))

    app = CookieGate(Starlette(routes=[Route("/seen", seen)]), secret_keys=["k" * 32], data_dir=tmp_path)
    markup = consent_form(POLICY, "en", prefix="/_cookiegate", return_to="/seen?from=form")
    with TestClient(app, base_url="http://shop.test") as client:
        answer = client.post(
            "/_cookiegate/consent",
            data=_fields(markup, choice, under14),
            headers={"origin": "http://shop.test", "sec-fetch-site": "same-origin"},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/seen?from=form"
        assert "cookiegate" in answer.cookies
        assert client.get("/seen").text == ",".join(granted)


HTML = {"accept": "text/html,application/xhtml+xml"}


def _pages() -> Starlette:
    async def english(request: Request) -> HTMLResponse:
        return HTMLResponse('<!doctype html><html lang="en"><head><title>t</title></head>\n<body class="shop">x</body>')

    async def unlabelled(request: Request) -> HTMLResponse:
        return HTMLResponse("<html><head></head><body>x</body></html>")

    async def no_body_tag(request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>t</title><meta charset=utf-8></head><p>x")

    async def fragment_with_body_end(request: Request) -> HTMLResponse:
        return HTMLResponse("<p>x</p></body>")

    async def streamed(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'<html lang="ko"><head><title>s</title></head>'
            yield b'<body class="late">streamed</body></html>'

        return StreamingResponse(chunks(), media_type="text/html")

    return Starlette(
        routes=[
            Route("/en", english),
            Route("/plain", unlabelled),
            Route("/no-body-tag", no_body_tag),
            Route("/fragment", fragment_with_body_end),
            Route("/stream", streamed),
        ]
    )


def test_every_page_with_the_banner_gets_the_form_right_after_body_start(
    gate_client: Callable[..., TestClient],
) -> None:
    client = gate_client(_pages())
    page = client.get("/en?item=3&x=%22", headers=HTML).text
    assert page.count("<noscript>") == 1
    assert '<body class="shop"><noscript><form class="cg cg-d cg-ns" lang="en"' in page
    assert page.index("data-cookiegate-state") < page.index("</head>") < page.index("<noscript>")
    assert 'name="return_to" value="/en?item=3&amp;x=%22"' in page, "back to the same page after the post"
    assert ">Accept all</button>" in page


@pytest.mark.parametrize(
    ("accept_language", "locale"), [("en-GB,en;q=0.9", "en"), ("ko-KR,ko;q=0.9", "ko"), ("", "ko"), ("fr", "en")]
)
def test_a_page_without_lang_gets_the_form_in_the_visitors_language(
    gate_client: Callable[..., TestClient], accept_language: str, locale: str
) -> None:
    page = gate_client(_pages()).get("/plain", headers={**HTML, "accept-language": accept_language}).text
    assert f'<body><noscript><form class="cg cg-d cg-ns" lang="{locale}"' in page


def test_form_lands_in_the_body_whatever_the_markup(gate_client: Callable[..., TestClient]) -> None:
    client = gate_client(_pages())
    no_body_tag = client.get("/no-body-tag", headers=HTML).text
    assert "</head><noscript>" in no_body_tag, "body start tag omitted: right after </head>, still in the body"
    fragment = client.get("/fragment", headers=HTML).text
    assert fragment.startswith("<p>x</p><link") and fragment.endswith("</noscript></body>")
    streamed = client.get("/stream", headers=HTML).text
    assert streamed.count("<noscript>") == 1 and "</head><noscript>" in streamed


def test_no_form_for_crawlers_api_clients_or_with_injection_off(gate_client: Callable[..., TestClient]) -> None:
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert "<noscript>" not in gate_client(_pages()).get("/en", headers={**HTML, "user-agent": bot}).text
    assert "<noscript>" not in gate_client(_pages()).get("/en").text
    assert "<noscript>" not in gate_client(_pages(), inject_banner=False).get("/en", headers=HTML).text


def test_forms_per_page_are_remembered_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import cookiegate.noscript as noscript

    monkeypatch.setattr(noscript, "PAGE_CACHE_SIZE", 3)
    forms = NoscriptForms(POLICY, "/_cookiegate")
    upper = b'<!DOCTYPE html><HTML LANG="EN"><HEAD></HEAD>'
    for n in range(10):
        scope = {"path": f"/p{n}", "raw_path": f"/p{n}".encode(), "query_string": b"", "headers": []}
        form = forms.for_page(scope, upper, len(upper))
        assert b'lang="en"' in form and f'value="/p{n}"'.encode() in form
        assert forms.for_page(scope, upper, len(upper)) is form, "the same page's form is kept"
        assert len(forms._pages) <= 3
