"""Build cookiegate.min.js / cookiegate.min.css from the sources and report the gzipped size.

    python static/consent-banner/build.py            # write the .min files, print sizes
    python static/consent-banner/build.py --check    # exit 1 when a .min file is stale or over budget

No dependencies on purpose: the minifier is conservative (comments and layout only, never renames),
so the shipped code is the source a reviewer read. It understands strings, template literals and
regular-expression literals well enough for this code base; keep the source in that style.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET = 8 * 1024  # bytes, JS + CSS gzipped (issue 3)
_WORD = re.compile(r"[A-Za-z0-9_$\\]")
# After one of these a "/" starts a regular expression, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {""}


def minify_js(source: str) -> str:
    """Drop comments (but keep ``/*! ... */``), indentation, blank lines and spaces around punctuation.

    Line breaks stay, so automatic semicolon insertion behaves exactly as in the source.
    """
    out: list[str] = []
    i, n = 0, len(source)
    pending_space = False

    def last_significant() -> str:
        for chunk in reversed(out):
            stripped = chunk.rstrip(" ")
            if stripped:
                return stripped[-1]
        return ""

    def emit(token: str) -> None:
        nonlocal pending_space
        if pending_space and out:
            prev = out[-1][-1:]
            if (_WORD.match(prev) and _WORD.match(token[0])) or (prev in "+-" and token[0] == prev):
                out.append(" ")
        pending_space = False
        out.append(token)

    while i < n:
        ch = source[i]
        if ch == "/" and source.startswith("/*", i):
            end = source.index("*/", i + 2) + 2
            if source.startswith("/*!", i):
                emit(source[i:end] + "\n")
            i = end
            pending_space = True
        elif ch == "/" and source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i == -1 else i
        elif ch in "'\"`":
            j = _string_end(source, i)
            emit(source[i:j])
            i = j
        elif ch == "/" and last_significant() in _REGEX_AFTER:
            j = _regex_end(source, i)
            emit(source[i:j])
            i = j
        elif ch == "\n":
            if out and out[-1] != "\n":
                out.append("\n")
            pending_space = False
            i += 1
        elif ch in " \t\r":
            pending_space = True
            i += 1
        else:
            j = _word_end(source, i) if _WORD.match(ch) else i + 1
            emit(source[i:j])
            i = j
    return "".join(out).strip() + "\n"


def _string_end(source: str, start: int) -> int:
    """Just past the string or template literal opening at ``start`` (escapes skipped)."""
    quote, j = source[start], start + 1
    while source[j] != quote:
        j += 2 if source[j] == "\\" else 1
    return j + 1


def _regex_end(source: str, start: int) -> int:
    """Just past the regular-expression literal (and its flags) opening at ``start``."""
    j, in_class = start + 1, False
    while in_class or source[j] != "/":
        if source[j] == "\\":
            j += 1
        elif source[j] == "[":
            in_class = True
        elif source[j] == "]":
            in_class = False
        j += 1
    j += 1
    while j < len(source) and source[j].isalpha():
        j += 1
    return j


def _word_end(source: str, start: int) -> int:
    """Just past the identifier, keyword or number starting at ``start``."""
    j = start + 1
    while j < len(source) and _WORD.match(source[j]):
        j += 1
    return j


def minify_css(source: str) -> str:
    """Drop comments (but keep ``/*! ... */``) and layout; a space before ":" stays (it is a combinator)."""
    keep = re.findall(r"/\*!.*?\*/", source, flags=re.S)
    body = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    body = re.sub(r"\s+", " ", body)
    body = re.sub(r"\s*([{};,>])\s*", r"\1", body)
    body = re.sub(r":\s+", ":", body)
    body = body.replace(";}", "}")
    return "".join(k + "\n" for k in keep) + body.strip() + "\n"


def gzipped(data: bytes) -> int:
    """Bytes after gzip at level 6, what web servers use by default (mtime fixed so it is reproducible)."""
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def build() -> dict[str, str]:
    """The minified outputs, keyed by file name."""
    return {
        "cookiegate.min.js": minify_js((HERE / "cookiegate.js").read_text(encoding="utf-8")),
        "cookiegate.min.css": minify_css((HERE / "cookiegate.css").read_text(encoding="utf-8")),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    outputs = build()
    stale = [
        name
        for name, text in outputs.items()
        if not (HERE / name).is_file() or (HERE / name).read_text(encoding="utf-8") != text
    ]
    if not check:
        for name, text in outputs.items():
            (HERE / name).write_text(text, encoding="utf-8")
        stale = []
    total = 0
    for name, text in outputs.items():
        size = gzipped(text.encode())
        total += size
        print(f"{name:20} {len(text.encode()):6} bytes  {size:5} gzipped")
    print(f"{'total':20} {'':6}        {total:5} gzipped (budget {BUDGET})")
    if stale:
        print("stale: " + ", ".join(stale) + " (run python static/consent-banner/build.py)")
    return 1 if stale or total > BUDGET else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
