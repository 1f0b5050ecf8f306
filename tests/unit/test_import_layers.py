"""The import graph of the code: no cycles among states, workflow, tasks and worker, and the
rules (``states/``) import nothing of the engine or of the frameworks around it.

The graph is read from the source with ``ast``, not by importing: an edge is an import that
runs when the module is loaded (module level, class bodies, ``try``/``if`` blocks), not one
inside a function and not one under ``if TYPE_CHECKING:``. Importing ``a.b.c`` also loads the
packages ``a`` and ``a.b`` (their ``__init__``), unless the importer already lives inside them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("states", "workflow", "tasks", "worker")
STATES_MUST_NOT_IMPORT = ("workflow", "tasks", "worker", "sqlalchemy", "celery", "fastapi")


def modules(root: Path, tops: tuple[str, ...]) -> dict[str, Path]:
    """Module name -> file, for the packages and top-level modules named in ``tops``."""
    found: dict[str, Path] = {}
    for top in tops:
        if (root / f"{top}.py").is_file():
            found[top] = root / f"{top}.py"
        for path in sorted((root / top).rglob("*.py")) if (root / top).is_dir() else ():
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _loaded_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when a module with this body is loaded."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _loaded_imports(node.body)
            yield from _loaded_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody,
                          *(h.body for h in node.handlers)):
                yield from _loaded_imports(block)
        elif isinstance(node, ast.ClassDef | ast.With):
            yield from _loaded_imports(node.body)


def _named(node: ast.Import | ast.ImportFrom, name: str, is_package: bool) -> list[str]:
    """The dotted names this import statement asks for (``from a import b`` may be a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = name.split(".") if is_package else name.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join([*package, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def graph(root: Path, tops: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of ``tops`` that loading it loads directly."""
    files = modules(root, tops)
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _loaded_imports(tree.body):
            for target in _named(node, name, path.name == "__init__.py"):
                parts = target.split(".")
                for n in range(1, len(parts) + 1):
                    loaded = ".".join(parts[:n])
                    own_package = name.startswith(loaded + ".")
                    if loaded in files and loaded != name and not own_package:
                        edges[name].add(loaded)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def all_imports(path: Path) -> set[str]:
    """Every module name a file imports anywhere (functions and TYPE_CHECKING included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_import_cycle_among_states_workflow_tasks_and_worker() -> None:
    """No module of the four layers loads, through its imports, a module that loads it back
    (the old ones: worker -> tasks.runtime -> relay -> worker, and api <-> console)."""
    edges = graph(ROOT, LAYERS)
    assert len(edges) > 50, "the graph should cover the whole code base"
    assert cycles(edges) == []


def test_the_cycle_finder_sees_a_cycle_through_a_package_and_ignores_lazy_imports(
        tmp_path: Path) -> None:
    """The check itself can fail: ``p.a`` imports ``q.b`` whose package ``q`` imports
    ``p.a`` back is a cycle; an import inside a function or under TYPE_CHECKING is not."""
    for name, text in {
        "p/__init__.py": "", "p/a.py": "from q.b import thing\n",
        "q/__init__.py": "from p import a\n", "q/b.py": "thing = 1\n",
        "r/__init__.py": "", "r/c.py": ("from typing import TYPE_CHECKING\n"
                                        "if TYPE_CHECKING:\n    from r import d\n"
                                        "def f():\n    from r import d\n"),
        "r/d.py": "from r import c\n",
    }.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = graph(tmp_path, ("p", "q", "r"))
    assert edges["p.a"] == {"q", "q.b"}
    assert edges["r.c"] == set()
    assert cycles(edges) == [["p.a", "q"]]


# The folders, inner first: a module may load modules of its own rank or of a lower one only.
KERNEL = ("workflow.errors", "workflow.clock", "workflow.simclock", "workflow.config",
          "workflow.logs", "workflow.i18n")
RANKS = (("states",), KERNEL, ("workflow.domain",), ("workflow.store",),
         ("workflow.messaging",), ("workflow",),
         ("workflow.web", "workflow.cli", "workflow.__main__", "tasks", "worker"))


def rank(module: str) -> int:
    """The layer of ``module``: the rank whose longest matching prefix names it."""
    best, found = -1, -1
    for i, prefixes in enumerate(RANKS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), i
    return found


def test_every_import_points_inward_through_the_folders() -> None:
    """Entry points (web/, cli/, tasks/, worker) -> services (workflow/*.py) -> messaging/ ->
    store/ -> domain/ -> the kernel (errors, clock, config, i18n) -> states/: no module loads
    one of an outer layer (the domain never loads the store, the store never the engine)."""
    edges = graph(ROOT, LAYERS)
    assert rank("workflow.domain.decide") < rank("workflow.store.queries") < rank("workflow.engine")
    outward = sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets
                     if rank(b) > rank(a))
    assert outward == []


def test_the_rules_import_nothing_of_the_engine_or_of_frameworks() -> None:
    """``states/`` is the regulation as data: no import, anywhere in it, of ``workflow``,
    ``tasks``, ``worker``, SQLAlchemy, Celery or FastAPI."""
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "states").rglob("*.py"))
        for name in all_imports(path)
        if name.split(".")[0] in STATES_MUST_NOT_IMPORT
    }
    assert offending == set()


def test_ci_runs_the_pinned_linters_before_the_tests() -> None:
    """`.ci/run` calls `make lint` before `make test`; `make lint` runs ruff and mypy; both
    tools are pinned exactly in the test extra (a new release cannot change CI's verdict)."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make lint" in ci and ci.index("make lint") < ci.index("make test")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in lint and "mypy" in lint
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for tool in ("ruff", "mypy"):
        assert f'"{tool}==' in pyproject, tool
