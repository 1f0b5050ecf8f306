"""The lifecycle drawings: laid out by Graphviz once per rule version and language, committed,
and marked with a case's path at request time."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

import states
from scripts import diagrams
from tests.api_support import client, in_district_review
from tests.support import World
from tests.unit.console_support import post_sign_in
from workflow import diagram
from workflow.i18n import LANGS, label

SVG = "{http://www.w3.org/2000/svg}"
EVERY = [(version, lang) for version in states.RULE_VERSIONS for lang in LANGS]


def need_dot() -> None:
    """Skip without Graphviz on a workstation; in CI (which installs it) its absence fails."""
    if shutil.which("dot"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Graphviz `dot` is missing in CI: .ci/run must install graphviz")
    pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")


def groups(svg: str) -> dict[str, set[str]]:
    """Element id -> its classes, for every node and edge of an SVG drawing."""
    root = ET.fromstring(svg)
    return {g.get("id", ""): set(g.get("class", "").split()) for g in root.iter(f"{SVG}g")
            if {"node", "edge"} & set(g.get("class", "").split())}


@pytest.mark.parametrize(("version", "lang"), EVERY)
def test_the_committed_dot_source_is_the_one_built_from_states_and_the_catalogue(
        version: str, lang: str) -> None:
    """workflow/diagrams/<version>.<lang>.dot equals what states/ and the catalogue give now
    (run `make diagram` after changing either); no Graphviz needed for this check."""
    committed = (diagram.DIAGRAMS / f"{version}.{lang}.dot").read_text(encoding="utf-8")
    assert committed == diagram.dot_source(states.lifecycle(version), lang), (
        f"{version}.{lang}.dot is stale: run `make diagram`")


@pytest.mark.parametrize(("version", "lang"), EVERY)
def test_the_committed_svg_is_dots_layout_of_the_committed_source(version: str,
                                                                  lang: str) -> None:
    """Laying the graph out again gives the committed SVG byte for byte."""
    need_dot()
    _, svg = diagrams.render(version, lang)
    committed = (diagram.DIAGRAMS / f"{version}.{lang}.svg").read_text(encoding="utf-8")
    assert svg == committed, (f"{version}.{lang}.svg is stale: run `make diagram` (dot measures "
                              "Arial as Liberation Sans: install fonts-liberation2 with graphviz)")


@pytest.mark.parametrize(("version", "lang"), EVERY)
def test_no_two_labels_of_a_drawing_overlap(version: str, lang: str) -> None:
    """In dot's layout no label's box meets another's, and no edge label sits on a state."""
    need_dot()
    source = diagram.dot_source(states.lifecycle(version), lang)
    layout = json.loads(diagrams.dot(source, "json"))
    texts, _ = diagrams.label_boxes(layout)
    assert len(texts) >= len(states.lifecycle(version).states)
    assert diagrams.overlaps(layout) == []


def test_the_overlap_check_sees_two_labels_on_top_of_each_other() -> None:
    """Two edge labels drawn at nearly the same place, and one on a state's box, are caught."""
    def text(words: str, x: float, y: float) -> dict[str, object]:
        return {"_ldraw_": [{"op": "F", "size": 10.0, "face": "Arial"},
                            {"op": "T", "pt": [x, y], "align": "c", "width": 60.0,
                             "text": words}]}
    state = {"name": "draft", "pos": "300,100", "width": "1", "height": "0.5",
             **text("Bản nháp", 300, 96)}
    layout = {"objects": [state], "edges": [text("Nộp hồ sơ", 100, 50),
                                            text("Rút hồ sơ", 130, 54),
                                            text("Rút hồ sơ", 290, 110),
                                            text("Bắt đầu", 100, 200)]}
    assert diagrams.overlaps(layout) == [("Nộp hồ sơ", "Rút hồ sơ"), ("Rút hồ sơ", "draft")]


@pytest.mark.parametrize(("version", "lang"), EVERY)
def test_every_state_and_move_is_drawn_once_with_its_words(version: str, lang: str) -> None:
    """One node per state and one edge per pair of states, each labelled in the language."""
    lc = states.lifecycle(version)
    svg = diagram.committed_svg(version, lang)
    ids = groups(svg)
    assert {i for i in ids if i.startswith("s-")} == {f"s-{s}" for s in lc.states} | {"s-start"}
    assert {i for i in ids if i.startswith("e-")} == (
        {f"e-{a}-{b}" for a, b in diagram.edges(lc)} | {f"e-start-{lc.states[0]}"})
    assert all(f">{label('state', s, lang)}<" in svg for s in lc.states)
    assert all("terminal" in ids[f"s-{s}"] for s in lc.states if s in states.TERMINAL_STATES)


def test_an_edge_several_triggers_take_lists_them_all_in_one_label() -> None:
    """1489's trademark check moves to the city by a certificate or by recording there is none."""
    root = ET.fromstring(diagram.committed_svg("1489", "vi"))
    edge = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "e-ip_check-city_rating")
    lines = [t.text for t in edge.iter(f"{SVG}text")]
    assert lines == ["Xác nhận giấy chứng nhận nhãn hiệu", "Ghi nhận chưa có nhãn hiệu"]


def test_a_cases_path_and_current_state_are_marked_and_nothing_else() -> None:
    """Exactly the edges the case took are `taken`, the states on them too, and only the
    current state is `current`; the layout is the committed one."""
    path = [("draft", "registered"), ("registered", "commune_prescore"),
            ("commune_prescore", "needs_completion"), ("needs_completion", "commune_prescore"),
            ("commune_prescore", "ip_check")]
    svg = diagram.case_svg("1489", "en", path, "ip_check")
    ids = groups(svg)
    assert {i for i, c in ids.items() if "taken" in c and i.startswith("e-")} == {
        "e-draft-registered", "e-registered-commune_prescore",
        "e-commune_prescore-needs_completion", "e-needs_completion-commune_prescore",
        "e-commune_prescore-ip_check"}
    assert {i for i, c in ids.items() if "taken" in c and i.startswith("s-")} == {
        "s-draft", "s-registered", "s-commune_prescore", "s-needs_completion", "s-ip_check"}
    assert [i for i, c in ids.items() if "current" in c] == ["s-ip_check"]
    assert svg.startswith('<svg class="lifecycle" data-layout="dot"') and "<?xml" not in svg
    assert "g.node.current path" in svg
    assert ">Trademark check<" in svg


def test_a_new_case_has_only_its_current_state_marked_and_odd_input_breaks_nothing() -> None:
    """A draft has no path; a pair that is no edge marks no edge, an unknown state is not
    marked current, and an unknown language gets the Vietnamese drawing."""
    fresh = groups(diagram.case_svg("148", "vi", [], "draft"))
    assert [i for i, c in fresh.items() if {"taken", "current"} & c] == ["s-draft"]
    odd = groups(diagram.case_svg("148", "xx", [("draft", "certified")], "nowhere"))
    assert [i for i, c in odd.items() if "current" in c] == []
    assert {i for i, c in odd.items() if "taken" in c} == {"s-draft", "s-certified"}
    assert "e-draft-certified" not in odd
    assert diagram.case_svg("148", "xx", [], None) == diagram.case_svg("148", "vi", [], None)


def test_the_console_case_page_shows_the_committed_drawing_with_the_cases_path(
        world: World) -> None:
    """A 148 case in district review: the page (here the district's successor's, the commune
    officer's) inlines the English drawing with its two steps marked and district review as
    the current state."""
    code = in_district_review(world)
    with client(world.app) as api:
        signed = post_sign_in(api, "commune1", world.tokens["commune1"])
        assert signed.status_code == 303
        page = api.get(f"/console/cases/{code}?lang=en").text
    svg = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    ids = groups(svg)
    assert {i for i, c in ids.items() if "taken" in c and i.startswith("e-")} == {
        "e-draft-registered", "e-registered-district_review"}
    assert [i for i, c in ids.items() if "current" in c] == ["s-district_review"]
    assert ">District review<" in svg
