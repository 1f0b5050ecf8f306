"""Point the README's state diagrams at the committed drawings (run by ``scripts/diagrams.py``,
``make diagram``): the README shows the same ``dot`` layouts as the console, in English."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import states
from workflow.i18n import label

README = Path(__file__).resolve().parent.parent / "README.md"


def block(version: str) -> str:
    """The README's lines for one rule version's diagram, between its markers."""
    title = label("rules", version, "en")
    return (f"<!-- diagram:{version} -->\n"
            f"![The lifecycle under {title}](workflow/diagrams/{version}.en.svg)\n"
            f"<!-- /diagram:{version} -->")


def render(text: str) -> str:
    for version in states.RULE_VERSIONS:
        text = re.sub(rf"<!-- diagram:{version} -->.*?<!-- /diagram:{version} -->",
                      block(version).replace("\\", "\\\\"), text, flags=re.S)
    return text


def main() -> None:
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
