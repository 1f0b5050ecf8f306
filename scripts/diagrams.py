"""Lay out each rule version's lifecycle with Graphviz ``dot`` and commit the drawings
(``make diagram``, after changing ``states/`` or the catalogue's state and trigger words).

For every rule version and language it writes ``workflow/diagrams/<version>.<lang>.dot`` (the
graph built by ``workflow.diagram.dot_source``) and ``.svg`` (its layout), refuses a layout in
which two labels overlap, and rewrites the README's diagrams. Needs Debian's ``graphviz``; the
console and the README only read the committed files.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import states
from workflow.diagram import DIAGRAMS, dot_source, titles
from workflow.i18n import LANGS

COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
TITLED = re.compile(r'(<g id="([^"]+)" class="[^"]*"[^>]*>\n<title>)([^<]*)(</title>)')


class Box(NamedTuple):
    """A label's box in points: what it says and its left, bottom, right, top."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def meets(self, other: Box) -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)


def dot(source: str, fmt: str) -> str:
    """``dot -T<fmt>`` of a graph; a missing Graphviz is a clear error."""
    if shutil.which("dot") is None:
        raise SystemExit("Graphviz is not installed: apt-get install graphviz")
    done = subprocess.run(["dot", f"-T{fmt}"], input=source, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"dot failed: {done.stderr.strip()}")
    return done.stdout


def tidy(svg: str, names: dict[str, str]) -> str:
    """dot's SVG without its comments (they name the Graphviz version), ids unescaped, and
    each element's tooltip in words rather than codes."""
    svg = COMMENT.sub("", svg).replace("&#45;", "-")

    def title(match: re.Match[str]) -> str:
        words = names.get(match.group(2))
        if words is None:
            return match.group(0)
        escaped = words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"{match.group(1)}{escaped}{match.group(4)}"

    return TITLED.sub(title, svg)


def render(version: str, lang: str) -> tuple[str, str]:
    """The DOT source and the tidied SVG of one rule version in one language."""
    lc = states.lifecycle(version)
    source = dot_source(lc, lang)
    return source, tidy(dot(source, "svg"), titles(lc, lang))


def label_boxes(layout: dict[str, Any]) -> tuple[list[Box], list[Box]]:
    """From ``dot -Tjson``: every line of text as a box, and every node's box."""
    texts, nodes = [], []
    for item in [*layout.get("objects", []), *layout.get("edges", [])]:
        size = 14.0
        for op in item.get("_ldraw_", []):
            if op["op"] == "F":
                size = float(op["size"])
            elif op["op"] == "T":
                (x, y), width = op["pt"], float(op["width"])
                left = {"l": x, "r": x - width}.get(op["align"], x - width / 2)
                texts.append(Box(op["text"], left, y - 0.25 * size, left + width, y + 0.8 * size))
        if "pos" in item and "width" in item:
            cx, cy = (float(v) for v in item["pos"].split(","))
            w, h = float(item["width"]) * 36, float(item["height"]) * 36
            nodes.append(Box(item.get("name", ""), cx - w, cy - h, cx + w, cy + h))
    return texts, nodes


def overlaps(layout: dict[str, Any]) -> list[tuple[str, str]]:
    """Pairs of labels that overlap, and edge labels that sit on a state's box."""
    texts, nodes = label_boxes(layout)
    clashes = [(a.text, b.text) for i, a in enumerate(texts) for b in texts[i + 1:] if a.meets(b)]
    inside = {t for t in texts for n in nodes
              if n.x0 <= t.x0 and t.x1 <= n.x1 and n.y0 <= t.y0 and t.y1 <= n.y1}
    clashes += [(t.text, n.text) for t in texts if t not in inside for n in nodes if t.meets(n)]
    return clashes


def check(source: str) -> None:
    clashes = overlaps(json.loads(dot(source, "json")))
    if clashes:
        raise SystemExit(f"labels overlap: {clashes}")


def main() -> None:
    from scripts import readme_diagrams

    DIAGRAMS.mkdir(exist_ok=True)
    for version in states.RULE_VERSIONS:
        for lang in LANGS:
            source, svg = render(version, lang)
            check(source)
            (DIAGRAMS / f"{version}.{lang}.dot").write_text(source, encoding="utf-8")
            (DIAGRAMS / f"{version}.{lang}.svg").write_text(svg, encoding="utf-8")
    readme_diagrams.main()


if __name__ == "__main__":
    main()
