"""The programme's figures (:mod:`workflow.store.reports`) as people take them away: an aligned
text table, CSV (UTF-8 with a BOM, as Excel reads it), JSON, an Excel workbook, and PNG or SVG
charts, every word in Vietnamese or English from the one catalogue.

matplotlib is imported inside :func:`chart` only: a command that prints a table must not pay
for it at start-up. Charts are deterministic (a fixed SVG hash salt, no dates in the metadata),
drawn in DejaVu Sans, which has every Vietnamese diacritic.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection

from workflow.clock import VIETNAM
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput
from workflow.i18n import label, text
from workflow.store import reports as store
from workflow.store.register import POTENTIAL, Filters

KINDS = ("counts", "new", "stages", "compliance", "expiries")
FORMATS = ("table", "csv", "json", "xlsx", "png", "svg")
BINARY = ("xlsx", "png")
MEDIA = {"table": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8",
         "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "png": "image/png", "svg": "image/svg+xml"}
CHART_STARS = {"3": "3★", "4": "4★", POTENTIAL: "4★ → 5★", "5": "5★"}
# The catalogue kind that labels each dimension's values.
VALUE_KINDS = {"group": "group", "level": "level", "rules": "rules"}
FONT = "DejaVu Sans"


@dataclass(frozen=True)
class Sheet:
    """A report as a table: its title, column headers and rows of plain values."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Ask:
    """What one report is asked for: its dimensions (counts), filters, period (stages and
    compliance) and number of quarters (expiries)."""

    by: tuple[str, ...] = ("stars",)
    filters: Filters = field(default_factory=Filters)
    since: datetime | None = None
    until: datetime | None = None
    quarters: int = 8


def figures(conn: Connection, kind: str, ask: Ask, today: date,
            actor: Actor | None = None) -> Any:
    """The figures of report ``kind`` (one of :data:`KINDS`), computed in the database."""
    if kind == "counts":
        return store.counts(conn, ask.by, ask.filters, actor)
    if kind == "new":
        return store.new_per_year(conn, ask.filters, actor)
    if kind == "stages":
        return store.stage_durations(conn, ask.since, ask.until, actor)
    if kind == "compliance":
        return store.deadline_compliance(conn, ask.since, ask.until, actor)
    if kind == "expiries":
        return store.expiries_by_quarter(conn, today, ask.quarters, ask.filters, actor)
    raise InvalidInput("report_unknown", got=kind, reports=list(KINDS))


def period(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Days typed as a period, both inclusive: from the first moment of ``since`` to the
    last of ``until``, in Vietnam."""
    return (None if since is None else datetime.combine(since, time.min, VIETNAM),
            None if until is None else datetime.combine(until, time.max, VIETNAM))


def dimensions(typed: str | None) -> tuple[str, ...]:
    """``--by``/``by=`` as typed (comma-separated) as dimensions, each checked once."""
    by = tuple(p.strip() for p in (typed or "stars").split(",") if p.strip())
    if not by or any(d not in store.DIMENSIONS for d in by) or len(set(by)) != len(by):
        raise InvalidInput("report_by_unknown", got=typed or "", dimensions=list(store.DIMENSIONS))
    return by


def ui(key: str, lang: str, **params: Any) -> str:
    return text("ui", key, lang, **params)


def value_label(dim: str, row: dict[str, Any], lang: str, chart: bool = False) -> str:
    """The words for one dimension's value in a counts row."""
    value = row.get(dim)
    if value is None:
        return "—"
    if dim == "stars":
        return CHART_STARS.get(str(value), str(value)) if chart or value != POTENTIAL \
            else ui("report_stars_potential", lang)
    if dim in VALUE_KINDS:
        return label(VALUE_KINDS[dim], str(value), lang)
    if dim in ("unit", "district"):
        return str(row.get(f"{dim}_name") or value)
    return str(value)


def counts_title(by: list[str], lang: str) -> str:
    dims = ", ".join(ui(f"report_dim_{d}", lang).lower() for d in by)
    return ui("report_counts", lang, by=dims)


def _counts(data: dict[str, Any], lang: str) -> Sheet:
    by = data["by"]
    rows = [[value_label(d, r, lang) for d in by] + [r["count"], r["share"]]
            for r in data["rows"]]
    rows.append([ui("report_total", lang), *[""] * (len(by) - 1), data["total"],
                 100.0 if data["total"] else None])
    return Sheet(counts_title(by, lang),
                 [*(ui(f"report_dim_{d}", lang) for d in by), ui("report_count", lang),
                  ui("report_share", lang)], rows)


def _new(data: list[dict[str, Any]], lang: str) -> Sheet:
    return Sheet(ui("report_new", lang),
                 [ui(k, lang) for k in ("report_dim_year", "report_new_count", "report_target",
                                        "report_gap", "report_percent")],
                 [[r["year"], r["new"], r["target"], r["gap"], r["percent"]] for r in data])


def _stages(data: list[dict[str, Any]], lang: str) -> Sheet:
    return Sheet(ui("report_stages", lang),
                 [ui(k, lang) for k in ("report_state", "report_stays", "report_median",
                                        "report_p90")],
                 [[label("state", r["state"], lang), r["count"], r["median"], r["p90"]]
                  for r in data])


def _compliance(data: list[dict[str, Any]], lang: str) -> Sheet:
    return Sheet(ui("report_compliance", lang),
                 [ui(k, lang) for k in ("report_state", "report_deadline", "report_kept",
                                        "report_missed", "report_running",
                                        "report_kept_percent")],
                 [[label("state", r["state"], lang), label("deadline", r["kind"], lang),
                   r["kept"], r["missed"], r["running"], r["percent"]] for r in data])


def _expiries(data: list[dict[str, Any]], lang: str) -> Sheet:
    return Sheet(ui("report_expiries", lang),
                 [ui("report_quarter", lang), ui("report_expiring", lang)],
                 [[r["quarter"], r["count"]] for r in data])


SHEETS: dict[str, Callable[[Any, str], Sheet]] = {
    "counts": _counts, "new": _new, "stages": _stages, "compliance": _compliance,
    "expiries": _expiries}


def sheet(kind: str, data: Any, lang: str) -> Sheet:
    return SHEETS[kind](data, lang)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def as_text(s: Sheet) -> str:
    """Aligned columns: words to the left, numbers to the right."""
    cells = [[_cell(v) for v in row] for row in s.rows]
    widths = [max(len(x) for x in col) for col in zip(s.headers, *cells, strict=True)]
    numeric = [all(isinstance(r[i], int | float) or r[i] in (None, "") for r in s.rows)
               for i in range(len(s.headers))]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    out = [s.title, line(s.headers), line(["-" * w for w in widths]), *map(line, cells)]
    if not s.rows:
        out.append(label("ui", "report_none"))
    return "\n".join(out)


def as_csv(s: Sheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(s.headers)
    writer.writerows([["" if v is None else v for v in row] for row in s.rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(s: Sheet, name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    page = book.active
    assert page is not None
    page.title = name
    page.append([s.title])
    page["A1"].font = Font(bold=True)
    page.append(s.headers)
    for row in s.rows:
        page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(kind: str, data: Any, fmt: str, lang: str) -> bytes:
    """``data`` (what :mod:`workflow.store.reports` gave for ``kind``) in format ``fmt``."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    if fmt in ("png", "svg"):
        return chart(kind, data, fmt, lang)
    shown = sheet(kind, data, lang)
    if fmt == "csv":
        return as_csv(shown)
    if fmt == "xlsx":
        return as_xlsx(shown, kind)
    return (as_text(shown) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Bars:
    """What a chart draws: bars, an optional line (the target), and its words."""

    title: str
    names: list[str]
    values: list[float]
    ylabel: str
    line: list[float] | None = None
    line_label: str = ""


def _bars(kind: str, data: Any, lang: str) -> Bars:
    if kind == "counts":
        return Bars(counts_title(data["by"], lang),
                    [" · ".join(value_label(d, r, lang, chart=True) for d in data["by"])
                     for r in data["rows"]], [r["count"] for r in data["rows"]],
                    ui("report_count", lang))
    if kind == "new":
        return Bars(ui("report_new", lang), [str(r["year"]) for r in data],
                    [r["new"] for r in data], ui("report_new_count", lang),
                    [math.nan if r["target"] is None else r["target"] for r in data],
                    ui("report_target", lang))
    if kind == "stages":
        return Bars(ui("report_stages", lang), [label("state", r["state"], lang) for r in data],
                    [r["median"] or 0.0 for r in data], ui("report_median", lang))
    if kind == "compliance":
        return Bars(ui("report_compliance", lang),
                    [label("deadline", r["kind"], lang) for r in data],
                    [r["percent"] or 0.0 for r in data], ui("report_kept_percent", lang))
    return Bars(ui("report_expiries", lang), [r["quarter"] for r in data],
                [r["count"] for r in data], ui("report_expiring", lang))


def chart(kind: str, data: Any, fmt: str, lang: str) -> bytes:
    """A bar chart of ``data`` (new products: bars and the target as a line) as PNG or SVG."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    bars = _bars(kind, data, lang)
    with matplotlib.rc_context({"font.family": FONT, "svg.hashsalt": "ocop-reports",
                                "svg.fonttype": "none"}):
        figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        positions = list(range(len(bars.names)))
        axes.bar(positions, bars.values, color="#2f6f4e", label=bars.ylabel)
        if bars.line is not None:
            axes.plot(positions, bars.line, color="#c0392b", marker="o", label=bars.line_label)
            axes.legend()
        axes.set_xticks(positions, bars.names, rotation=30 if len(bars.names) > 6 else 0,
                        ha="right" if len(bars.names) > 6 else "center")
        axes.set_title(bars.title)
        axes.set_ylabel(bars.ylabel)
        # Counts from zero, in whole numbers (all zeros still gives a readable 0–1 axis).
        axes.set_ylim(bottom=0, top=max([*bars.values, *(bars.line or []), 1]) * 1.08)
        if kind != "compliance":
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        out = io.BytesIO()
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()
