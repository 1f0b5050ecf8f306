# ruff: noqa: E402  (sys.path is fixed before the imports: bench/transitions.py shadows a library)
"""How fast ``ocop`` answers, as whole processes (issue 14).

A certified case (rule version 1489, its whole history) is seeded into an SQLite file; then, in
turn and after one warm-up each, every run starts a new process for:
  baseline   ``python -c pass``: the interpreter's own start-up, the floor of any command
  help       ``ocop --help``                       target < 0.3 s
  show       ``ocop cases show CODE`` on that file  target < 0.6 s
Each prints one JSON line: the median, least and largest wall time, the median CPU time (user +
system, from the operating system's accounting of the finished child), the ratio of the median
to the baseline's median in the same run, and the target.

    .venv/bin/python bench/cli.py [--runs 10]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from tests.support import TEST_SIGNING_KEY, World, make_app
from tests.unit.lifecycle_support import Driver
from workflow.logs import configure

TARGETS = {"help": 0.3, "show": 0.6}
SHOWN = {"baseline": "python -c pass", "help": "ocop --help",
         "show": "ocop cases show CODE (SQLite, a certified case)"}


def ocop() -> list[str]:
    """The installed ``ocop`` script beside this interpreter, else ``python -m workflow``."""
    script = Path(sys.executable).parent / "ocop"
    return [str(script)] if script.exists() else [sys.executable, "-m", "workflow"]


def seed(folder: Path) -> tuple[str, str]:
    """An SQLite file holding one certified case; its URL and the case's code."""
    url = f"sqlite:///{folder / 'ocop.db'}"
    app = make_app(url)
    try:
        code = Driver(World(app)).reach("1489", "certified")
    finally:
        app.close()
    return url, code


def timed(argv: list[str], env: dict[str, str],
          check: Callable[[str], bool]) -> tuple[float, float]:
    """One whole process: its wall time and its CPU time (user + system), both in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=_ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not check(done.stdout):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def summary(name: str, command: str, walls: list[float], cpus: list[float],
            baseline: float | None) -> dict[str, Any]:
    median = statistics.median(walls)
    row: dict[str, Any] = {
        "bench": "cli", "name": name, "command": command, "runs": len(walls),
        "median_s": round(median, 3), "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3), "cpu_median_s": round(statistics.median(cpus), 3)}
    if baseline is not None:
        row["ratio_to_baseline"] = round(median / baseline, 1)
    if name in TARGETS:
        row["target_s"] = TARGETS[name]
        row["met"] = median < TARGETS[name]
    return row


def measure(commands: dict[str, tuple[list[str], Callable[[str], bool]]], env: dict[str, str],
            runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each command ``runs`` times, in turn (A B C A B C …, so a drift of the machine's speed
    touches all alike), after a first round that is not counted: wall and CPU seconds."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs + 1):
        for name, (argv, check) in commands.items():
            wall, cpu = timed(argv, env, check)
            if run:
                walls[name].append(wall)
                cpus[name].append(cpu)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs of each command")
    args = parser.parse_args()
    configure(json=True, level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url, code = seed(Path(tmp))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        env.update(OCOP_DATABASE_URL=url, OCOP_HOME=tmp, OCOP_SIGNING_KEY=TEST_SIGNING_KEY)
        walls, cpus = measure({
            "baseline": ([sys.executable, "-c", "pass"], lambda out: out == ""),
            "help": ([*ocop(), "--help"], lambda out: "cases" in out),
            "show": ([*ocop(), "cases", "show", code], lambda out: out.startswith(code)),
        }, env, args.runs)
    base = statistics.median(walls["baseline"])
    rows = [summary(name, SHOWN[name], walls[name], cpus[name],
                    None if name == "baseline" else base) for name in walls]
    for row in rows:
        print(json.dumps(row), flush=True)
    print(json.dumps({"bench": "cli", "date": date.today().isoformat(),
                      "met": all(row.get("met", True) for row in rows)}))


if __name__ == "__main__":
    main()
