"""``python -m cookiegate …`` is the ``cookiegate`` command (the gate starts its ingest process this way)."""

from __future__ import annotations

import sys

from cookiegate.cli import main

sys.exit(main())
