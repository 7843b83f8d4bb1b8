"""The pure judgement of a Cookie header: only granted pairs reach the app, in order; GPC and age narrow."""

from __future__ import annotations

from cookiegate.consent import Consent, no_consent
from cookiegate.judge import Verdict, judge
from cookiegate.policy import Category

CATEGORIES: dict[bytes, Category] = {b"session": "necessary", b"_ga": "analytics", b"_fbp": "targeting"}


def judged(header: bytes, *, gpc: bool = False, minor: bool = False, everything: bool = False) -> Verdict:
    default = no_consent("v")
    if everything:
        default = Consent(frozenset({"necessary", "functional", "analytics", "targeting"}), "v", "c1", chosen=True)
    return judge(
        header,
        gpc=gpc,
        minor=minor,
        category_of=CATEGORIES.__getitem__,
        decode=lambda _: None,
        default=default,
        expires_at=lambda _: float("inf"),
    )


def test_judge_is_pure_and_keeps_only_granted_pairs_in_order() -> None:
    verdict = judged(b"_fbp=1; session=a; _ga=2")
    assert verdict.blocked == ("_fbp", "_ga")
    assert verdict.kept == b"session=a"
    assert verdict.consent.granted == frozenset({"necessary"})


def test_everything_granted_leaves_the_header_as_sent_and_gpc_or_a_child_narrow_it() -> None:
    header = b"_fbp=1; session=a; _ga=2"
    assert judged(header, everything=True).kept is None
    gpc = judged(header, everything=True, gpc=True)
    assert gpc.blocked == ("_fbp",) and gpc.kept == b"session=a; _ga=2"  # GPC: no targeting
    child = judged(header, everything=True, minor=True)
    assert child.blocked == ("_fbp", "_ga") and child.kept == b"session=a"  # no guardian: necessary only
