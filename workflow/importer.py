"""The historic import: a spreadsheet of certificates the office issued before the engine, each
row a certified product, loaded whole or not at all.

Every row is checked first (:func:`check`); one bad row refuses the file and each problem is
named by row, column and reason. A good file becomes, in one transaction, producers (found by
name and commune, else created), cases in ``certified`` (``expired`` when the 36 months from
the decision have ended) and their signed certificates, each case with one ``imported`` audit
entry written through :mod:`workflow.store.history` whose ``effects`` record what replay needs.
A row whose certificate an earlier import created is compared with it: the same values change
nothing, other values are one ``import_correction`` entry recording them.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

import states
from states.groups import normalise_group
from workflow import i18n
from workflow.clock import local
from workflow.domain import certificates as certdomain
from workflow.domain import text
from workflow.domain.facts import Actor
from workflow.domain.units import Unit
from workflow.errors import Forbidden, InvalidInput, clause, render
from workflow.registry import KINDS, NAME_CASE
from workflow.store import deadlines, history, replay, seal, units
from workflow.store import statements as stmt
from workflow.store.audit import GENESIS
from workflow.store.db import write_transaction
from workflow.store.schema import audit_entries, cases, producers
from workflow.store.schema import certificates as certs_table
from workflow.store.schema import deadlines as clock_rows

# (column key, Vietnamese header, required): the template's columns, in its order.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("producer", "Tên chủ thể", True),
    ("producer_kind", "Loại hình chủ thể", True),
    ("province", "Tỉnh/Thành phố", False),
    ("district", "Quận/Huyện (cũ)", False),
    ("commune", "Xã/Phường", True),
    ("product", "Tên sản phẩm", True),
    ("group", "Nhóm sản phẩm", True),
    ("stars", "Số sao", True),
    ("potential_5", "Tiềm năng 5 sao", False),
    ("level", "Cấp đánh giá", True),
    ("certificate_no", "Số giấy chứng nhận", True),
    ("decision_no", "Số quyết định", True),
    ("decision_date", "Ngày quyết định", True),
    ("decision_body", "Cơ quan ra quyết định", True),
    ("rule_version", "Bộ tiêu chí", True),
    ("trademark_no", "Số văn bằng nhãn hiệu", False),
    ("trademark_holder", "Chủ sở hữu nhãn hiệu", False),
    ("score", "Điểm", False),
)
KEYS = tuple(key for key, _, _ in COLUMNS)
REQUIRED = tuple(key for key, _, needed in COLUMNS if needed)
LEVELS = ("district", "city", "central")
IMPORTERS = ("city_officer", "admin", "system")
YES = {"x", "1", "yes", "true", "có", "co", "y"}
# The fields of an imported row an import may correct (the producer and its unit may not:
# a different producer is a different product).
CORRECTABLE = ("product", "group", "stars", "potential_5", "level", "decision_no",
               "decision_date", "decision_body", "rule_version", "trademark_no",
               "trademark_holder", "score")
FIXED = ("producer", "producer_kind", "commune_code")


@dataclass(frozen=True)
class Problem:
    """One bad value: the file's row number (1 is the header), the column and why."""

    row: int
    column: str
    why: dict[str, Any]

    def text(self, lang: str) -> str:
        line = clause("hint_import_row", row=self.row, column=self.column, why=self.why)
        return render(line["code"], line["params"], lang)


@dataclass
class Row:
    """A checked row: the values as stored, the unit resolved, where it came from."""

    number: int
    values: dict[str, Any]
    commune: Unit


@dataclass
class Change:
    """An already imported certificate whose row now says otherwise, field by field."""

    row: Row
    case_id: int
    fields: dict[str, tuple[Any, Any]]


@dataclass
class Plan:
    """What an import would do: the new rows, the corrections, how many rows are the same."""

    source: str
    new: list[Row] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    same: int = 0

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "same": self.same}


# --- reading --------------------------------------------------------------------------------

def _fold_header(value: Any) -> str:
    return text.fold(str(value or "")).replace(" ", "")


HEADERS = {**{_fold_header(k): k for k in KEYS}, **{_fold_header(v): k for k, v, _ in COLUMNS}}


def read(path: Path) -> tuple[list[str | None], list[tuple[int, list[Any]]]]:
    """The columns the header names (``None`` for one it does not know) and every data row
    with its number in the file. Two header rows are allowed: Vietnamese, then the keys."""
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    numbered = [(n, r) for n, r in enumerate(rows, 1)
                if any(v is not None and str(v).strip() for v in r)]
    if not numbered:
        raise InvalidInput("import_file_empty", got=path.name)
    _, header = numbered[0]
    columns = [HEADERS.get(_fold_header(v)) for v in header]
    body = numbered[1:]
    if body and all(_fold_header(v) in KEYS or not str(v or "").strip() for v in body[0][1]):
        body = body[1:]  # the template's second header row: the keys in English
    return columns, body


def _xlsx_rows(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook  # only an .xlsx import pays for loading it
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a bad file
        raise InvalidInput("import_file_unreadable", got=path.name, why=str(error)) from None
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_rows(path: Path) -> list[list[Any]]:
    if path.suffix.lower() != ".csv":
        raise InvalidInput("import_file_kind", got=path.name)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput("import_file_unreadable", got=path.name, why=str(error)) from None
    first = content.partition("\n")[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # Excel's Vietnamese locale
    return [list(r) for r in csv.reader(io.StringIO(content), delimiter=delimiter)]


def template(path: Path) -> None:
    """The empty template: Vietnamese headers, then the column keys (English) on row 2."""
    if path.suffix.lower() == ".csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([vi for _, vi, _ in COLUMNS])
        writer.writerow(KEYS)
        path.write_text(out.getvalue(), encoding="utf-8-sig")
        return
    if path.suffix.lower() != ".xlsx":
        raise InvalidInput("import_file_kind", got=path.name)
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "OCOP"
    sheet.append([vi for _, vi, _ in COLUMNS])
    sheet.append(list(KEYS))
    book.save(path)


# --- checking -------------------------------------------------------------------------------

def _labels(kind: str, codes: Iterable[str]) -> dict[str, str]:
    """Codes by their folded code and Vietnamese and English labels (``Thực phẩm`` → food)."""
    out: dict[str, str] = {}
    for code in codes:
        for word in (code, i18n.label(kind, code, "vi"), i18n.label(kind, code, "en")):
            out[text.fold(word)] = code
    return out


GROUP_WORDS = {**_labels("group", states.groups.ALL_GROUPS),
               "lưu niệm - nội thất - trang trí": "souvenir_furniture_decor",
               "vải - may mặc": "fabric_garment"}
KIND_WORDS = {**_labels("producer_kind", KINDS), "hộ kinh doanh": "household",
              "công ty": "enterprise"}
LEVEL_WORDS = {**_labels("level", LEVELS), "huyện": "district", "thành phố": "city",
               "tỉnh": "city", "trung ương": "central"}


class Checker:
    """Checks rows against the catalogue, the units and the certificates already stored."""

    def __init__(self, conn: Connection, today: date) -> None:
        self.conn, self.today = conn, today
        self.places: dict[tuple[str, str], Unit | dict[str, Any]] = {}

    def row(self, number: int, raw: dict[str, Any]) -> tuple[Row | None, list[Problem]]:
        problems: list[Problem] = []

        def bad(column: str, why: dict[str, Any]) -> None:
            problems.append(Problem(number, column, why))

        values: dict[str, Any] = {}
        for key in KEYS:
            value = raw.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                try:
                    value = text.clean(str(value), key) or None
                except InvalidInput as error:
                    bad(key, {"code": error.code, "params": error.params})
                    value = None
            values[key] = value
            if key in REQUIRED and value is None and not any(p.column == key for p in problems):
                bad(key, clause("hint_import_missing_value"))
        self._choices(values, bad)
        self._numbers(values, bad)
        when = values["decision_date"]
        if when is not None:
            day = _day(when)
            if day is None:
                bad("decision_date", clause("hint_import_bad_date", got=str(when)))
                values["decision_date"] = None
            elif day > self.today:
                bad("decision_date", clause("hint_import_future_date", got=day.isoformat(),
                                                today=self.today.isoformat()))
            values["decision_date"] = day
        for key, most in (("certificate_no", 40), ("trademark_no", 120)):
            if values[key] and len(values[key]) > most:
                bad(key, clause("hint_import_too_long", got=values[key], most=most))
        unit = self._unit(values, bad)
        if problems or unit is None:
            return None, problems
        values["commune_code"] = unit.key
        return Row(number, values, unit), []

    def _choices(self, values: dict[str, Any], bad: Callable[..., None]) -> None:
        kind = values["producer_kind"]
        if kind is not None:
            values["producer_kind"] = KIND_WORDS.get(text.fold(kind))
            if values["producer_kind"] is None:
                bad("producer_kind", clause("hint_import_bad_kind", got=kind,
                                            producer_kind_choices=list(KINDS)))
        level = values["level"]
        if level is not None:
            values["level"] = LEVEL_WORDS.get(text.fold(level).removeprefix("cấp "))
            if values["level"] is None:
                bad("level", clause("hint_import_bad_level", got=level,
                                    level_choices=list(LEVELS)))
        rules = values["rule_version"]
        if rules is not None:
            rules = str(rules).removesuffix(".0")
            if rules not in states.RULE_VERSIONS:
                bad("rule_version", clause("hint_import_bad_choice",
                                                    got=values["rule_version"],
                                                    choices=list(states.RULE_VERSIONS)))
                rules = None
            values["rule_version"] = rules
        group = values["group"]
        if group is not None:
            key = normalise_group(group) or GROUP_WORDS.get(text.fold(group))
            allowed = states.lifecycle(rules).groups if rules else states.groups.ALL_GROUPS
            if key is not None and key not in allowed and rules:
                key = states.lifecycle(rules).group_map.get(key)
            if key is None:
                bad("group", clause("hint_import_unknown_group", got=group,
                                             group_choices=list(allowed)))
            values["group"] = key
        values["potential_5"] = text.fold(str(values["potential_5"] or "")) in YES

    def _numbers(self, values: dict[str, Any], bad: Callable[..., None]) -> None:
        stars = values["stars"]
        if stars is not None:
            try:
                number = float(stars)
                if not number.is_integer() or not 3 <= number <= 5:
                    raise ValueError(stars)
                values["stars"] = int(number)
            except ValueError:
                bad("stars", clause("hint_import_stars_range", got=str(stars)))
                values["stars"] = None
        if values["potential_5"] and values["stars"] not in (4, None):
            bad("potential_5", clause("hint_import_potential_needs_4", got=str(stars)))
        score = values["score"]
        if score is not None:
            try:
                values["score"] = float(str(score).replace(",", "."))
                if not 0 <= values["score"] <= 100:
                    raise ValueError(score)
            except ValueError:
                bad("score", clause("hint_import_bad_score", got=str(score)))

    def _unit(self, values: dict[str, Any], bad: Callable[..., None]) -> Unit | None:
        commune, district = values["commune"], values["district"]
        if commune is None:
            return None
        key = (str(district or ""), str(commune))
        if key not in self.places:
            self.places[key] = self._resolve(*key)
        found = self.places[key]
        if isinstance(found, dict):
            bad("commune", found)
            return None
        return found

    def _resolve(self, district: str, commune: str) -> Unit | dict[str, Any]:
        """Today's commune a code, key or name means (``Cự Khê, Thanh Oai`` → Bình Minh)."""
        typed = commune if not district or commune.isdigit() or commune.startswith("old:") \
            else f"{commune}, {district}"
        found = units.find(self.conn, typed, ("commune",))
        if not found and typed != commune:  # today's commune, typed with its old district
            found = units.find(self.conn, commune, ("commune",))
        now = [u for u in found if u.in_force(self.today)]
        if not now:
            now = list({s.key: s for u in found
                        if (s := units.successor(self.conn, u.key)) is not None}.values())
        if len(now) == 1:
            return now[0]
        if not now:
            return clause("hint_import_unit_unknown", got=typed)
        return clause("hint_import_unit_ambiguous", got=typed,
                      candidates=[u.label for u in now[:units.MAX_CANDIDATES]])


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    for parse in (date.fromisoformat, _dmy):
        try:
            return parse(raw)
        except ValueError:
            continue
    return None


def _dmy(raw: str) -> date:
    return datetime.strptime(raw, "%d/%m/%Y").date()


def check(conn: Connection, columns: Sequence[str | None], body: Sequence[tuple[int, list[Any]]],
          today: date, source: str) -> tuple[Plan, list[Problem]]:
    """Every row checked against the file, the catalogue and the database: the plan, or
    every problem (then nothing may be written)."""
    problems = [Problem(1, key, clause("hint_import_missing_column"))
                for key in REQUIRED if key not in columns]
    if problems:
        return Plan(source), problems
    checker = Checker(conn, today)
    rows: list[Row] = []
    for number, raw in body:
        row, bad = checker.row(number, {k: v for k, v in zip(columns, raw, strict=False)
                                        if k is not None})
        problems += bad
        if row is not None:
            rows.append(row)
    seen: dict[str, int] = {}
    for row in rows:
        number = row.values["certificate_no"]
        if number in seen:
            problems.append(Problem(row.number, "certificate_no",
                                    clause("hint_import_duplicate_in_file", got=number,
                                           other=seen[number])))
        seen.setdefault(number, row.number)
    plan = Plan(source)
    stored = _stored(conn, list(seen))
    for row in rows:
        old = stored.get(row.values["certificate_no"])
        if old is None:
            plan.new.append(row)
            continue
        if not old["imported"]:
            problems.append(Problem(row.number, "certificate_no", clause(
                "hint_import_duplicate_in_db", got=row.values["certificate_no"], case=old["code"])))
            continue
        before = old["values"]
        if any(before.get(k) != row.values.get(k) for k in FIXED):
            problems.append(Problem(row.number, "producer", clause(
                "hint_import_producer_fixed", got=row.values["certificate_no"], case=old["code"])))
            continue
        diff = {k: (before.get(k), row.values.get(k)) for k in CORRECTABLE
                if before.get(k) != row.values.get(k)}
        if diff:
            plan.changed.append(Change(row, old["case_id"], diff))
        else:
            plan.same += 1
    return plan, sorted(problems, key=lambda p: (p.row, KEYS.index(p.column)
                                                 if p.column in KEYS else 0))


def _stored(conn: Connection, numbers: list[str]) -> dict[str, dict[str, Any]]:
    """The stored certificates among ``numbers``: their case, and the row values an import
    recorded for it last (``None`` when no import made it)."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(numbers), 1000):
        part = numbers[chunk:chunk + 1000]
        for r in conn.execute(select(certs_table.c.number, cases.c.id, cases.c.code)
                              .join(cases, cases.c.id == certs_table.c.case_id)
                              .where(certs_table.c.number.in_(part))):
            out[r.number] = {"case_id": r.id, "code": r.code, "imported": False, "values": {}}
    ids = {v["case_id"]: k for k, v in out.items()}
    if ids:
        for e in conn.execute(select(audit_entries.c.case_id, audit_entries.c.data)
                              .where(audit_entries.c.case_id.in_(list(ids)),
                                     audit_entries.c.trigger.in_(("imported",
                                                                  "import_correction")))
                              .order_by(audit_entries.c.case_id, audit_entries.c.seq)):
            data = _json(e.data)
            row = data.get("row") or {}
            row["decision_date"] = _day(row["decision_date"]) if row.get("decision_date") \
                else None
            out[ids[e.case_id]].update(imported=True, values=row)
    return out


def _json(value: Any) -> dict[str, Any]:
    import json
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


# --- writing --------------------------------------------------------------------------------

def importer(actor: Actor) -> Actor:
    """Only the city's staff and the system load the programme's history."""
    if actor.role not in IMPORTERS:
        raise Forbidden("import_role", role=actor.role, roles=list(IMPORTERS))
    return actor


def recorded(values: dict[str, Any]) -> dict[str, Any]:
    """A row's values as an audit entry keeps them (dates as ISO text)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _certificate(values: dict[str, Any], today: date) -> dict[str, Any]:
    decided: date = values["decision_date"]
    last = certdomain.valid_to(decided)
    return {"number": values["certificate_no"], "stars": values["stars"],
            "level": values["level"], "rule_version": values["rule_version"],
            "issued_on": decided, "valid_to": last,
            "status": "valid" if last >= today else "expired",
            "decision_no": values["decision_no"], "decision_date": decided,
            "decision_body": values["decision_body"]}


def _case_fields(values: dict[str, Any], unit: Unit) -> dict[str, Any]:
    return {"product": values["product"], "product_group": values["group"],
            "commune": unit.name, "commune_code": unit.key, "district": None,
            "district_code": None, "rule_version": values["rule_version"],
            "score": values["score"], "stars": values["stars"], "star_cap": None,
            "trademark_no": values["trademark_no"] or None,
            "potential_5": True if values["potential_5"] else None,
            "dossier": {"imported": True,
                        "trademark": {"number": values["trademark_no"],
                                      "holder": values["trademark_holder"]}
                        if values["trademark_no"] else None}}


def apply(conn: Connection, plan: Plan, actor: Actor, now: datetime,
          progress: Callable[[int], None] = lambda n: None) -> dict[str, int]:
    """Write ``plan`` inside the caller's transaction: new rows in batches, then corrections."""
    today = local(now).date()
    keys = seal.of(conn)
    producer_ids = _producers(conn, plan.new, now)
    for start in range(0, len(plan.new), 500):
        batch = plan.new[start:start + 500]
        _new_cases(conn, batch, producer_ids, actor, now, today, plan.source, keys)
        progress(len(batch))
    for change in plan.changed:
        _correct(conn, change, actor, now, today, plan.source, keys)
        progress(1)
    return plan.counts()


def _producers(conn: Connection, rows: list[Row], now: datetime) -> dict[tuple[str, str], int]:
    """Each row's producer by (name, commune key): found, else created (set-based)."""
    wanted = {(r.values["producer"], r.commune.key): r for r in rows}
    found = {(p.name, p.commune_code): p.id for p in conn.execute(
        select(producers.c.id, producers.c.name, producers.c.commune_code).where(
            producers.c.commune_code.in_({k[1] for k in wanted})))} if wanted else {}
    missing = [k for k in wanted if k not in found]
    if missing:
        made = conn.execute(
            insert(producers).returning(producers.c.id, sort_by_parameter_order=True),
                            [{"name": name, "kind": wanted[(name, key)].values["producer_kind"],
                              "commune": wanted[(name, key)].commune.name, "commune_code": key,
                              "district": None, "district_code": None, "email": None,
                              "webhook_url": None, "webhook_secret": secrets.token_hex(32),
                              "lang": "vi", "created_at": now} for name, key in missing])
        found.update(zip(missing, made.scalars().all(), strict=True))
    return found


def _new_cases(conn: Connection, rows: list[Row], producer_ids: dict[tuple[str, str], int],
               actor: Actor, now: datetime, today: date, source: str, keys: seal.Keys) -> None:
    fields = [_case_fields(r.values, r.commune) for r in rows]
    certs = [_certificate(r.values, today) for r in rows]
    made = conn.execute(insert(cases).returning(cases.c.id, sort_by_parameter_order=True), [
        {**f, "code": secrets.token_hex(8), "state": "certified" if c["status"] == "valid"
         else "expired", "version": 1, "rules_pinned": True,
         "producer_id": producer_ids[(r.values["producer"], r.commune.key)],
         "status_token": secrets.token_urlsafe(24), "audit_seq": 0, "audit_head": GENESIS,
         "created_at": now, "updated_at": now}
        for r, f, c in zip(rows, fields, certs, strict=True)]).scalars().all()
    moves, entries, cert_rows, clocks = [], [], [], []
    for row, f, cert, case_id in zip(rows, fields, certs, made, strict=True):
        code = f"HN-{cert['decision_date'].year}-{case_id:06d}"
        cert = {**cert, "case_id": case_id, "created_at": now}
        cert["signature"] = keys.sign(seal.certificate_payload(
            cert, code, f["product"], row.values["producer"]))
        chain = history.Chain.genesis(case_id, code)
        entries.append(chain.next(
            at=now, actor=actor.name, role=actor.role, trigger="imported", from_state=None,
            to_state="certified" if cert["status"] == "valid" else "expired", reason=None,
            data=_entry_data(row, f, cert, source, {k: f[k] for k in replay.FIELDS
                                                    if f[k] is not None}),
            rule_version=f["rule_version"]))
        moves.append((chain, {"case_code": code, "old_version": 1}))
        cert_rows.append(cert)
        if cert["status"] == "valid":
            clocks += deadlines.certificate_clocks(case_id, cert["valid_to"], now)
    history.write(conn, NAME_CASE, moves, entries)
    conn.execute(insert(certs_table), cert_rows)
    if clocks:
        conn.execute(stmt.INSERT_DEADLINE, clocks)


def _entry_data(row: Row, fields: dict[str, Any], cert: dict[str, Any], source: str,
                changed: dict[str, Any]) -> dict[str, Any]:
    effects: dict[str, Any] = {"issued": {**replay.certificate_fields(cert),
                                          "status": cert["status"]}}
    if changed:
        effects["set"] = changed
    return {"row": recorded(row.values), "source": {"file": source, "row": row.number},
            "certificate": cert["number"], "effects": effects}


def _correct(conn: Connection, change: Change, actor: Actor, now: datetime, today: date,
             source: str, keys: seal.Keys) -> None:
    """One ``import_correction`` entry: the case's fields and its certificate as the row says,
    the certificate signed anew and its clocks moved to its new end."""
    row = change.row
    case = conn.execute(select(cases, producers.c.name.label("producer_name"))
                        .join(producers, producers.c.id == cases.c.producer_id)
                        .where(cases.c.id == change.case_id).with_for_update(of=cases)).one()
    f = _case_fields(row.values, row.commune)
    cert = {**_certificate(row.values, today), "case_id": case.id}
    cert["signature"] = keys.sign(seal.certificate_payload(
        cert, case.code, f["product"], case.producer_name))
    state = "certified" if cert["status"] == "valid" else "expired"
    changed = {k: f[k] for k in replay.FIELDS if f[k] != getattr(case, k)}
    chain = history.Chain.of(dict(case._mapping))
    history.append(conn, chain, stmt.MOVE_CASE, {
        "old_version": case.version, "state": state, "new_version": case.version + 1,
        "now": now, "rules": f["rule_version"],
        **{k: f[k] if k in f else getattr(case, k) for k in stmt.MOVABLE}},
        at=now, actor=actor.name, role=actor.role, trigger="import_correction",
        from_state=case.state, to_state=state, reason=None,
        data={**_entry_data(row, f, cert, source, changed),
              "corrected": {k: recorded({"v": new})["v"]
                            for k, (_, new) in change.fields.items()}},
        rule_version=f["rule_version"])
    conn.execute(update(cases).where(cases.c.id == case.id).values(product=f["product"]))
    conn.execute(update(certs_table).where(certs_table.c.number == cert["number"]).values(
        {k: v for k, v in cert.items() if k not in ("number", "case_id")}))
    conn.execute(update(clock_rows).where(
        clock_rows.c.case_id == case.id, clock_rows.c.status == deadlines.OPEN,
        clock_rows.c.kind.in_(deadlines.CERT_KINDS)).values(status=deadlines.CANCELLED))
    if cert["status"] == "valid":
        conn.execute(stmt.INSERT_DEADLINE, deadlines.certificate_clocks(
            case.id, cert["valid_to"], now))



def run(db: Engine, path: Path, actor: Actor, now: datetime, *, dry_run: bool = False,
        progress: Callable[[int], None] = lambda n: None,
        started: Callable[[int], None] = lambda n: None) -> Plan:
    """Check ``path`` whole, then (unless ``dry_run``) write it in one transaction. A file with
    any bad row raises :class:`ImportRefused` carrying every problem; nothing is written.
    ``started`` is told how many rows will be written, ``progress`` each batch done."""
    importer(actor)
    columns, body = read(path)
    with write_transaction(db) as conn:
        plan, problems = check(conn, columns, body, local(now).date(), path.name)
        if problems:
            raise ImportRefused("import_refused", problems, got=path.name, count=len(problems),
                                rows=sorted({p.row for p in problems}))
        if not dry_run:
            started(len(plan.new) + len(plan.changed))
            apply(conn, plan, actor, now, progress)
    return plan


class ImportRefused(InvalidInput):
    """A file with bad rows: refused whole; ``problems`` names each (row, column, reason)."""

    def __init__(self, code: str, /, problems: list[Problem], **params: Any) -> None:
        super().__init__(code, **params)
        self.problems = problems
