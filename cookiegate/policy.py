"""The cookie policy: categories, their texts in Korean and English, and which cookie belongs where.

Everything a request needs from the policy is precomputed when it is built: ``classify`` answers an exact
name with one dict lookup and a prefix with one dict lookup per distinct prefix length, so the hot path
never scans a rule list. The site's own rules decide first; the shipped cookie knowledge
(``cookiegate.knowledge``: the Open Cookie Database plus Korean services and web frameworks) answers the
rest; a name neither knows gets ``unknown_category`` (targeting: blocked until a visitor accepts ads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from cookiegate.bounded import FifoCache
from cookiegate.knowledge import shipped_patterns
from cookiegate.knowledge.patterns import CATEGORIES, Category, Patterns, compile_patterns, match_pattern

LOCALES: Final[tuple[str, ...]] = ("ko", "en")
TEXT_FIELDS: Final[tuple[str, ...]] = ("name", "description", "purpose", "items", "retention", "refusal_notice")

#: Query parameters that identify an ad click or campaign. 개인정보 보호법 제22조의2 and the 맞춤형 광고
#: guideline forbid behavioural advertising data for a child under 14, so the gate removes them for minors.
DEFAULT_MARKETING_PARAMS: Final[tuple[str, ...]] = (
    "utm_*",
    "gclid",
    "gclsrc",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "n_media",
    "n_query",
    "n_rank",
    "n_ad",
    "n_ad_group",
    "n_campaign_type",
    "n_keyword",
    "n_keyword_id",
    "yclid",
    "_kx",
    "epik",
    "ScCid",
    "rdt_cid",
    "irclickid",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wickedid",
    "s_kwcid",
    "ef_id",
)

_CLASSIFY_CACHE_LIMIT: Final = 4096

__all__ = ["CATEGORIES", "DEFAULT_MARKETING_PARAMS", "Category", "CategoryInfo", "CategoryText", "Policy"]


@dataclass(frozen=True, slots=True)
class CategoryText:
    """What a visitor reads about one category in one language (purpose, items, retention, refusal)."""

    name: str
    description: str
    purpose: str
    items: str
    retention: str
    refusal_notice: str


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """One consent purpose. ``required`` categories (necessary) are always granted and shown locked."""

    key: Category
    texts: Mapping[str, CategoryText]
    required: bool = False


@dataclass(slots=True, eq=False)
class Policy:
    """The site's cookie policy; build it with ``Policy.default()`` or ``Policy.load("cookiegate.toml")``.

    ``version`` identifies the text visitors agreed to: a consent given under another version reads as no
    consent, so changing the policy re-asks everyone (개인정보 보호법: consent is to a specific notice).
    """

    version: str
    effective_date: date
    categories: Mapping[Category, CategoryInfo]
    cookie_rules: tuple[tuple[str, Category], ...]
    unknown_category: Category = "targeting"
    privacy_policy_url: str = "/privacy"
    consent_max_age_days: int = 183
    child_directed: bool = False
    age_question: bool = True
    marketing_params: tuple[str, ...] = DEFAULT_MARKETING_PARAMS
    ui: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: 공고일: when this version was published; it may precede the 시행일 (``effective_date``).
    announced_date: date | None = None
    cookie_knowledge: bool = True
    _patterns: Patterns[Category] = field(init=False, repr=False)
    _knowledge: Patterns[Category] | None = field(init=False, repr=False)
    _cache: FifoCache[str, Category] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.unknown_category not in CATEGORIES:
            raise ValueError(f"unknown_category must be one of {CATEGORIES}, not {self.unknown_category!r}")
        missing = [c for c in CATEGORIES if c not in self.categories]
        if missing:
            raise ValueError(f"the policy must describe every category; add texts for {missing}")
        if self.announced_date is not None and self.announced_date > self.effective_date:
            raise ValueError("policy: announced_date (공고일) must not be after effective_date (시행일)")
        if self.consent_max_age_days < 1:
            raise ValueError("consent_max_age_days must be at least 1")
        self._patterns = compile_patterns(self.cookie_rules)
        self._knowledge = shipped_patterns() if self.cookie_knowledge else None
        # Bounded (oldest out): random cookie names cost a few lookups each, never memory.
        self._cache = FifoCache(_CLASSIFY_CACHE_LIMIT)

    def classify(self, name: str) -> Category:
        """The category of a cookie name; names no rule knows get ``unknown_category`` (fail safe)."""
        cached = self._cache.entries.get(name)
        if cached is not None:
            return cached
        category = self._match(name) or self.unknown_category
        self._cache.put(name, category)
        return category

    def knows(self, name: str) -> bool:
        """Whether a rule classifies ``name`` (False: it gets ``unknown_category``, and wants classifying)."""
        return self._match(name) is not None

    def site_knows(self, name: str) -> bool:
        """Whether the site's own rules (not the shipped knowledge) classify ``name``."""
        return match_pattern(self._patterns, name) is not None

    def _match(self, name: str) -> Category | None:
        # The site's rules first, whole: its prefix "wp_*" beats a shipped exact name, because the
        # site knows its own cookies better than any database.
        found = match_pattern(self._patterns, name) if self.cookie_rules else None
        if found is None and self._knowledge is not None:
            found = match_pattern(self._knowledge, name)
        return found

    def texts(self, locale: str) -> dict[Category, CategoryText]:
        """Each category's text in ``locale`` (falling back to Korean, then English)."""
        out: dict[Category, CategoryText] = {}
        for key, info in self.categories.items():
            out[key] = info.texts.get(locale) or info.texts.get("ko") or next(iter(info.texts.values()))
        return out

    def public_document(self, locale: str) -> dict[str, Any]:
        """The JSON the banner renders: one locale's texts plus what the banner must enforce."""
        texts = self.texts(locale)
        return {
            "version": self.version,
            "effective_date": self.effective_date.isoformat(),
            "announced_date": (self.announced_date or self.effective_date).isoformat(),
            "locale": locale,
            "privacy_policy_url": self.privacy_policy_url,
            "age_question": self.age_question,
            "child_directed": self.child_directed,
            "ui": dict(self.ui.get(locale) or self.ui.get("ko") or {}),
            "categories": [
                {
                    "key": key,
                    "required": self.categories[key].required,
                    **{name: getattr(texts[key], name) for name in TEXT_FIELDS},
                }
                for key in CATEGORIES
            ],
        }

    @classmethod
    def default(cls) -> Policy:
        """The shipped policy: Korean/English texts and the shipped cookie knowledge (``cookiegate.knowledge``)."""
        from cookiegate.policy_toml import default_mapping

        return cls.from_mapping(default_mapping())

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a site policy from TOML, laid over the default (its rules and texts win)."""
        from cookiegate.policy_toml import site_mapping

        return cls.from_mapping(site_mapping(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from parsed TOML; raises ValueError naming the field to fix (``policy_toml``)."""
        # Imported here: policy_toml builds this module's CategoryText and CategoryInfo.
        from cookiegate.policy_toml import policy_fields

        return cls(**policy_fields(data))
