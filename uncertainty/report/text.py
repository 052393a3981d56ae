"""Text from data made safe to show: bidirectional control characters as code points."""

from __future__ import annotations

import re

__all__ = ["BIDI_CONTROLS", "show_bidi"]

#: Unicode bidirectional formatting characters: embeddings, overrides, isolates and
#: marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C). Text from data or run
#: files that holds one could reorder what a reader sees around it.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")


def show_bidi(text: object) -> str:
    """``text`` with each bidirectional control character written as its code point,
    ``<U+202E>``, so that it is seen and cannot reorder the text around it."""
    return _BIDI_RE.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", str(text))
