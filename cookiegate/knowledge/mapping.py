"""How an Open Cookie Database row maps to our four consent purposes (the judgement, in one place).

The database's "Functional" mixes two things the law treats differently. Cookies a site needs to deliver
what the visitor asked for (a session, CSRF protection, load-balancer affinity, CDN and bot defence,
payment fraud checks, the record of a cookie choice) are exempt from consent; preference cookies are not.
We keep the first kind *necessary* so a site that mounts the gate does not break its own login and
checkout, and everything else stays behind consent. When unsure, the stricter purpose wins (fail safe).
"""

from __future__ import annotations

import re
from typing import Final

from cookiegate.knowledge.patterns import CATEGORIES, Category

#: Strictness order: on a conflict the later purpose wins (a name listed as both marketing and functional
#: is blocked until targeting is granted).
RANK: Final[dict[Category, int]] = {category: rank for rank, category in enumerate(CATEGORIES)}

OCD_CATEGORIES: Final[dict[str, Category]] = {
    "Necessary": "necessary",
    "Security": "necessary",
    "Functional": "functional",
    "Personalization": "functional",
    "Analytics": "analytics",
    "Marketing": "targeting",
}

#: Platforms whose "Functional" cookies all do infrastructure work: CDN and bot defence, load balancers,
#: identity providers, payment fraud checks, and consent managers (a consent record must exist before any
#: consent, or the choice could not be honoured).
NECESSARY_PLATFORMS: Final[frozenset[str]] = frozenset({
    "Cloudflare", "CloudFlare", "Imperva", "Akamai", "Akamai Botmanager", "f5 BIG-IP", "HAproxy",
    "NGINX Ingresss", "Alteon", "Citrix", "Datadome", "Vercel", "Google reCAPTCHA",
    "Keycloak", "Auth0", "NextAuth.js", "Devise (Ruby on Rails)", "Stripe", "Adyen", "PayPal",
    "Cookiebot", "CookieYes", "Cookie Law Info", "Complianz", "Consentmanager.net", "OneTrust", "Osano",
    "Didomi", "Axeptio", "Termly", "Iubenda", "Borlabs", "Cookie First", "Cookie Script", "CookieConsent.io",
    "PrivacyPillar", "Enzuzo", "Moove", "Hu-manity.co", "AWS Cookies Popup", "QookieQloud",
})  # fmt: skip

#: Analytics, advertising and embed vendors: a session or token cookie of theirs tracks the visitor for
#: the vendor, so its name alone never makes it necessary.
VENDOR_PLATFORMS: Final[frozenset[str]] = frozenset({
    "Google", "Google AdSense", "Google Ads", "Google Analytics", "Google Optimize", "Google Tag Manager",
    "DoubleClick/Google Marketing", "Youtube", "Hotjar", "LinkedIn", "Bing / Microsoft", "Crazy Egg",
    "Dynamic Yield", "PubMatic", "Taboola", "Ezoic", "ShareThis", "Piano", "Lucky Orange", "Twitch",
    "Visual Website Optimizer", "Facebook", "Instagram", "Pinterest", "Xandr", "Smartadserver", "ID5",
    "Permutive", "Adobe Analytics", "Adobe Audience Manager", "Yandex.Metrica", "Snapchat", "Tripadvisor",
    "Squeezely", "Blueconic.com", "Tailtarget", "Prebid", "Braze", "Parse.ly", "Dynatrace", "SiteSpect",
    "Convert Insights", "CreativeCDN", "betweendigital.com", "Fastclick", "Spotify", "Vimeo", "Wistia",
    "Maxlead", "Command Act", "RD Station", "Sleeknote", "Qualtrics", "SurveyMonkey", "Adcalls", "Codepen",
    "Microsoft Azure App Insights", "CHEQ AI Technologies", "Loggly", "Viafoura", "Wikimedia",
})  # fmt: skip

#: Names that do a strictly necessary job when a site's own software sets them.
_NECESSARY_NAME: Final = re.compile(
    r"sess(ion)?|csrf|xsrf|antiforgery|requestverificationtoken|form_key|logged_?in|login|auth(?!or)"
    r"|(^|_)sid$|^sid|affinity|^aslbsa|^awsalb|^awselb|bigipserver|incap_ses|visid_incap|^nlbi_|^__cf|^cf_"
    r"|datadome|^_abck$|^bm_|^ak_bmsc$|cart|basket|checkout|consent|captcha|^__stripe",
    re.IGNORECASE,
)

#: A prefix this short matches unrelated cookies of other vendors; when such a rule would let a cookie in
#: without consent (anything below targeting), we keep only the exact name.
MIN_OPEN_PREFIX: Final = 4


def map_ocd_row(name: str, platform: str, ocd_category: str, domain: str) -> Category | None:
    """Our purpose for one database row, or None when its category is not one we know (row skipped)."""
    category = OCD_CATEGORIES.get(ocd_category)
    if category != "functional" or ocd_category != "Functional":
        return category
    if platform in NECESSARY_PLATFORMS:
        return "necessary"
    if platform in VENDOR_PLATFORMS or "3rd party" in domain:
        return "functional"
    return "necessary" if _NECESSARY_NAME.search(name) else "functional"


def stricter(first: Category, second: Category) -> Category:
    """The purpose that needs more consent of the two (conflicting facts resolve towards privacy)."""
    return first if RANK[first] >= RANK[second] else second
