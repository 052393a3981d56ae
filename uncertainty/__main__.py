"""``python -m uncertainty``: the command line."""

from uncertainty.cli import main

raise SystemExit(main())
