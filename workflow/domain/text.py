"""Names people type (producers, products, users): NFC, trimmed, and refused when they carry
control characters or bidirectional overrides, or nothing visible at all — such names reorder
or hide text on every screen that shows them, and split one name into look-alikes."""

from __future__ import annotations

import re
import unicodedata

from workflow.errors import InvalidInput

BIDI_CONTROLS = ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")
_SPACE = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """The comparison form of a name: NFC, format characters (zero-width, bidi) dropped, every
    run of spaces (no-break included) one space, case folded."""
    if not text:
        return ""
    composed = unicodedata.normalize("NFC", text)
    kept = "".join(ch for ch in composed if unicodedata.category(ch) not in ("Cf", "Cc")
                   or ch in "\t\n\r")
    return _SPACE.sub(" ", kept).strip().casefold()


def clean(value: str | None, field: str) -> str:
    """``value`` composed (NFC) and trimmed; ``""`` for nothing given. ``field`` names the
    input in the refusal (a ``ui`` catalogue code such as ``name`` or ``product``)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", value).strip()
    for ch in text:
        if unicodedata.category(ch) == "Cc" or unicodedata.bidirectional(ch) in BIDI_CONTROLS:
            raise InvalidInput("text_has_control", form_field=field, got=text,
                               char=f"U+{ord(ch):04X}")
    if text and not fold(text):
        raise InvalidInput("text_invisible", form_field=field, got=text)
    return text
