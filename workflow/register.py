"""The programme register as a service: what a person typed turned into checked
:class:`~workflow.store.register.Filters` (:func:`parse`, shared by the register and the
reports on the CLI, the API and the console), a page of products with their current
certificate (:func:`page`), and the whole filtered register as ``.xlsx`` or ``.csv``
(:func:`export`), streamed from the database row by row.

Every figure comes from :mod:`workflow.store.register`: the page is its ordered select with
LIMIT/OFFSET and the total its ``COUNT(*)`` under the same conditions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import IO, Any, NoReturn

from sqlalchemy import Connection, RowMapping

import states
from states.groups import ALL_GROUPS, normalise_group
from workflow.domain import text
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput, NotFound
from workflow.i18n import label
from workflow.importer import GROUP_WORDS, LEVEL_WORDS, LEVELS
from workflow.store import register as store
from workflow.store import units
from workflow.store.register import POTENTIAL, STARS_VALUES, STATUSES, Filters

Raw = Mapping[str, str | Sequence[str] | None]
KEYS = ("stars", "group", "unit", "level", "rules", "year", "trademark", "expiring", "status")
MAX_LIMIT = 500
MAX_OFFSET = 10_000_000
MAX_EXPIRING = 3650
YEARS = (2000, 2100)
FORMATS = ("xlsx", "csv")
ANY = "any"
YES = {"yes", "y", "true", "1", "có", "co"}
NO = {"no", "n", "false", "0", "không", "khong"}
# The columns of an export, in order, as :func:`flat` gives a row's cells.
COLUMNS = ("code", "product", "producer", "producer_kind", "group", "stars", "number", "level",
           "rules", "status", "decision_no", "decision_date", "decision_body", "issued_on",
           "valid_to", "year", "commune", "district", "commune_now", "trademark_no")


# --- what a person typed ---------------------------------------------------------------------

def parse(conn: Connection, raw: Raw, today: date) -> Filters:
    """``raw`` (the filters by name, each a string, a list of them or ``None``; comma lists
    and repeats alike) as checked :class:`Filters`; any bad value is refused naming what was
    wrong and what is allowed. Keys other than :data:`KEYS` are ignored."""
    status = _many(raw, "status")
    return Filters(
        stars=tuple(_star(s) for s in _many(raw, "stars")),
        groups=_groups(raw.get("group")),
        unit=_unit(conn, _one(raw, "unit")),
        levels=tuple(_level(v) for v in _many(raw, "level")),
        rules=tuple(_rules(v) for v in _many(raw, "rules")),
        years=_years(_one(raw, "year")),
        trademark=_trademark(_one(raw, "trademark")),
        expiring_days=_expiring(_one(raw, "expiring")),
        statuses=_statuses(status) if status else ("valid",),
        today=today)


def _values(value: str | Sequence[str] | None) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    return [v.strip() for v in items if v and v.strip()]


def _many(raw: Raw, key: str) -> list[str]:
    """A multi-valued filter's values: repeats and comma lists, in order, once each."""
    parts = (p.strip() for v in _values(raw.get(key)) for p in v.split(","))
    return list(dict.fromkeys(p for p in parts if p))


def _one(raw: Raw, key: str) -> str | None:
    given = list(dict.fromkeys(_values(raw.get(key))))
    if len(given) > 1:
        raise InvalidInput("register_filter_twice", field=key, got=given)
    return given[0] if given else None


def _star(value: str) -> str:
    typed = value.removesuffix("★").removesuffix("*").strip()
    if typed not in STARS_VALUES:
        raise InvalidInput("register_stars_unknown", got=value, allowed_stars=list(STARS_VALUES))
    return typed


def _groups(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Group keys from keys or labels (either rule set, vi or en); a label holding commas
    ("Lưu niệm, nội thất, trang trí") is tried whole before it is read as a list."""
    out: list[str] = []
    for typed in _values(value):
        whole = _group(typed)
        found = [whole] if whole else [_group(p) or _bad_group(p)
                                       for p in typed.split(",") if p.strip()]
        out += [g for g in found if g not in out]
    return tuple(out)


def _group(typed: str) -> str | None:
    return normalise_group(typed) or GROUP_WORDS.get(text.fold(typed))


def _bad_group(typed: str) -> NoReturn:
    raise InvalidInput("register_group_unknown", got=typed.strip(),
                       group_choices=list(ALL_GROUPS))


def _unit(conn: Connection, typed: str | None) -> str | None:
    """The key of the district or commune (either era) ``typed`` names."""
    if typed is None:
        return None
    try:
        return units.named(conn, typed, ("district", "commune")).key
    except NotFound:
        raise InvalidInput("unit_unknown", got=typed, form_field="unit") from None


def _level(typed: str) -> str:
    found = LEVEL_WORDS.get(text.fold(typed).removeprefix("cấp "))
    if found is None:
        raise InvalidInput("register_level_unknown", got=typed, levels=list(LEVELS))
    return found


def _rules(typed: str) -> str:
    if typed not in states.RULE_VERSIONS:
        raise InvalidInput("register_rules_unknown", got=typed,
                           rules_choices=list(states.RULE_VERSIONS))
    return typed


def _years(typed: str | None) -> tuple[int | None, int | None]:
    """``2019`` or ``2019-2020`` as an inclusive range; a reversed range is refused."""
    if typed is None:
        return None, None
    first, dash, last = typed.replace("–", "-").partition("-")
    ends = [first.strip(), (last if dash else first).strip()]
    if not all(e.isdigit() and YEARS[0] <= int(e) <= YEARS[1] for e in ends) \
            or int(ends[0]) > int(ends[1]):
        raise InvalidInput("register_year_invalid", got=typed, first=YEARS[0], last=YEARS[1])
    return int(ends[0]), int(ends[1])


def _trademark(typed: str | None) -> bool | None:
    if typed is None:
        return None
    word = text.fold(typed)
    if word not in YES | NO:
        raise InvalidInput("register_trademark_invalid", got=typed)
    return word in YES


def _expiring(typed: str | None) -> int | None:
    if typed is None:
        return None
    if not typed.isdigit() or int(typed) > MAX_EXPIRING:
        raise InvalidInput("register_expiring_invalid", got=typed, most=MAX_EXPIRING)
    return int(typed)


def _statuses(typed: list[str]) -> tuple[str, ...]:
    for value in typed:
        if value not in (*STATUSES, ANY):
            raise InvalidInput("register_status_unknown", got=value,
                               statuses=[*STATUSES, ANY])
    return () if ANY in typed else tuple(typed)


def paging(limit: int, offset: int, order: str) -> None:
    """Refuse a page size outside 1–:data:`MAX_LIMIT`, a negative or huge offset, or an order
    that is not one of :data:`~workflow.store.register.ORDERS`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("register_limit_invalid", got=limit, most=MAX_LIMIT)
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("register_offset_invalid", got=offset, most=MAX_OFFSET)
    if order not in store.ORDERS:
        raise InvalidInput("register_order_unknown", got=order, orders=list(store.ORDERS))


# --- reading it out --------------------------------------------------------------------------

def page(conn: Connection, filters: Filters, actor: Actor | None, limit: int = 50,
         offset: int = 0, order: str = "year", lang: str = "vi") -> dict[str, Any]:
    """One page of the register (``limit`` rows from ``offset``) and the filtered total."""
    paging(limit, offset, order)
    total = int(conn.execute(store.total(filters, actor)).scalar_one())
    found = conn.execute(store.rows(filters, actor, order).limit(limit).offset(offset))
    return {"total": total, "items": [item(r._mapping, lang) for r in found]}


def stars_words(stars_label: str | None, lang: str) -> str:
    """"4★", or "4★, proposed for 5★" for a potential 5★ (DOMAIN.md §9)."""
    if stars_label == POTENTIAL:
        return label("ui", "register_stars_potential", lang)
    return f"{stars_label}★" if stars_label else "—"


def item(row: RowMapping, lang: str) -> dict[str, Any]:
    """A register row as the API, the console and the CLI show it."""
    def day(value: Any) -> str | None:
        return value.isoformat() if value is not None else None
    return {
        "code": row["code"], "product": row["product"], "producer": row["producer"],
        "producer_kind": row["producer_kind"],
        "group": {"key": row["product_group"], "label": label("group", row["product_group"],
                                                              lang)},
        "stars": row["stars_label"], "stars_label": stars_words(row["stars_label"], lang),
        "number": row["number"], "level": row["level"], "rules": row["rule_version"],
        "status": row["status"],
        "decision": {"no": row["decision_no"], "date": day(row["decision_date"]),
                     "body": row["decision_body"]},
        "issued_on": day(row["issued_on"]), "valid_to": day(row["valid_to"]),
        "year": row["year"],
        "units": {"commune": row["commune_name"], "district": row["district_name"],
                  "commune_now": row["unit_now_name"]},
        "trademark_no": row["trademark_no"]}


def flat(row: RowMapping, lang: str) -> list[Any]:
    """A register row as an export's cells, in :data:`COLUMNS` order, words in ``lang``."""
    return [row["code"], row["product"], row["producer"],
            label("producer_kind", row["producer_kind"], lang),
            label("group", row["product_group"], lang), stars_words(row["stars_label"], lang),
            row["number"], label("level", row["level"], lang), row["rule_version"],
            label("ui", f"cert_{row['status']}", lang), row["decision_no"],
            row["decision_date"], row["decision_body"], row["issued_on"], row["valid_to"],
            row["year"], row["commune_name"], row["district_name"], row["unit_now_name"],
            row["trademark_no"]]


def header(lang: str) -> list[str]:
    return [label("ui", f"register_col_{c}", lang) for c in COLUMNS]


def streamed(conn: Connection, filters: Filters, actor: Actor | None,
             lang: str) -> Iterator[list[Any]]:
    """Every filtered row as export cells, fetched from the database in batches."""
    found = conn.execution_options(stream_results=True, yield_per=500).execute(
        store.rows(filters, actor))
    for r in found:
        yield flat(r._mapping, lang)


def export(conn: Connection, filters: Filters, actor: Actor | None, fmt: str, out: IO[bytes],
           lang: str = "vi") -> int:
    """Write the filtered register to ``out`` as ``xlsx`` or ``csv`` (UTF-8 with a BOM, as
    Excel reads it), the header row in ``lang``; the number of data rows written."""
    if fmt not in FORMATS:
        raise InvalidInput("register_format_unknown", got=fmt, formats=list(FORMATS))
    rows = streamed(conn, filters, actor, lang)
    return _xlsx(rows, out, lang) if fmt == "xlsx" else _csv(rows, out, lang)


def _csv(rows: Iterator[list[Any]], out: IO[bytes], lang: str) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    out.write("\ufeff".encode())
    writer.writerow(header(lang))
    written = 0
    for written, cells in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in cells])
        if written % 500 == 0:
            out.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode())
    return written


def _xlsx(rows: Iterator[list[Any]], out: IO[bytes], lang: str) -> int:
    from openpyxl import Workbook  # only an .xlsx export pays for loading it
    book = Workbook(write_only=True)
    sheet = book.create_sheet("OCOP")
    sheet.append(header(lang))
    written = 0
    for cells in rows:
        sheet.append(cells)
        written += 1
    book.save(out)
    return written
