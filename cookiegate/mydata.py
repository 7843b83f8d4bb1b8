"""The visitor's own page: their consent history and how to ask for 열람·정정·삭제·처리정지.

개인정보 보호법 제35조~제37조 give a visitor the right to see their data and to ask for correction, deletion or
suspension; 제30조 asks the site to tell them how. ``GET {prefix}/my-data`` shows the choices the ledger holds
for the visitor's consent id, what the site keeps by law (the access log, 3 months), and how to make a request.
"""

from __future__ import annotations

from html import escape
from typing import Final

from cookiegate.consent import Consent
from cookiegate.policy import Policy

_TEXT: Final[dict[str, dict[str, str]]] = {
    "ko": {
        "title": "내 쿠키 동의 기록",
        "id": "동의 식별번호",
        "now": "지금 허용된 쿠키",
        "none": "아직 저장된 선택이 없습니다.",
        "head": "일시(UTC)|방법|정책 버전|허용",
        "guardian": "보호자 동의",
        "rights": "열람·정정·삭제·처리정지를 요구하려면 개인정보 처리방침의 연락처로 위 동의 식별번호와 함께 요청해 "
        "주세요. 요청을 받은 날부터 10일 안에 답변합니다(개인정보 보호법 제35조~제37조).",
        "log": "접속기록(접속 일시, IP 주소 등)은 통신비밀보호법 시행령 제41조에 따라 3개월간 암호화해 보관하며, "
        "이 기간에는 삭제할 수 없습니다. 기간이 지나면 복구할 수 없게 파기합니다.",
        "withdraw": "동의는 화면 아래 '쿠키 설정'에서 언제든 바꾸거나 철회할 수 있습니다.",
        "policy": "개인정보 처리방침",
    },
    "en": {
        "title": "My cookie consent record",
        "id": "Consent ID",
        "now": "Cookies allowed now",
        "none": "No choice is stored yet.",
        "head": "Time (UTC)|How|Policy version|Allowed",
        "guardian": "guardian consent",
        "rights": "To see, correct or delete your data or stop its processing, write to the contact in our privacy "
        "policy and quote the consent ID above. We answer within 10 days (Personal Information Protection Act, "
        "Art. 35-37).",
        "log": "Access records (time, IP address and similar) are kept encrypted for 3 months as the Protection of "
        "Communications Secrets Act requires and cannot be deleted before; then they are destroyed for good.",
        "withdraw": 'You can change or withdraw your consent at any time with "Cookie settings" at the bottom of '
        "every page.",
        "policy": "Privacy policy",
    },
}


def my_data_page(consent: Consent, history: list[dict[str, object]], policy: Policy, locale: str) -> str:
    """A small self-contained HTML page (every value escaped) for the visitor's own data."""
    t = _TEXT["en" if locale == "en" else "ko"]
    names: dict[str, str] = {str(key): text.name for key, text in policy.texts(locale).items()}
    allowed = ", ".join(names[c] for c in names if c in consent.granted)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in _row(event, names, t)) + "</tr>" for event in history
    )
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in t["head"].split("|"))
    table = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        if history
        else f"<p>{escape(t['none'])}</p>"
    )
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(t["title"])}</title>'
        f"</head><body><main><h1>{escape(t['title'])}</h1>"
        f"<p>{escape(t['id'])}: <code>{escape(consent.consent_id or '-')}</code></p>"
        f"<p>{escape(t['now'])}: {escape(allowed)}</p>{table}"
        f"<p>{escape(t['withdraw'])}</p><p>{escape(t['rights'])}</p><p>{escape(t['log'])}</p>"
        f'<p><a href="{escape(policy.privacy_policy_url)}">{escape(t["policy"])}</a></p></main></body></html>'
    )


def _row(event: dict[str, object], names: dict[str, str], t: dict[str, str]) -> tuple[str, ...]:
    granted = event.get("granted")
    allowed = ", ".join(names.get(str(c), str(c)) for c in granted) if isinstance(granted, list) else ""
    method = str(event.get("method", ""))
    guardian = event.get("guardian")
    if isinstance(guardian, dict):
        method += f" ({t['guardian']}: {guardian.get('method')}, {guardian.get('verified_at')})"
    return str(event.get("at", "")), method, str(event.get("policy_version", "")), allowed
