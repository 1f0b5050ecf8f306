"""Every error the code base can raise has a stable code with a sentence in both catalogues,
and the parameters given where it is raised fill every placeholder of that sentence.

The source is read, not run: each construction of an error class (``InvalidInput("code",
…)``), each ``clause("code", …)`` and each action code handed to ``require_role`` or
``check_producer_scope`` is found with :mod:`ast`, so an error added without its catalogue
entries, or raised with a sentence instead of a code, fails here."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import workflow.cli  # noqa: F401  (defines the CLI's own error classes)
from workflow import errors, i18n
from workflow.web.api import problems, validation

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "workflow").rglob("*.py"), *(ROOT / "tasks").rglob("*.py"),
                  ROOT / "worker.py"])
PLACEHOLDER = re.compile(r"(?<!{){(\w+)}(?!})")
# helpers whose last positional argument is an action clause code
ACTION_TAKERS = {"require_role", "check_producer_scope"}
# (file, function) where an error is built from a code held in a variable, and the codes
# that variable can hold
DYNAMIC = {
    ("registry.py", "_choice"): None,  # the codes are the third argument of ``_choice`` calls
    ("validation.py", "from_pydantic"): {*validation.CODES.values(), validation.FALLBACK},
    ("problems.py", "_http_error"): {c for c, _ in [*problems.HTTP_CODES.values(),
                                                    problems.HTTP_OTHER]},
}
# catalogue entries used by name rather than raised
NAMED = {"cli_error", "no_value", "title_error", *(f"title_{s}" for s in problems.TITLES)}


def error_classes() -> set[str]:
    found, todo = set(), [errors.OcopError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


@dataclass(frozen=True)
class Use:
    code: str
    params: frozenset[str] | None  # None: given with ``**`` (names not known statically)
    where: str


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else (
        func.attr if isinstance(func, ast.Attribute) else "")


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _params(call: ast.Call) -> frozenset[str] | None:
    if any(k.arg is None for k in call.keywords):
        return None
    return frozenset(str(k.arg) for k in call.keywords)


def calls(tree: ast.AST, function: str = "<module>") -> list[tuple[str, ast.Call]]:
    """Every call with the name of the innermost function it is in."""
    found = []
    for node in ast.iter_child_nodes(tree):
        inner = node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
            else function
        if isinstance(node, ast.Call):
            found.append((function, node))
        found.extend(calls(node, inner))
    return found


def scan() -> tuple[list[Use], list[str]]:
    """Every code used in the source, and every error built from something else."""
    classes, uses, bad = error_classes(), [], []
    for path in SOURCES:
        for fname, call in calls(ast.parse(path.read_text(encoding="utf-8"))):
            name, where = _name(call.func), f"{path.name}:{call.lineno}"
            if name in ACTION_TAKERS and call.args and _literal(call.args[-1]):
                uses.append(Use(str(_literal(call.args[-1])), frozenset(), where))
            if name == "_choice" and len(call.args) >= 3 and _literal(call.args[2]):
                uses.append(Use(str(_literal(call.args[2])), None, where))
            if name not in classes and name != "clause":
                continue
            code = _literal(call.args[0]) if call.args else None
            if code is not None:
                uses.append(Use(code, _params(call), where))
            elif (path.name, fname) not in DYNAMIC and name != "clause":
                bad.append(f"{where} {name}(…) has no literal code")
    return sorted(set(uses), key=lambda u: (u.where, u.code)), bad


USES, UNCONVERTED = scan()
DYNAMIC_CODES = {c for codes in DYNAMIC.values() if codes for c in codes}


def test_every_error_in_the_source_is_raised_with_a_code() -> None:
    """No error class is built from an English sentence any more: the first argument is a
    literal code (or, in the few helpers listed here, a code from a known set)."""
    assert UNCONVERTED == []
    assert len({u.code for u in USES}) > 80  # the scan does find the raise sites


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_code_raised_has_a_sentence_in_each_language(lang: str) -> None:
    """Each code the source raises, and each code a helper maps to, is in ``{lang}.po``."""
    wanted = {u.code for u in USES} | DYNAMIC_CODES | NAMED
    missing = sorted(c for c in wanted if not i18n.has("error", c, lang))
    assert missing == []


def test_every_error_sentence_of_the_catalogue_is_used() -> None:
    """No dead sentences: each ``error`` entry is raised somewhere or used by name."""
    used = {u.code for u in USES} | DYNAMIC_CODES | NAMED
    assert sorted(set(i18n.codes("error", "en")) - used) == []


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("use", [u for u in USES if u.params is not None],
                         ids=lambda u: f"{u.code}@{u.where}")
def test_the_parameters_given_fill_every_placeholder(use: Use, lang: str) -> None:
    """Rendered with the parameters its raise site gives, the sentence has no ``{name}`` left:
    each placeholder of the catalogue's sentence is one of those parameters."""
    assert use.params is not None
    template = i18n.label("error", use.code, lang)
    assert set(PLACEHOLDER.findall(template)) <= use.params, template
    sample = {name: "x" for name in use.params}
    rendered = errors.render(use.code, sample, lang)
    assert not PLACEHOLDER.search(rendered), rendered


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_a_sentence_is_one_line_ending_in_a_full_stop(lang: str) -> None:
    """Whole sentences end with a full stop; clauses (``hint_…``, ``scope_…``, ``do_…``) do not,
    since they sit inside another sentence; titles and the ``no_value`` words neither."""
    for code in i18n.codes("error", lang):
        words = i18n.label("error", code, lang)
        inner = code.startswith(("hint_", "scope_", "do_", "break_", "title_")) or code in NAMED
        assert "\n" not in words
        assert words.endswith(".") != inner or code == "cli_error", (code, words)


def test_codes_in_the_sentence_are_shown_as_labels_of_the_readers_language() -> None:
    """States, triggers and roles show as quoted labels; typed choices as ``code (label)``;
    raw input as JSON; a parameter with no label shows as given."""
    error = errors.Forbidden("role_may_not", role="producer", trigger="start_review",
                             case="HN-1", state="registered", roles=["district_officer"])
    assert error.text("vi") == ("Vai trò “Chủ thể sản xuất” không được thực hiện thao tác "
                                "“Bắt đầu đánh giá” đối với hồ sơ HN-1 ở trạng thái “Đã đăng "
                                "ký”; thao tác này dành cho “Cán bộ huyện”.")
    assert error.message == error.text("en") == str(error)
    assert error.message.startswith("Role “Producer” may not take the action “Start the review”")
    choice = errors.InvalidInput("unknown_role", got="boss", role_choices=["admin"])
    assert choice.text("vi") == ('Vai trò "boss" không hợp lệ; chỉ chấp nhận: '
                                 "admin (Quản trị hệ thống).")


def test_parameters_are_kept_as_json_can_carry_them() -> None:
    """Dates become ISO strings and tuples lists, so the problem document can hold them."""
    from datetime import date
    error = errors.GuardFailed("certificate_still_valid", number="N1", case="HN-1",
                               valid_to=date(2028, 8, 31))
    assert error.params["valid_to"] == "2028-08-31"
    assert "2028-08-31" in error.text("vi")
    assert errors.InvalidInput("unknown_role", got=None, role_choices=("a",)).params == {
        "got": None, "role_choices": ["a"]}


def test_an_error_without_an_entry_shows_its_code_and_does_not_fail() -> None:
    """A code with no catalogue entry (a test's made-up one) renders as itself."""
    assert errors.OcopError("made_up").text("vi") == "made_up"
