"""Draw a Mermaid state diagram (as ``workflow.diagram.mermaid`` writes it) as a plain SVG,
server-side: there is no Mermaid runtime in the browser. States are laid out top to bottom by
their distance from the first state; final states share the last row."""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from html import escape

EDGE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*(?::\s*(.*))?$")
CLASS = re.compile(r"^\s*class\s+(\w+)\s+taken\s*$")
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 172, 34, 26, 46, 20


@dataclass
class Chart:
    start: str | None = None
    nodes: list[str] = field(default_factory=list)
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    final: set[str] = field(default_factory=set)
    taken: set[str] = field(default_factory=set)


def parse(text: str) -> Chart:
    chart = Chart()
    for line in text.splitlines():
        if m := CLASS.match(line):
            chart.taken.add(m.group(1))
        elif m := EDGE.match(line):
            source, dest, label = m.group(1), m.group(2), m.group(3) or ""
            if source == "[*]":
                chart.start = dest
            elif dest == "[*]":
                chart.final.add(source)
            else:
                chart.edges[(source, dest)] = label
            for name in (source, dest):
                if name != "[*]" and name not in chart.nodes:
                    chart.nodes.append(name)
    return chart


def ranks(chart: Chart) -> dict[str, int]:
    """Shortest distance from the start state; final states go on one row after the rest."""
    rank = {chart.start: 0} if chart.start else {}
    queue = deque(rank)
    while queue:
        node = queue.popleft()
        for source, dest in chart.edges:
            if source == node and dest not in rank:
                rank[dest] = rank[node] + 1
                queue.append(dest)
    inner = [n for n in chart.nodes if n not in chart.final]
    last = max((rank.get(n, 0) for n in inner), default=0) + 1
    return {n: last if n in chart.final else rank.get(n, last - 1) for n in chart.nodes}


def positions(chart: Chart) -> dict[str, tuple[float, float]]:
    by_rank: dict[int, list[str]] = {}
    for node, r in ranks(chart).items():
        by_rank.setdefault(r, []).append(node)
    widest = max((len(row) for row in by_rank.values()), default=1)
    width = widest * (BOX_W + GAP_X)
    out = {}
    for r, row in by_rank.items():
        offset = (width - len(row) * (BOX_W + GAP_X)) / 2
        for i, node in enumerate(row):
            out[node] = (PAD + offset + i * (BOX_W + GAP_X) + BOX_W / 2,
                         PAD + r * (BOX_H + GAP_Y) + BOX_H / 2)
    return out


def border_point(cx: float, cy: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from a box's centre towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min((BOX_W / 2) / abs(dx) if dx else math.inf, (BOX_H / 2) / abs(dy) if dy else
                math.inf)
    return cx + dx * scale, cy + dy * scale


def edge_svg(a: tuple[float, float], b: tuple[float, float], label: str, on_path: bool) -> str:
    x1, y1 = border_point(*a, *b)
    x2, y2 = border_point(*b, *a)
    bend = 0.0 if b[1] > a[1] else 40.0  # backward or sideways edges curve away
    mx, my = (x1 + x2) / 2 + bend, (y1 + y2) / 2
    cls = "edge taken" if on_path else "edge"
    text = (f'<text x="{mx:.0f}" y="{my - 3:.0f}" class="edge-label">{escape(label)}</text>'
            if on_path else "")
    return (f'<g class="{cls}"><title>{escape(label)}</title>'
            f'<path d="M{x1:.1f},{y1:.1f} Q{mx:.1f},{my:.1f} {x2:.1f},{y2:.1f}" '
            f'marker-end="url(#{"arrow-taken" if on_path else "arrow"})"/>{text}</g>')


def node_svg(name: str, x: float, y: float, chart: Chart, current: str | None,
             labels: dict[str, str]) -> str:
    classes = ["state"]
    if name in chart.taken:
        classes.append("taken")
    if name == current:
        classes.append("current")
    if name in chart.final:
        classes.append("final")
    return (f'<g class="{" ".join(classes)}" data-state="{escape(name)}">'
            f'<rect x="{x - BOX_W / 2:.0f}" y="{y - BOX_H / 2:.0f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="8"/><text x="{x:.0f}" y="{y + 4:.0f}">'
            f"{escape(labels.get(name, name))}</text></g>")


def svg(text: str, path: list[tuple[str, str]] | None = None, current: str | None = None,
        labels: dict[str, str] | None = None) -> str:
    """The diagram as an inline ``<svg>``; ``path`` edges and taken states are highlighted."""
    chart = parse(text)
    at = positions(chart)
    walked = set(path or ())
    width = max((x for x, _ in at.values()), default=0) + BOX_W / 2 + PAD + 40
    height = max((y for _, y in at.values()), default=0) + BOX_H / 2 + PAD
    arrows = "".join(
        f'<marker id="{i}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" '
        f'markerWidth="9" markerHeight="9" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" '
        f'class="{i}"/></marker>' for i in ("arrow", "arrow-taken"))
    edges = sorted(chart.edges.items(), key=lambda item: item[0] in walked)
    body = "".join(edge_svg(at[s], at[d], label, (s, d) in walked) for (s, d), label in edges)
    nodes = "".join(node_svg(n, *at[n], chart, current, labels or {}) for n in chart.nodes)
    return (f'<svg class="lifecycle" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">'
            f"<defs>{arrows}</defs>{body}{nodes}</svg>")
