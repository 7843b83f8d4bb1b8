"""``cookiegate scan URL``: find every cookie a site sets, in a real browser, and draft its policy.

``crawler`` drives Chromium through Playwright and records what each page set (by the server in
Set-Cookie, by scripts through ``document.cookie`` or the jar); ``findings`` classifies that with the
policy and writes the draft ``cookiegate.toml`` and the report; ``command`` is the CLI.
"""
