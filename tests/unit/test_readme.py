"""The README stays true to the code."""

import re
from pathlib import Path

import states
from scripts.readme_diagrams import block

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_each_rule_versions_committed_drawing() -> None:
    """Between its markers, each rule version's diagram in the README is the committed English
    dot layout (tests/unit/test_diagram.py checks that layout against states/; run
    `make diagram` after changing states/)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for version in states.RULE_VERSIONS:
        assert block(version) in readme, f"README diagram for {version} is stale"
        image = re.search(rf"<!-- diagram:{version} -->\n!\[[^]]+\]\(([^)]+)\)", readme)
        assert image and image.group(1) == f"workflow/diagrams/{version}.en.svg"
        assert (ROOT / image.group(1)).read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert "```mermaid" not in readme


def test_the_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    """`make run` and `make test` are in the README; `.ci/run` calls `make test`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make run$", readme, re.M) and re.search(r"^make test$", readme, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
