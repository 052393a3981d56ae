"""Where the tests find the open mine database of Jasansky et al. (2023), if anywhere.

``UNCERTAINTY_JASANSKY_DIR`` names its CSV folder; without it, a ``shared/data/
jasansky2023`` folder beside the repository is used when present. Tests that need the
data skip with :data:`MISSING` otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Jasansky, Lieber, Giljum and Maus (2023), Scientific Data 10, 52.
DOI = "10.1038/s41597-023-01965-y"

MISSING = (f"open mine data of Jasansky et al. (2023) not found: set UNCERTAINTY_JASANSKY_DIR "
           f"to its CSV folder (doi:{DOI})")


def jasansky_dir() -> Path | None:
    """The folder holding ``facilities.csv``, or None."""
    env = os.environ.get("UNCERTAINTY_JASANSKY_DIR")
    d = Path(env) if env else REPO.parent / "shared" / "data" / "jasansky2023"
    return d if (d / "facilities.csv").is_file() else None
