"""The lifecycle drawn from ``states/``.

* :func:`dot_source` — a Graphviz graph of one rule version, labelled in one language.
  ``scripts/diagrams.py`` (``make diagram``) lays it out with ``dot`` and commits the result as
  ``workflow/diagrams/<version>.<lang>.dot`` and ``.svg``; a test fails when they are stale.
* :func:`case_svg` — the committed drawing with a case's path and current state marked, for the
  console. Nothing is laid out at request time, so running the console needs no Graphviz.
* :func:`mermaid` and :func:`as_json` — text formats for ``ocop lifecycle show`` and the API.

Every node of the drawing has the id ``s-<state>`` and every edge ``e-<source>-<dest>`` (one
edge per pair of states, its label listing the triggers), so a case's path is marked by adding
classes to those elements.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    NEEDS_COMPLETION,
    REEVALUATION,
    TERMINAL_STATES,
    WITHDRAWN,
    Lifecycle,
)
from workflow.i18n import label, pick

DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
START = "start"  # the id suffix of the black dot the first state hangs from
FONT = "Arial"  # dot measures it as Liberation Sans (Debian's fonts-liberation), same metrics

GRAPH = ('  graph [rankdir=TB, nodesep=0.35, ranksep=0.45, pad=0.25, fontname="{font}", '
         'bgcolor="white", id="lifecycle-{version}"];\n'
         '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#52606d", '
         'fontname="{font}", fontsize=12, fontcolor="#1f2933", margin="0.14,0.06", '
         'height=0.36];\n'
         '  edge [fontname="{font}", fontsize=10, fontcolor="#323f4b", color="#7b8794", '
         'arrowsize=0.7];\n')
AFTER_DECISION = (CENTRAL_REVIEW, REEVALUATION)
NODE_STYLE = {
    "terminal": ', fillcolor="#fde2e1", color="#9b2c2c"',
    "goal": ', fillcolor="#d8f3dc", color="#276749"',
    "detour": "",
}


def edges(lc: Lifecycle) -> dict[tuple[str, str], list[str]]:
    """(source, dest) -> the triggers that move a case along it, in table order."""
    out: dict[tuple[str, str], list[str]] = {}
    for row in lc.transitions:
        if row.dest is None:
            continue
        names = out.setdefault((row.source, row.dest), [])
        if row.trigger not in names:
            names.append(row.trigger)
    return out


def node_kind(state: str) -> str:
    """The class a state's box carries: terminal, goal (certified), detour or step."""
    if state in TERMINAL_STATES:
        return "terminal"
    if state == CERTIFIED:
        return "goal"
    return "detour" if state == NEEDS_COMPLETION else "step"


def quoted(text: str) -> str:
    """A DOT string literal; lines of ``text`` become centred label lines."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def node_line(state: str, lang: str) -> str:
    kind = node_kind(state)
    # The way to a certificate is drawn straight down; central review and re-evaluation sit
    # beside it.
    group = ', group="main"' if kind in ("step", "goal") and state not in AFTER_DECISION else ""
    return (f'  {state} [id="s-{state}", class="{kind}", '
            f'label={quoted(label("state", state, lang))}{NODE_STYLE.get(kind, "")}{group}];')


def edge_line(source: str, dest: str, triggers: list[str], lang: str) -> str:
    """One edge; a side exit (withdrawal, asking for completion and back) is dashed, and all
    withdrawals arrive at one point of the withdrawn box."""
    words = "\n".join(label("trigger", name, lang) for name in triggers)
    extra = ""
    if dest == WITHDRAWN or NEEDS_COMPLETION in (source, dest):
        extra = ', class="detour", style=dashed, color="#9aa5b1"'
    if dest == WITHDRAWN:
        extra += ', samehead="withdrawn"'
    return f'  {source} -> {dest} [id="e-{source}-{dest}", label={quoted(words)}{extra}];'


def dot_source(lc: Lifecycle, lang: str) -> str:
    """The Graphviz graph of a rule version, states and triggers in ``lang``."""
    lang = pick(lang)
    first = lc.states[0]
    lines = [f'digraph "lifecycle_{lc.version}" {{',
             GRAPH.format(font=FONT, version=lc.version).rstrip("\n"),
             f'  {START} [id="s-{START}", class="start", shape=circle, width=0.16, height=0.16, '
             'label="", style=filled, fillcolor="#1f2933", color="#1f2933"];']
    lines += [node_line(state, lang) for state in lc.states]
    lines.append(f'  {START} -> {first} [id="e-{START}-{first}", class="start"];')
    lines += [edge_line(s, d, names, lang) for (s, d), names in edges(lc).items()]
    return "\n".join([*lines, "}"]) + "\n"


def titles(lc: Lifecycle, lang: str) -> dict[str, str]:
    """Element id -> the tooltip the drawing shows for it (``dot`` writes node names)."""
    lang = pick(lang)
    name = {state: label("state", state, lang) for state in lc.states}
    out = {f"s-{state}": words for state, words in name.items()}
    out[f"s-{START}"] = out[f"e-{START}-{lc.states[0]}"] = name[lc.states[0]]
    for (source, dest), names in edges(lc).items():
        triggers = ", ".join(label("trigger", n, lang) for n in names)
        out[f"e-{source}-{dest}"] = f"{name[source]} → {name[dest]}: {triggers}"
    out[f"lifecycle-{lc.version}"] = label("rules", lc.version, lang)
    return out


# ---- the console's drawing of one case ----------------------------------------------------

ELEMENT = re.compile(r'<g id="([^"]+)" class="(node|edge)([^"]*)"')
PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
# Scoped to the drawing; more specific than the console's own svg.lifecycle rules.
SCOPE = 'svg.lifecycle[data-layout="dot"]'
RULES = (
    # natural size, shrunk to fit the card, scrolled rather than shrunk below legibility
    ("", "width: auto; max-width: 100%; min-width: 720px; height: auto;"),
    (" g.edge path", "stroke-width: 1.2px;"),
    (" g.edge.taken path", "stroke: #b7791f; stroke-width: 3px;"),
    (" g.edge.taken polygon", "fill: #b7791f; stroke: #b7791f;"),
    (" g.edge.taken text", "fill: #7a4f0a;"),  # not bold: dot measured regular type
    (" g.node.taken path", "fill: #ffe08a; stroke: #b7791f; stroke-width: 2px;"),
    (" g.node.current path", "fill: var(--brand, #b3261e); stroke: var(--brand, #b3261e);"),
    (" g.node.current text", "fill: #fff; font-weight: 700;"),
)
STYLE = "<style>\n" + "".join(f"{SCOPE}{sel} {{ {rule} }}\n" for sel, rule in RULES) + "</style>"


@lru_cache(maxsize=16)
def committed_svg(version: str, lang: str) -> str:
    """The committed drawing of a rule version, ready to inline (no XML prologue)."""
    text = (DIAGRAMS / f"{version}.{pick(lang)}.svg").read_text(encoding="utf-8")
    svg = PROLOGUE.sub("", text, count=1)
    return svg.replace("<svg ", '<svg class="lifecycle" data-layout="dot" role="img" ', 1)


def case_svg(version: str, lang: str, path_edges: list[tuple[str, str]],
             current_state: str | None) -> str:
    """The rule version's drawing with the case's edges and states marked ``taken`` and its
    current state ``current``; nothing is laid out here."""
    walked = {f"e-{a}-{b}" for a, b in path_edges}
    visited = {f"s-{state}" for pair in path_edges for state in pair if state}
    current = f"s-{current_state}" if current_state else None

    def mark(match: re.Match[str]) -> str:
        ident, kind, classes = match.groups()
        if ident in walked or ident in visited:
            classes += " taken"
        if ident == current:
            classes += " current"
        return f'<g id="{ident}" class="{kind}{classes}"'

    svg = ELEMENT.sub(mark, committed_svg(version, lang))
    return svg.replace(">", ">" + STYLE, 1)


# ---- text formats ---------------------------------------------------------------------------

def mermaid(lc: Lifecycle, path: list[tuple[str, str]] | None = None) -> str:
    """A Mermaid state diagram; ``path`` (from, to) pairs are the edges a case has taken."""
    lines = ["stateDiagram-v2", f"    %% rule version {lc.version}: {lc.title}",
             f"    [*] --> {lc.states[0]}"]
    for (source, dest), names in edges(lc).items():
        lines.append(f"    {source} --> {dest}: {', '.join(names)}")
    lines += [f"    {state} --> [*]" for state in lc.states if state in TERMINAL_STATES]
    if path:
        taken = {s for pair in path for s in pair if s}
        lines.append("    classDef taken fill:#ffe08a,stroke:#b7791f,stroke-width:2px")
        lines += [f"    class {state} taken" for state in sorted(taken)]
    return "\n".join(lines) + "\n"


def as_json(lc: Lifecycle) -> dict[str, Any]:
    return {
        "version": lc.version, "title": lc.title, "states": list(lc.states),
        "terminal": [s for s in lc.states if s in TERMINAL_STATES],
        "part_maxima": dict(zip("abc", lc.part_maxima, strict=True)),
        "transitions": [{"trigger": r.trigger, "source": r.source, "dest": r.dest,
                         "roles": sorted(r.roles), "guards": list(r.guards)}
                        for r in lc.transitions],
        "clocks": {state: {"kind": c.kind, "amount": c.amount, "working_days": c.working_days,
                           "owner": c.owner} for state, c in lc.clocks.items()},
    }
