"""``python -m sdk``: the ``gallery`` command (for environments without its script on PATH)."""

from sdk.cli import main

raise SystemExit(main())
