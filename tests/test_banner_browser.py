"""The consent banner in real headless Chromium against the demo shop under real uvicorn (issue 3).

One browser and one server per module, a fresh browser context (empty cookie jar) per test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cookiegate import Policy
from tests.browser_support import CHROMIUM_ARGS, ROOT, DemoServer, chromium_path

BANNER_DIR = ROOT / "static" / "consent-banner"
IN_ORDER = ["analytics", "analytics-inline", "functional-inline", "targeting", "targeting-inline"]
CLASSIFY = Policy.default().classify

sync_api = pytest.importorskip("playwright.sync_api")


def _load_build() -> Any:
    spec = importlib.util.spec_from_file_location("banner_build", BANNER_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_assets_are_built_and_within_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """The .min files match the sources and JS + CSS stay within 8 KB gzipped, as the README says."""
    build = _load_build()
    assert build.main(["--check"]) == 0, capsys.readouterr().out
    total = sum(build.gzipped(text.encode()) for text in build.build().values())
    assert total <= 8 * 1024
    readme = (BANNER_DIR / "README.md").read_text(encoding="utf-8")
    assert f"{total:,} bytes" in readme or f"{total} bytes" in readme, f"README must state {total} bytes"


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp dir, so a test run leaves the tree clean; ``make screenshots`` points it at docs/screenshots."""
    chosen = os.environ.get("COOKIEGATE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    demo = DemoServer(tmp_path_factory.mktemp("demo"))
    demo.start()
    yield demo
    demo.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(locale="ko-KR", reduced_motion="reduce")
    ctx.set_default_timeout(8000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"JavaScript errors on the page: {errors}"


# ----------------------------------------------------------------------------------------------- helpers


def open_shop(page: Any, server: DemoServer, path: str = "/") -> None:
    page.goto(server.url + path)
    page.wait_for_function("window.cookiegate && window.cookiegate.consent()")


def banner(page: Any) -> Any:
    return page.locator(".cg-b")


def settings(page: Any) -> Any:
    return page.locator(".cg-s")


def ran(page: Any) -> list[str]:
    return list(page.evaluate("window.__demoRan"))


def cookie_names(context: Any) -> set[str]:
    return {cookie["name"] for cookie in context.cookies()}


def categories_in_jar(context: Any) -> set[str]:
    return {CLASSIFY(name) for name in cookie_names(context)}


def choose(page: Any, action: str) -> None:
    """Click a banner button and wait until the banner has gone (the choice is saved)."""
    page.locator(f".cg [data-a={action}]").click()
    page.locator(".cg-re").wait_for(state="visible")


def consent_updates(page: Any) -> list[dict[str, str]]:
    raw = page.evaluate("JSON.stringify(window.dataLayer.filter(a => a[0] === 'consent'))")
    return [entry["2"] | {"kind": entry["1"]} for entry in json.loads(raw)]


def add_late_script(page: Any, category: str, mark: str) -> None:
    page.evaluate(
        """([category, mark]) => {
            const s = document.createElement('script');
            s.type = 'text/plain'; s.dataset.category = category; s.text = `__demoRan.push(${JSON.stringify(mark)})`;
            document.body.append(s);
        }""",
        [category, mark],
    )


# ------------------------------------------------------------------------------------------------- tests


@pytest.mark.browser
def test_first_layer_has_equal_buttons_nothing_ticked_and_nothing_runs(page: Any, server: DemoServer) -> None:
    open_shop(page, server)
    dialog = banner(page)
    dialog.wait_for()
    assert dialog.get_attribute("role") == "dialog"
    assert page.locator("#" + dialog.get_attribute("aria-labelledby")).inner_text() == "쿠키 사용 동의"
    labels = dialog.locator(".cg-a button").all_inner_texts()
    assert labels == ["모두 동의", "동의하지 않음", "설정"]
    boxes = [b.bounding_box() for b in dialog.locator(".cg-a button").all()]
    assert len({round(b["width"]) for b in boxes}) == 1 and len({round(b["height"]) for b in boxes}) == 1
    assert len({round(b["y"]) for b in boxes}) == 1, "side by side on a wide screen"
    colours = {
        b.evaluate("e => getComputedStyle(e).backgroundColor + getComputedStyle(e).color")
        for b in dialog.locator(".cg-a button").all()
    }
    assert len(colours) == 1, "equal prominence: same colours"
    assert dialog.locator("a[href='/privacy']").inner_text() == "개인정보 처리방침"
    assert dialog.locator("legend").inner_text() == "만 14세 미만입니까?"
    assert dialog.locator("input:checked").count() == 0
    assert page.locator(".cg-re").is_hidden(), "no reopen button while the banner asks"
    assert ran(page) == []
    assert page.locator("iframe[data-src]").get_attribute("src") is None
    assert categories_in_jar(page.context) <= {"necessary"}


@pytest.mark.browser
def test_reject_all_leaves_no_tracker_cookie_and_runs_nothing(page: Any, server: DemoServer) -> None:
    open_shop(page, server)
    choose(page, "none")
    assert page.evaluate("cookiegate.consent()")["granted"] == ["necessary"]
    add_late_script(page, "analytics", "late-analytics")
    page.reload()
    page.wait_for_function("window.cookiegate && cookiegate.consent()")
    assert banner(page).count() == 0, "a valid choice means no banner"
    add_late_script(page, "analytics", "late-analytics")
    page.wait_for_timeout(100)
    assert ran(page) == []
    assert page.locator("img[data-category]").get_attribute("src") is None
    assert "cookiegate" in cookie_names(page.context)
    assert categories_in_jar(page.context) <= {"necessary"}, cookie_names(page.context)
    assert consent_updates(page)[-1]["analytics_storage"] == "denied"


@pytest.mark.browser
def test_accept_all_activates_in_document_order_without_flicker_later(page: Any, server: DemoServer) -> None:
    open_shop(page, server)
    choose(page, "all")
    page.wait_for_function("window.__demoRan.length === 5")
    assert ran(page) == IN_ORDER, "src scripts finish before the next script runs"
    assert page.locator("iframe[data-category]").get_attribute("src") == "/demo-static/map.svg"
    assert consent_updates(page)[-1] == {
        "kind": "update",
        "ad_storage": "granted",
        "ad_user_data": "granted",
        "ad_personalization": "granted",
        "analytics_storage": "granted",
        "functionality_storage": "granted",
        "personalization_storage": "granted",
        "security_storage": "granted",
    }
    add_late_script(page, "analytics", "late-analytics")
    page.wait_for_function("window.__demoRan.includes('late-analytics')")

    # Next page view: the gate says "chosen", so the banner never appears, not even for a frame.
    page.add_init_script("""
        new MutationObserver(() => { if (document.querySelector('.cg-b')) window.__bannerSeen = true; })
          .observe(document, {childList: true, subtree: true});""")
    page.reload()
    page.wait_for_function("window.__demoRan && window.__demoRan.length === 5")
    assert ran(page) == IN_ORDER
    assert page.evaluate("window.__bannerSeen === undefined")
    assert consent_updates(page)[0]["kind"] == "default" and consent_updates(page)[0]["ad_storage"] == "denied"
    assert {"_ga", "_gid", "_fbp", "_gcl_au", "theme"} <= cookie_names(page.context)


@pytest.mark.browser
def test_settings_switches_work_one_by_one(page: Any, server: DemoServer) -> None:
    open_shop(page, server)
    page.locator(".cg [data-a=set]").click()
    dialog = settings(page)
    assert dialog.get_attribute("aria-modal") == "true"
    necessary = dialog.locator("#cg-c-necessary")
    assert necessary.is_checked() and necessary.is_disabled()
    assert dialog.locator(".cg-c").first.inner_text().count("항상 사용") == 1
    for key in ("functional", "analytics", "targeting"):
        assert not dialog.locator(f"#cg-c-{key}").is_checked(), "nothing pre-ticked"
    targeting_text = dialog.locator(".cg-c").nth(3).inner_text()
    for label in ("이용 목적", "수집 항목", "보유 기간", "거부해도 서비스 이용에 제한이 없습니다"):
        assert label in targeting_text

    dialog.get_by_role("switch", name="분석 쿠키").check()
    choose(page, "save")
    page.wait_for_function("window.__demoRan.length === 2")
    assert ran(page) == ["analytics", "analytics-inline"]
    assert categories_in_jar(page.context) == {"necessary", "analytics"}

    page.locator("footer .cookie-settings").click()  # any data-cookiegate-open element reopens
    dialog = settings(page)
    assert dialog.get_by_role("switch", name="분석 쿠키").is_checked(), "the current choice is shown"
    dialog.get_by_role("switch", name="기능 쿠키").check()
    choose(page, "save")
    page.wait_for_function("window.__demoRan.includes('functional-inline')")
    assert ran(page) == ["analytics", "analytics-inline", "functional-inline"]
    assert page.evaluate("cookiegate.consent()")["granted"] == ["necessary", "functional", "analytics"]
    assert "targeting" not in categories_in_jar(page.context)


@pytest.mark.browser
def test_under14_then_accept_all_leaves_targeting_off(page: Any, server: DemoServer) -> None:
    """제22조의2①: without a guardian's consent a child's "accept all" grants necessary cookies only."""
    open_shop(page, server)
    page.get_by_role("radio", name="예").check()
    notice = banner(page).locator(".cg-kid")
    assert "부모님이나 보호자" in notice.inner_text()
    choose(page, "all")
    consent = page.evaluate("cookiegate.consent()")
    assert consent["under14"] is True and consent["granted"] == ["necessary"]
    assert ran(page) == []
    page.reload()
    page.wait_for_function("window.cookiegate && window.cookiegate.consent()")
    assert ran(page) == []
    assert categories_in_jar(page.context) <= {"necessary"}, cookie_names(page.context)

    page.locator(".cg-re").click()
    targeting = settings(page).locator("#cg-c-targeting")
    assert targeting.is_disabled() and not targeting.is_checked()
    assert "부모님이나 보호자" in settings(page).locator(".cg-why").inner_text()


@pytest.mark.browser
@pytest.mark.parametrize("header", [True, False], ids=["header-and-js", "js-only"])
def test_global_privacy_control_leaves_targeting_off(browser: Any, server: DemoServer, header: bool) -> None:
    ctx = browser.new_context(
        locale="ko-KR", reduced_motion="reduce", extra_http_headers={"Sec-GPC": "1"} if header else None
    )
    try:
        ctx.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
        page = ctx.new_page()
        open_shop(page, server)
        assert page.evaluate("cookiegate.consent()")["gpc"] is header, "the gate saw the header"
        assert "GPC" in banner(page).inner_text()
        page.locator(".cg [data-a=set]").click()
        targeting = settings(page).locator("#cg-c-targeting")
        assert targeting.is_disabled() and not targeting.is_checked()
        assert "GPC" in settings(page).locator(".cg-why").inner_text()
        choose(page, "all")
        page.wait_for_function("window.__demoRan.length === 3")
        assert "targeting" not in page.evaluate("cookiegate.consent()")["granted"]
        assert "targeting" not in ran(page) and "targeting-inline" not in ran(page)
        page.reload()
        page.wait_for_function("window.__demoRan && window.__demoRan.length === 3")
        assert "targeting" not in categories_in_jar(ctx), cookie_names(ctx)
    finally:
        ctx.close()


@pytest.mark.browser
def test_new_policy_version_asks_again(browser: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    own = DemoServer(tmp_path_factory.mktemp("bump"))
    own.start()
    ctx = browser.new_context(locale="ko-KR", reduced_motion="reduce")
    try:
        page = ctx.new_page()
        open_shop(page, own)
        choose(page, "all")
        page.reload()
        page.wait_for_function("window.cookiegate && cookiegate.consent()")
        assert page.evaluate("cookiegate.consent()")["chosen"] is True
        assert banner(page).count() == 0

        bumped = tmp_path / "cookiegate.toml"
        bumped.write_text('version = "2027-03-01"\neffective_date = "2027-03-01"\n', encoding="utf-8")
        own.restart(bumped)  # same port, so the browser keeps its cookies
        page.reload()
        page.wait_for_function("window.cookiegate && cookiegate.consent()")
        banner(page).wait_for()
        assert page.evaluate("cookiegate.consent()")["chosen"] is False
        assert ran(page) == [], "consent to the old text does not carry over"
        choose(page, "none")
        assert page.evaluate("cookiegate.consent()")["version"] == "2027-03-01"
    finally:
        ctx.close()
        own.stop()


@pytest.mark.browser
def test_withdrawal_clears_cookies_and_stops_trackers(page: Any, server: DemoServer) -> None:
    open_shop(page, server)
    choose(page, "all")
    page.reload()
    page.wait_for_function("window.__demoRan && window.__demoRan.length === 5")
    assert {"_ga", "_gid", "_fbp", "_gcl_au", "theme"} <= cookie_names(page.context)

    page.locator("footer .cookie-settings").click()
    with page.expect_navigation():  # narrowing reloads: code that already ran cannot be unloaded
        page.locator(".cg-s [data-a=none]").click()
    page.wait_for_function("window.cookiegate && cookiegate.consent()")
    assert categories_in_jar(page.context) == {"necessary"}, cookie_names(page.context)
    assert ran(page) == []
    assert page.evaluate("cookiegate.consent()")["granted"] == ["necessary"]
    assert banner(page).count() == 0 and page.locator(".cg-re").is_visible()


@pytest.mark.browser
def test_keyboard_only_flow(page: Any, server: DemoServer) -> None:
    def tab_to(selector: str, limit: int = 25, back: bool = False) -> None:
        for _ in range(limit):
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                return
            page.keyboard.press("Shift+Tab" if back else "Tab")
        raise AssertionError(f"Tab never reached {selector}")

    def focused(selector: str) -> bool:
        return bool(page.evaluate("s => document.activeElement.matches(s)", selector))

    open_shop(page, server)
    banner(page).wait_for()
    assert focused(".cg-b"), "the banner takes focus so keyboard users start there"
    tab_to(".cg-b [data-a=set]")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px", "visible focus"
    page.keyboard.press("Enter")
    assert focused(".cg-s")
    tab_to("#cg-c-analytics")
    page.keyboard.press("Space")
    assert page.locator("#cg-c-analytics").is_checked()
    page.keyboard.press("Escape")  # Esc closes the settings layer without saving
    assert settings(page).count() == 0 and focused(".cg-b [data-a=set]"), "focus returns to Settings"

    page.keyboard.press("Enter")
    tab_to(".cg-s [data-a=none]")
    page.keyboard.press("Tab")
    assert focused(".cg-s [data-a=x]"), "Tab wraps inside the modal settings dialog"
    page.keyboard.press("Shift+Tab")
    assert focused(".cg-s [data-a=none]")
    tab_to("#cg-c-analytics")
    page.keyboard.press("Space")
    tab_to(".cg-s [data-a=save]")
    page.keyboard.press("Enter")
    page.wait_for_function("window.__demoRan.length === 2")
    assert focused(".cg-re"), "after the choice, focus goes to the reopen control"
    assert page.evaluate("cookiegate.consent()")["granted"] == ["necessary", "analytics"]

    page.keyboard.press("Enter")  # reopen
    assert focused(".cg-s")
    page.keyboard.press("Escape")
    assert settings(page).count() == 0 and focused(".cg-re"), "focus returned to the opener"


@pytest.mark.browser
def test_small_screen_zoom_dark_mode_and_reduced_motion(browser: Any, server: DemoServer, screenshots: Path) -> None:
    # 320 CSS px wide (WCAG reflow), then 640x360 = a 1280x720 window at 200% zoom.
    ctx = browser.new_context(
        locale="ko-KR", viewport={"width": 320, "height": 640}, color_scheme="dark", reduced_motion="reduce"
    )
    try:
        page = ctx.new_page()
        open_shop(page, server)
        banner(page).wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        boxes = [b.bounding_box() for b in banner(page).locator(".cg-a button").all()]
        assert len({round(b["width"]) for b in boxes}) == 1 and all(
            b["x"] >= 0 and b["x"] + b["width"] <= 320 for b in boxes
        )
        background = banner(page).evaluate("e => getComputedStyle(e).backgroundColor")
        assert background == "rgb(31, 31, 36)", "dark mode"
        assert banner(page).evaluate("e => getComputedStyle(e).animationName") == "none", "reduced motion"
        page.screenshot(path=str(screenshots / "banner-ko-320-dark.png"))

        page.set_viewport_size({"width": 640, "height": 360})
        page.locator(".cg [data-a=set]").click()
        dialog = settings(page)
        assert dialog.evaluate("e => e.scrollHeight > e.clientHeight"), "long settings scroll inside the dialog"
        dialog.get_by_role("switch", name="분석 쿠키").check()
        choose(page, "save")  # the Save button is reachable and works at 200%
        assert page.evaluate("cookiegate.consent()")["granted"] == ["necessary", "analytics"]
    finally:
        ctx.close()


def _uncovered(page: Any, element: Any) -> bool:
    """True when the element's centre is the element itself (or inside it), not something drawn over it."""
    return bool(
        element.evaluate(
            """e => { const r = e.getBoundingClientRect();
                      const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                      return !!top && (top === e || e.contains(top)); }"""
        )
    )


def _inside_viewport(box: dict[str, float], width: int, height: int) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 360 x 640 CSS px phone, the most common small Android viewport."""
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 360, "height": 640}, reduced_motion="reduce")
    ctx.set_default_timeout(8000)
    yield ctx.new_page()
    ctx.close()


@pytest.mark.browser
def test_phone_settings_keep_their_buttons_in_reach(phone: Any, server: DemoServer, screenshots: Path) -> None:
    open_shop(phone, server)
    phone.locator(".cg [data-a=set]").click()
    dialog = settings(phone)
    assert dialog.evaluate("e => e.scrollHeight > e.clientHeight * 2"), "the purposes are longer than the screen"
    for action in ("save", "all", "none"):
        button = dialog.locator(f"[data-a={action}]")
        assert _inside_viewport(button.bounding_box(), 360, 640), f"{action} is on screen without scrolling"
        assert _uncovered(phone, button), f"{action} is not hidden under anything"
    boxes = [dialog.locator(f"[data-a={a}]").bounding_box() for a in ("save", "all", "none")]
    assert len({round(b["y"]) for b in boxes}) == 1 and len({round(b["width"]) for b in boxes}) == 1, "one row, equal"
    phone.screenshot(path=str(screenshots / "settings-ko-360.png"))

    # Tabbing down the list never leaves the focused switch under the sticky bar (WCAG 2.2 SC 2.4.11).
    bar_top = dialog.locator(".cg-f").bounding_box()["y"]
    for key in ("functional", "analytics", "targeting"):
        while not phone.evaluate("k => document.activeElement.id === 'cg-c-' + k", key):
            phone.keyboard.press("Tab")
        focused = dialog.locator(f"#cg-c-{key}").bounding_box()
        assert focused["y"] + focused["height"] <= bar_top, f"{key} switch focused under the action bar"
    phone.keyboard.press("Space")
    dialog.locator("[data-a=save]").click()
    phone.locator(".cg-re").wait_for(state="visible")
    assert phone.evaluate("cookiegate.consent()")["granted"] == ["necessary", "targeting"]


@pytest.mark.browser
def test_phone_reopen_button_leaves_the_end_of_the_page_readable(
    phone: Any, server: DemoServer, screenshots: Path
) -> None:
    open_shop(phone, server)
    choose(phone, "none")
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    reopen = phone.locator(".cg-re").bounding_box()
    assert _inside_viewport(reopen, 360, 640)
    for link in phone.locator("footer a").all():
        box = link.bounding_box()
        overlaps = box["x"] < reopen["x"] + reopen["width"] and reopen["x"] < box["x"] + box["width"]
        overlaps = overlaps and box["y"] < reopen["y"] + reopen["height"] and reopen["y"] < box["y"] + box["height"]
        assert not overlaps and _uncovered(phone, link), f"{link.inner_text()} is under the reopen button"
    phone.screenshot(path=str(screenshots / "reopen-ko-360.png"))


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "scheme"), [("ko", "light"), ("en", "light"), ("ko", "dark")])
def test_axe_finds_no_serious_violation_on_either_layer(
    browser: Any, server: DemoServer, screenshots: Path, lang: str, scheme: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    options = {
        "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
        "resultTypes": ["violations"],
    }
    ctx = browser.new_context(
        locale="ko-KR" if lang == "ko" else "en-US",
        reduced_motion="reduce",
        viewport={"width": 1024, "height": 720},
        color_scheme=scheme,
    )
    suffix = "" if scheme == "light" else "-" + scheme
    try:
        page = ctx.new_page()
        open_shop(page, server, "/" if lang == "ko" else "/?lang=en")
        banner(page).wait_for()
        assert banner(page).get_attribute("lang") == lang
        axe = Axe()
        for layer in ("banner", "settings"):
            if layer == "settings":
                page.locator(".cg [data-a=set]").click()
                settings(page).wait_for()
            violations = axe.run(page, options=options).response["violations"]
            serious = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
                for v in violations
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == [], f"{layer} ({lang}): {serious}"
            page.screenshot(path=str(screenshots / f"{layer}-{lang}{suffix}.png"))
        if lang == "en":
            assert settings(page).locator("h2").inner_text() == "Cookie settings"
            assert "Accept all" in settings(page).inner_text()
    finally:
        ctx.close()


@pytest.mark.browser
def test_public_api_events_and_double_initialisation(page: Any, server: DemoServer) -> None:
    open_shop(page, server)
    page.evaluate("""() => {
        window.__changes = [];
        cookiegate.on('change', c => __changes.push(c.granted.join(',')));
        document.addEventListener('cookiegate:change', e => __changes.push('event:' + e.detail.chosen));
        const again = document.createElement('script');
        again.src = document.querySelector('script[data-cookiegate-api]').src;
        document.head.append(again);
    }""")
    page.wait_for_timeout(200)
    assert page.locator("#cookiegate").count() == 1, "a second copy of the script does nothing"
    choose(page, "none")
    page.evaluate("cookiegate.show('settings')")
    settings(page).get_by_role("switch", name="분석 쿠키").check()
    choose(page, "save")
    assert page.evaluate("__changes") == ["necessary", "event:true", "necessary,analytics", "event:true"]
    assert page.evaluate("cookiegate.consent()")["granted"] == ["necessary", "analytics"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", page.evaluate("cookiegate.version"))


@pytest.mark.browser
@pytest.mark.parametrize(
    ("locale", "path", "age", "button", "granted", "under14"),
    [
        ("ko-KR", "/", "예", "모두 동의", ["necessary"], True),  # 제22조의2①: no guardian consent yet
        ("en-US", "/?lang=en", None, "Reject all", ["necessary"], False),
    ],
)
def test_without_javascript_the_injected_form_records_a_choice(
    browser: Any,
    server: DemoServer,
    screenshots: Path,
    locale: str,
    path: str,
    age: str | None,
    button: str,
    granted: list[str],
    under14: bool,
) -> None:
    ctx = browser.new_context(locale=locale, java_script_enabled=False, viewport={"width": 360, "height": 640})
    try:
        page = ctx.new_page()
        page.goto(server.url + path)
        form = page.get_by_role("form", name="쿠키 사용 동의" if locale == "ko-KR" else "Cookies on this site")
        assert form.is_visible(), "the gate put the form into the page (the shop has none of its own)"
        assert form.locator("input:checked").count() == 0
        box = form.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, "fits a phone"
        page.screenshot(path=str(screenshots / f"noscript-{locale[:2]}-360.png"))
        if age is not None:
            form.get_by_role("radio", name=age).check()
        with page.expect_navigation():
            form.get_by_role("button", name=button).click()
        assert page.url == server.url + path, "back on the same page"
        assert "cookiegate" in cookie_names(ctx), "the consent cookie is set"
        page.goto(server.url + "/whoami")
        seen = json.loads(page.locator("body").inner_text())
        assert seen["consent"]["chosen"] is True and seen["consent"]["under14"] is under14
        assert seen["consent"]["granted"] == granted
    finally:
        ctx.close()


@pytest.mark.browser
def test_page_that_loads_the_banner_itself_asks_the_api(page: Any, server: DemoServer) -> None:
    """/privacy includes the unminified script without the state attribute: the banner asks GET /consent."""
    page.goto(server.url + "/privacy")
    page.wait_for_function("window.cookiegate && cookiegate.consent()")
    assert page.locator("script[data-cookiegate-api]").count() == 1, "the gate injected nothing here"
    banner(page).wait_for()
    choose(page, "none")
    open_shop(page, server)
    assert banner(page).count() == 0
    page.goto(server.url + "/privacy")
    page.wait_for_function("window.cookiegate && cookiegate.consent()")
    assert page.evaluate("cookiegate.consent()")["chosen"] is True
    assert banner(page).count() == 0
    page.get_by_role("button", name="쿠키 설정 열기").click()
    settings(page).wait_for()
