"""Rewrite the README's generated state diagrams from ``states/`` (``make diagram``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import states
from workflow.diagram import mermaid

README = Path(__file__).resolve().parent.parent / "README.md"


def block(version: str) -> str:
    return (f"<!-- diagram:{version} -->\n```mermaid\n{mermaid(states.lifecycle(version))}```\n"
            f"<!-- /diagram:{version} -->")


def render(text: str) -> str:
    for version in states.RULE_VERSIONS:
        text = re.sub(rf"<!-- diagram:{version} -->.*?<!-- /diagram:{version} -->",
                      lambda _m, v=version: block(v), text, flags=re.S)
    return text


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
