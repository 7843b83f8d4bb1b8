"""Where the banner's files live: in the source tree, or inside the wheel (hatch ``force-include``)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Final

_PACKAGE_DIR: Final = Path(__file__).resolve().parent
#: Only plain file names the banner ships: no separators, no dot-files, so no path can escape the folder.
SAFE_ASSET_NAME: Final = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*\.(?:js|css|map|svg)$")


@lru_cache(maxsize=1)
def banner_dir() -> Path:
    """The folder holding ``cookiegate.js``: the wheel's copy first, else the repository's."""
    for candidate in (
        _PACKAGE_DIR / "_static" / "consent-banner",
        _PACKAGE_DIR.parent / "static" / "consent-banner",
    ):
        if candidate.is_dir():
            return candidate
    return _PACKAGE_DIR.parent / "static" / "consent-banner"


def banner_asset_names() -> tuple[str, str]:
    """The script and stylesheet to inject: minified builds when shipped, else the sources."""
    folder = banner_dir()
    script = next((n for n in ("cookiegate.min.js", "cookiegate.js") if (folder / n).is_file()), "")
    style = next((n for n in ("cookiegate.min.css", "cookiegate.css") if (folder / n).is_file()), "")
    return script, style


@lru_cache(maxsize=1)
def _shipped_assets() -> dict[str, Path]:
    """The banner's files, listed once: a request can only ever name one of these."""
    folder = banner_dir()
    if not folder.is_dir():
        return {}
    return {p.name: p for p in folder.iterdir() if p.is_file() and SAFE_ASSET_NAME.match(p.name)}


def banner_asset(name: str) -> Path | None:
    """The file behind ``/_cookiegate/static/<name>``, or None when the name is not a shipped asset."""
    return _shipped_assets().get(name)
