"""Comparing a trademark holder's name with a producer's (DOMAIN.md §9).

Names are written many ways: "HTX Tương Cự Đà", "Hợp tác xã  Tương Cự Đà", "CTY TNHH …".
:func:`holder_key` reduces a name to a comparable key: Unicode NFC, case folded, spacing and
punctuation collapsed, and the usual abbreviations of legal forms spelt out.
"""

from __future__ import annotations

import re
import unicodedata

HOLDER_RELATIONS = ("owner", "licensee", "collective_member")

# Abbreviation (as a whole word, case folded) → the words it stands for.
ABBREVIATIONS = {
    "htx": "hợp tác xã",
    "thtx": "tổ hợp tác",
    "cty": "công ty",
    "ct": "công ty",
    "tnhh": "trách nhiệm hữu hạn",
    "cp": "cổ phần",
    "mtv": "một thành viên",
    "dntn": "doanh nghiệp tư nhân",
    "hkd": "hộ kinh doanh",
    "sx": "sản xuất",
    "tm": "thương mại",
    "dv": "dịch vụ",
}
_WORD = re.compile(r"\w+")


def holder_key(name: str) -> str:
    """``name`` as compared: NFC, case folded, words only, abbreviations spelt out."""
    text = unicodedata.normalize("NFC", name).casefold()
    words = [ABBREVIATIONS.get(w, w) for w in _WORD.findall(text)]
    return unicodedata.normalize("NFC", " ".join(words))
