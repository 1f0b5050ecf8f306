"""The lifecycle drawn from ``states/``: Mermaid for the README and the console, JSON for tools."""

from __future__ import annotations

from typing import Any

from states.model import TERMINAL_STATES, Lifecycle


def mermaid(lc: Lifecycle, path: list[tuple[str, str]] | None = None) -> str:
    """A Mermaid state diagram; ``path`` (from, to) pairs are the edges a case has taken."""
    lines = ["stateDiagram-v2", f"    %% rule version {lc.version}: {lc.title}",
             f"    [*] --> {lc.states[0]}"]
    edges: dict[tuple[str, str], list[str]] = {}
    for row in lc.transitions:
        if row.dest is None:
            continue
        names = edges.setdefault((row.source, row.dest), [])
        if row.trigger not in names:
            names.append(row.trigger)
    for (source, dest), names in edges.items():
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
