"""Where the banner tag and the ``<noscript>`` form go in a page, and the per-page memory of those places."""

from __future__ import annotations

from typing import Any

from cookiegate.injection import PAGE_CACHE_SIZE, Injection, WholePages, insert_tag
from cookiegate.noscript import NoscriptForms
from cookiegate.policy import Policy

PAGE = b'<!doctype html><html lang="en"><head><title>t</title></head><body class="x"><p>hi</p></body></html>'


def scope(path: str = "/page", query: bytes = b"", language: bytes = b"ko") -> dict[str, Any]:
    return {"type": "http", "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": [(b"accept-language", language)]}  # fmt: skip


def forms() -> NoscriptForms:
    return NoscriptForms(Policy.default(), "/_cg")


def test_insert_tag_without_head_uses_body_end_and_fragments_are_skipped() -> None:
    assert insert_tag(b"<p>x</p></BODY>", b"<T>") == b"<p>x</p><T></BODY>"
    assert insert_tag(b"<p>fragment</p>", b"<T>") is None


def test_a_page_loading_the_banner_itself_is_left_alone() -> None:
    page = b'<html><head><script src="/b.js" data-cookiegate-api="/_cg"></script></head><body></body></html>'
    assert insert_tag(page, b"<T>") is None
    assert WholePages(forms()).inject(page, b"<T>", scope()) is None


def test_tag_before_head_end_and_form_after_body_start() -> None:
    out = WholePages(forms()).inject(PAGE, b"<T>", scope())
    assert out is not None
    assert out.index(b"<T>") == PAGE.index(b"</head>")
    form_at = out.index(b"<noscript>")
    assert out[:form_at].endswith(b'<body class="x">')
    assert b'value="/page"' in out and b"Accept all" in out, "the page's own lang (en) and path"


def test_a_remembered_page_gives_what_a_fresh_cut_gives() -> None:
    pages = WholePages(forms())
    first = pages.inject(PAGE, b"<T1>", scope())
    again = pages.inject(bytes(PAGE), b"<T2>", scope())  # equal bytes, another object: the remembered places
    fresh = WholePages(forms()).inject(PAGE, b"<T2>", scope())
    assert first is not None and again == fresh
    assert first.replace(b"<T1>", b"<T2>") == again


def test_a_changed_page_of_the_same_length_is_cut_again() -> None:
    pages = WholePages(forms())
    pages.inject(PAGE, b"<T>", scope())
    moved = PAGE.replace(b"<title>t</title></head><body", b"</head><body><title>t</title")
    assert len(moved) == len(PAGE)
    out = pages.inject(moved, b"<T>", scope())
    assert out is not None and out.index(b"<T>") == moved.index(b"</head>")


def test_the_form_returns_to_each_path_and_query() -> None:
    pages = WholePages(forms())
    one = pages.inject(PAGE, b"<T>", scope("/a", b"q=1"))
    two = pages.inject(PAGE, b"<T>", scope("/b"))
    assert one is not None and b'value="/a?q=1"' in one
    assert two is not None and b'value="/b"' in two


def test_pages_without_lang_follow_each_visitor_and_are_not_remembered() -> None:
    page = PAGE.replace(b' lang="en"', b"")
    pages = WholePages(forms())
    korean = pages.inject(page, b"<T>", scope(language=b"ko"))
    english = pages.inject(page, b"<T>", scope(language=b"en"))
    assert korean is not None and english is not None
    assert b"Accept all" in english and b"Accept all" not in korean


def test_the_page_memory_is_bounded() -> None:
    pages = WholePages(forms())
    for n in range(PAGE_CACHE_SIZE + 50):
        pages.inject(PAGE, b"<T>", scope(f"/p{n}"))
    assert len(pages._pages) <= PAGE_CACHE_SIZE


def test_injection_fixes_content_length_and_streams_without_one() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"26")]}
    sent = Injection(b"<T>", start, 0).feed(b"<html><head></head></html>", False)
    assert sent[0]["headers"] == [(b"content-length", b"29")]
    assert sent[1]["body"] == b"<html><head><T></head></html>"

    streaming = Injection(b"<T>", {"type": "http.response.start", "status": 200, "headers": []}, -1)
    first = streaming.feed(b"<html><head></he", True)
    second = streaming.feed(b"ad><body>", False)
    assert b"".join(m["body"] for m in first[1:] + second) == b"<html><head><T></head><body>"
    assert streaming.done
