"""The consent API under the gate's prefix (``/_cookiegate`` by default), one module per job.

``routes`` (``ConsentAPI``: which handler answers which path), ``changes`` (recording a choice or a
withdrawal), ``history`` (a visitor's own record), ``choices`` (the request body, validated), ``intake``
(same-site check, bounded body), ``language`` (ko or en), ``errors`` (the 4xx JSON shape).
"""

from __future__ import annotations

from cookiegate.api.choices import safe_return_path
from cookiegate.api.errors import APIError
from cookiegate.api.language import Locale, choose_locale
from cookiegate.api.routes import ConsentAPI

__all__ = ["APIError", "ConsentAPI", "Locale", "choose_locale", "safe_return_path"]
