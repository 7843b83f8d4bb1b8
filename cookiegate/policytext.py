"""The cookie section of the privacy policy, generated from the policy file, in Korean or English.

개인정보 보호법 제30조① asks the privacy policy (개인정보 처리방침) to say how automatic collection devices such
as cookies are installed and run and how to refuse them; the 맞춤형 광고 guideline asks for the behavioural
data collected, why, for how long and how to stop it; 제22조의2 for how children's data is handled. The
statutory access log (통신비밀보호법 시행령 제41조②2호: 3 months) belongs in the retention table too. Written
from the same policy the gate enforces, the text cannot drift from what the banner asks.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from cookiegate.policy import CATEGORIES, Policy

Format = Literal["md", "html"]


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of the document: a heading (level 2-3), a paragraph, a bullet list or a table."""

    kind: Literal["h2", "h3", "p", "ul", "table"]
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


_TEXT: Final[dict[str, dict[str, str]]] = {
    "ko": {
        "title": "쿠키 등 자동 수집 장치의 설치·운영 및 거부에 관한 사항",
        "dates": "정책 버전 {version} · 공고일 {announced} · 시행일 {effective}",
        "intro": "회사는 이용자에게 서비스를 제공하기 위해 쿠키(cookie)를 사용합니다. 쿠키는 웹사이트가 이용자의 "
        "브라우저에 저장하는 작은 텍스트 파일입니다. 필수 쿠키 외의 쿠키는 이용자가 목적별로 동의한 경우에만 "
        "사용하며, 처음에는 모두 꺼져 있습니다.",
        "table_title": "쿠키의 종류, 이용 목적, 수집 항목, 보유 기간",
        "head": "구분|이용 목적|수집 항목|보유 기간|거부할 경우",
        "names_title": "사용하는 쿠키 이름",
        "names_more": "그 밖에 분류되지 않은 쿠키는 '{unknown}'로 보아 동의 전에는 쓰지 않습니다.",
        "refuse_title": "쿠키 설정을 거부하거나 바꾸는 방법",
        "refuse": "화면 아래 '쿠키 설정'에서 언제든 목적별로 동의하거나 동의를 철회할 수 있습니다. 철회는 동의만큼 "
        "쉽게 할 수 있으며(개인정보 보호법 제37조), 철회하면 해당 쿠키를 즉시 삭제합니다.|브라우저 설정에서 쿠키 "
        "저장을 거부할 수도 있습니다(예: Chrome '설정 > 개인정보 및 보안 > 서드 파티 쿠키', Safari '설정 > 개인정보 "
        "보호'). 이 경우 로그인 등 일부 서비스 이용이 어려울 수 있습니다.|브라우저가 GPC(Global Privacy Control) "
        "신호를 보내면 맞춤형 광고 쿠키를 사용하지 않습니다.",
        "log_title": "법령에 따라 보관하는 접속기록",
        "log_head": "보관 항목|근거 법령|보관 기간",
        "log_items": "접속 일시, 접속지 IP 주소와 포트, 요청한 호스트·경로(검색어 등 쿼리 제외), 응답 상태, 전송량",
        "log_basis": "통신비밀보호법 제15조의2, 같은 법 시행령 제41조②2호(로그기록자료·접속지 추적자료)",
        "log_period": "{months}개월(파기 준비 기간 {grace}일 포함 최대 {months}개월 {grace}일), 이후 지체 없이 복구할 "
        "수 없는 방법으로 파기",
        "log_note": "이 기록은 쿠키 동의와 관계없이 법령에 따라 보관하며, 다른 개인정보와 분리하여 IP 주소를 암호화해 "
        "저장합니다. 법원의 허가를 받은 수사기관 등의 요청(통신비밀보호법 제13조)에 따른 제공 외에는 이용하지 "
        "않고, 보관 기간 중에는 삭제 요구에 응할 수 없습니다(개인정보 보호법 제36조①단서).",
        "ads_title": "행태정보의 수집·이용(맞춤형 광고)",
        "ads": "수집 항목: {items}|수집 방법: 이용자가 '{name}'에 동의한 경우에만 쿠키와 광고 스크립트로 자동 "
        "수집합니다.|이용 목적: {purpose}|보유·이용 기간: {retention}|거부 방법: 화면 아래 '쿠키 설정'에서 '{name}' "
        "동의를 끄면 즉시 수집을 멈추고 관련 쿠키를 삭제합니다. GPC 신호도 거부로 처리합니다.|만 14세 미만임을 "
        "알고 있는 아동의 행태정보는 수집하지 않습니다.",
        "kids_title": "만 14세 미만 아동의 개인정보",
        "kids": "만 14세 미만 아동의 개인정보를 동의를 받아 처리할 때에는 법정대리인(보호자)의 동의를 받습니다"
        "(개인정보 보호법 제22조의2①). 보호자의 동의가 확인되기 전에는 필수 쿠키만 사용합니다.|보호자 동의는 "
        "개인정보 보호법 시행령 제17조의2의 방법({methods})으로 확인하고, 확인 방법과 일시를 동의 기록에 "
        "보관합니다.|보호자가 동의하더라도 맞춤형 광고 쿠키는 사용하지 않습니다.|보호자는 아동의 동의 기록을 "
        "열람하고 동의를 철회할 수 있습니다.",
        "methods": "문자메시지 확인, 카드 정보, 휴대전화 본인인증, 서면, 전자우편, 전화, 이에 준하는 방법",
    },
    "en": {
        "title": "Cookies and similar automatic collection: how we use them and how to refuse",
        "dates": "Policy version {version} · announced {announced} · effective {effective}",
        "intro": "We use cookies, small text files a website stores in your browser, to provide the service. "
        "Cookies other than strictly necessary ones are used only if you agree, purpose by purpose; all of them "
        "start switched off.",
        "table_title": "Kinds of cookies, purposes, data, retention",
        "head": "Kind|Purpose|Data collected|Kept for|If you refuse",
        "names_title": "Cookie names we use",
        "names_more": "Any other cookie counts as '{unknown}' and is not used before you agree.",
        "refuse_title": "How to refuse or change your choice",
        "refuse": 'Use "Cookie settings" at the bottom of every page to agree or withdraw, purpose by purpose, at '
        "any time. Withdrawing is as easy as agreeing (Personal Information Protection Act, Art. 37) and deletes "
        "the cookies concerned at once.|You can also block cookies in your browser settings; some features, such "
        "as signing in, may then not work.|If your browser sends a Global Privacy Control (GPC) signal, we do not "
        "use advertising cookies.",
        "log_title": "Access records we keep by law",
        "log_head": "Records|Legal basis|Kept for",
        "log_items": "Time of access, client IP address and port, host and path requested (without query "
        "strings), response status, bytes sent",
        "log_basis": "Protection of Communications Secrets Act, Art. 15-2, and its Enforcement Decree, Art. 41(2)2 "
        "(log records and access location records)",
        "log_period": "{months} months (at most {months} months and {grace} days including the time to destroy "
        "them), then destroyed without delay so that they cannot be restored",
        "log_note": "We keep these records by law whatever your cookie choice, apart from other personal data and "
        "with IP addresses encrypted. They are used for nothing but disclosure against a court permit (Protection "
        "of Communications Secrets Act, Art. 13), and cannot be deleted on request while the law requires keeping "
        "them (Personal Information Protection Act, Art. 36(1) proviso).",
        "ads_title": "Behavioural data for personalised advertising",
        "ads": "Data: {items}|How: collected automatically by cookies and ad scripts, only if you agree to "
        '"{name}".|Why: {purpose}|Kept for: {retention}|How to stop: switch off "{name}" in "Cookie '
        'settings"; collection stops at once and the cookies are deleted. A GPC signal counts as a refusal.|We do '
        "not collect behavioural data from a child we know to be under 14.",
        "kids_title": "Children under 14",
        "kids": "Where we rely on consent to process the personal data of a child under 14, we ask the child's legal "
        "guardian (Personal Information Protection Act, Art. 22-2(1)). Until a guardian's consent is confirmed, "
        "only strictly necessary cookies are used.|We confirm the guardian by a method of the Enforcement Decree, "
        "Art. 17-2 ({methods}) and keep the method and time with the consent record.|Advertising cookies stay "
        "off for children even with a guardian's consent.|A guardian may see the child's consent record and "
        "withdraw the consent.",
        "methods": "text message, card details, mobile-phone identity check, signed form, e-mail, telephone, or "
        "an equivalent method",
    },
}


def policy_blocks(policy: Policy, locale: str, *, retention_months: int = 3, grace_days: int = 7) -> list[Block]:
    """The cookie section as blocks: texts from ``policy``, statutory rows from the law and the settings."""
    t = _TEXT["en" if locale == "en" else "ko"]
    texts = policy.texts(locale)
    announced = (policy.announced_date or policy.effective_date).isoformat()
    blocks = [
        Block("h2", t["title"]),
        Block(
            "p",
            t["dates"].format(version=policy.version, announced=announced, effective=policy.effective_date.isoformat()),
        ),
        Block("p", t["intro"]),
        Block("h3", t["table_title"]),
        Block(
            "table",
            rows=(
                tuple(t["head"].split("|")),
                *(
                    (texts[c].name, texts[c].purpose, texts[c].items, texts[c].retention, texts[c].refusal_notice)
                    for c in CATEGORIES
                ),
            ),
        ),
        Block("h3", t["names_title"]),
        Block("ul", rows=tuple((f"{texts[c].name}: {', '.join(_names(policy, c))}",) for c in CATEGORIES)),
        Block("p", t["names_more"].format(unknown=texts[policy.unknown_category].name)),
        Block("h3", t["refuse_title"]),
        Block("ul", rows=tuple((line,) for line in t["refuse"].split("|"))),
        Block("h3", t["log_title"]),
        Block(
            "table",
            rows=(
                tuple(t["log_head"].split("|")),
                (t["log_items"], t["log_basis"], t["log_period"].format(months=retention_months, grace=grace_days)),
            ),
        ),
        Block("p", t["log_note"]),
        Block("h3", t["ads_title"]),
    ]
    ads = texts["targeting"]
    filled = t["ads"].format(items=ads.items, name=ads.name, purpose=ads.purpose, retention=ads.retention)
    blocks.append(Block("ul", rows=tuple((line,) for line in filled.split("|"))))
    blocks.append(Block("h3", t["kids_title"]))
    kids = t["kids"].format(methods=t["methods"])
    blocks.append(Block("ul", rows=tuple((line,) for line in kids.split("|"))))
    return blocks


def _names(policy: Policy, category: str) -> list[str]:
    return list(dict.fromkeys(pattern for pattern, cat in policy.cookie_rules if cat == category)) or ["-"]


def render(blocks: Sequence[Block], fmt: Format) -> str:
    """Markdown or an HTML fragment (every text escaped) of ``blocks``."""
    return "\n".join(_html(b) if fmt == "html" else _markdown(b) for b in blocks) + "\n"


_MD_SPECIAL: Final = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#"})


def _markdown(block: Block) -> str:
    """Markdown of one block; text is escaped so cookie names like ``_ga_*`` are not read as emphasis."""
    block = Block(block.kind, block.text.translate(_MD_SPECIAL),
                  tuple(tuple(v.translate(_MD_SPECIAL) for v in row) for row in block.rows))  # fmt: skip
    if block.kind == "h2":
        return f"## {block.text}\n"
    if block.kind == "h3":
        return f"### {block.text}\n"
    if block.kind == "p":
        return f"{block.text}\n"
    if block.kind == "ul":
        return "".join(f"- {row[0]}\n" for row in block.rows)
    cell = [[value.replace("|", "\\|") for value in row] for row in block.rows]
    lines = [f"| {' | '.join(cell[0])} |", f"|{'---|' * len(cell[0])}"]
    lines += [f"| {' | '.join(row)} |" for row in cell[1:]]
    return "\n".join(lines) + "\n"


def _html(block: Block) -> str:
    e = html.escape
    if block.kind in ("h2", "h3", "p"):
        return f"<{block.kind}>{e(block.text)}</{block.kind}>"
    if block.kind == "ul":
        return "<ul>" + "".join(f"<li>{e(row[0])}</li>" for row in block.rows) + "</ul>"
    head = "".join(f'<th scope="col">{e(v)}</th>' for v in block.rows[0])
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in block.rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def policy_text(
    policy: Policy, locale: str, fmt: Format = "md", *, retention_months: int = 3, grace_days: int = 7
) -> str:
    """The cookie section of the privacy policy for ``policy`` in ``locale`` as Markdown or HTML."""
    return render(policy_blocks(policy, locale, retention_months=retention_months, grace_days=grace_days), fmt)
