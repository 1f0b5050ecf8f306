"""The dossier's documents (DOMAIN.md §3, §9): a producer's or an officer's upload of a kind the
case's rule version accepts, kept content-addressed on disk and recorded in the case's audit
chain; every read checks the bytes still are the ones uploaded.

An upload is checked whole before anything is written — who may upload to the case now, the
kind, the size and the type *by content* (PDF, JPEG, PNG; a PDF must be a whole one) — then one
write transaction locks the case row, numbers the version (uploading a kind again is a new
version of it), appends the ``upload_document`` entry through the one history writer (the case
version moves on, so ETags change) and inserts the row; the bytes land under
``<documents_dir>/<sha[:2]>/<sha256>`` inside that transaction, so a refused or failed upload
leaves neither a row nor a file.

``list`` and ``open`` are named for what they do to a case's dossier; within this module the
built-ins of the same names are not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import filetype
from sqlalchemy import Connection

import states
from states.model import TERMINAL_STATES
from workflow.bootstrap import App
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.domain.guards import required_documents
from workflow.domain.permissions import ended_reason, scope_reason
from workflow.errors import (
    BodyTooLarge,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OcopError,
    WrongState,
)
from workflow.i18n import label
from workflow.store import documents as rows
from workflow.store import history, queries
from workflow.store import statements as stmt
from workflow.store.db import write_transaction

TRIGGER = "upload_document"
# What a producer's own case must be in for them to upload: being put together or completed.
PRODUCER_STATES = ("draft", "needs_completion", "reevaluation")
MEDIA_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
PDF_TAIL = 1024  # "%%EOF" must be within this many bytes of a PDF's end
NAME_LIMIT = 120  # characters of a stored file name (the column holds 200)
UNSAFE_NAME = re.compile(r'[<>:"/\\|?*;\x00-\x1f]')
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Kind:
    """One kind a rule version accepts: its code, whether submit needs it, its words."""

    code: str
    required: bool
    vi: str
    en: str

    def words(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


def kinds_of(app: App, rule_version: str) -> tuple[Kind, ...]:
    """The kinds a case of ``rule_version`` accepts, in the catalogue's order; ``required``
    as ``submit``/``resubmit`` check it (the ``OCOP_REQUIRED_DOCUMENTS`` setting, else the
    rule version's list)."""
    needed = set(required_documents(app.settings, rule_version))
    return tuple(Kind(k, k in needed, label("document", k, "vi"), label("document", k, "en"))
                 for k in states.lifecycle(rule_version).document_kinds)


def readable(actor: Actor, case: dict[str, Any]) -> None:
    """Refuse a reader outside the case's read scope exactly as the case API does: staff get
    403, another producer the 404 of a case that does not exist."""
    # The API's rule, imported here so that the command line loads FastAPI only when it reads.
    from workflow.web.api.cases import check_case_read
    check_case_read(actor, case)


def upload_refusal(actor: Actor, case: dict[str, Any], today: date) -> OcopError | None:
    """Why ``actor`` may not upload to ``case`` now, or ``None``: a producer to their own case
    while it is being put together or completed; staff whose scope covers the case in any
    state that is not final."""
    code, state = case["code"], case["state"]
    if state in TERMINAL_STATES:
        return WrongState("document_case_closed", case=code, state=state)
    if actor.role == "producer":
        if scope_reason(actor, case) is not None:
            return NotFound("case_not_found", got=code)
        if state not in PRODUCER_STATES:
            return WrongState("document_producer_not_now", case=code, state=state,
                              sources=[*PRODUCER_STATES])
        return None
    why = ended_reason(actor, today) or scope_reason(actor, case)
    if why:
        return Forbidden("document_out_of_scope", actor=actor.name, case=code, why=why)
    return None


def may_upload(app: App, actor: Actor, case: dict[str, Any]) -> bool:
    return upload_refusal(actor, case, local(app.clock.now()).date()) is None


def checked_kind(kind: str, case: dict[str, Any]) -> str:
    accepted = states.lifecycle(case["rule_version"]).document_kinds
    if kind not in accepted:
        raise InvalidInput("document_kind_unknown", got=kind, case=case["code"],
                           documents=[*accepted], kind_codes=[*accepted])
    return kind


def media_type(data: bytes, filename: str, max_mb: int) -> str:
    """The type of ``data`` by its content, or the refusal: empty, over ``max_mb`` MiB, not
    a PDF, JPEG or PNG, or a PDF that is not whole (an HTML page renamed ``.pdf`` is no PDF)."""
    if not data:
        raise InvalidInput("document_empty", filename=filename)
    if len(data) > max_mb * 1024 * 1024:
        raise BodyTooLarge("document_too_large", filename=filename, max_mb=max_mb,
                           size_mb=f"{len(data) / 1024 / 1024:.2f}")
    guess = filetype.guess(data)
    found = guess.mime if guess is not None else None
    if found is None:
        raise InvalidInput("document_type_unrecognised", filename=filename)
    if found not in MEDIA_TYPES:
        raise InvalidInput("document_type_refused", filename=filename, found=found)
    if found == "application/pdf" and not (data.startswith(b"%PDF-")
                                           and b"%%EOF" in data[-PDF_TAIL:]):
        raise InvalidInput("document_pdf_broken", filename=filename)
    return str(found)


def safe_filename(filename: str | None, kind: str, media: str) -> str:
    """The base name a browser or a shell may be handed back: no folders, no control or
    separator characters, none of ``<>:"/\\|?*;``, not hidden, at most ``NAME_LIMIT``
    characters; Vietnamese letters kept. Nothing left: ``<kind>.<ext>``."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]
    base = "".join(ch if unicodedata.category(ch)[0] not in "CZ" else " " for ch in base)
    base = " ".join(UNSAFE_NAME.sub("_", base).split()).lstrip(". ")
    if len(base) > NAME_LIMIT:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and stem and len(ext) <= 10 else ""
        base = base[:NAME_LIMIT - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return base or f"{kind}.{MEDIA_TYPES[media]}"


def add(app: App, actor: Actor, case_code: str, kind: str, filename: str | None,
        data: bytes) -> dict[str, Any]:
    """Upload one version of ``kind`` to the case; returns its row (:func:`shown`)."""
    now = app.clock.now()
    with app.db.connect() as conn:
        case = queries.case_row(conn, case_code)
    readable(actor, case)
    refused = upload_refusal(actor, case, local(now).date())
    if refused is not None:
        raise refused
    checked_kind(kind, case)
    shown_name = safe_filename(filename, kind, "application/pdf")
    media = media_type(data, shown_name, app.settings.document_max_mb)
    name = safe_filename(filename, kind, media)
    sha = hashlib.sha256(data).hexdigest()
    folder = Path(app.settings.documents_dir)
    created = False
    try:
        with write_transaction(app.db) as conn:
            locked = _locked(conn, case_code)
            refused = upload_refusal(actor, locked, local(now).date())  # it may have moved
            if refused is not None:
                raise refused
            document = {"kind": kind, "version": rows.next_version(conn, locked["id"], kind),
                        "sha256": sha, "size": len(data), "media_type": media,
                        "filename": name}
            entry = history.append(
                conn, history.Chain.of(locked), history.MOVE_HEAD,
                {"old_version": locked["version"], "new_version": locked["version"] + 1,
                 "now": now, "rules": locked["rule_version"]},
                at=now, actor=actor.name, role=actor.role, trigger=TRIGGER,
                from_state=locked["state"], to_state=locked["state"], reason=None,
                data={"document": document, "effects": {}},
                rule_version=locked["rule_version"])
            row = rows.add(conn, {"case_id": locked["id"], **document,
                                  "uploaded_by": actor.name, "uploaded_at": now,
                                  "audit_seq": entry["seq"]})
            created = keep(folder, sha, data)
    except BaseException:
        if created:
            with app.db.connect() as conn:
                if not rows.referenced(conn, sha):
                    _path(folder, sha).unlink(missing_ok=True)
        raise
    return shown(row, case_code)


def _locked(conn: Connection, case_code: str) -> dict[str, Any]:
    """The case row, locked until the transaction ends (the engine's own lock statement)."""
    found = conn.execute(stmt.LOCK_CASE, {"code": case_code}).all()
    if not found:
        raise NotFound("case_not_found", got=case_code)
    return {k: v for k, v in found[0]._mapping.items() if not k.startswith("clock_")}


def _path(folder: Path, sha: str) -> Path:
    return folder / sha[:2] / sha


def keep(folder: Path, sha: str, data: bytes) -> bool:
    """Write the bytes under their digest (a temporary file in the same folder, flushed to
    disk, then renamed into place); ``False`` when an identical file is already there."""
    target = _path(folder, sha)
    if target.is_file() and _digest(target) == sha:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return True


def _digest(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def shown(row: dict[str, Any], case_code: str) -> dict[str, Any]:
    """A version as the API, the CLI and the console show it."""
    at = row["uploaded_at"]
    return {"case": case_code, "kind": row["kind"], "version": row["version"],
            "sha256": row["sha256"], "size": row["size"], "media_type": row["media_type"],
            "filename": row["filename"], "uploaded_by": row["uploaded_by"],
            "uploaded_at": local(at).isoformat() if at is not None else None,
            "audit_seq": row["audit_seq"]}


def _case_for_reader(app: App, actor: Actor, case_code: str) -> dict[str, Any]:
    with app.db.connect() as conn:
        case = queries.case_row(conn, case_code)
    readable(actor, case)
    return case


def versions_of(conn: Connection, case: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Every version of the case's documents: kinds in the catalogue's order (kinds the rule
    version no longer lists after them), newest version first within each."""
    order = {k: i for i, k in enumerate(states.lifecycle(case["rule_version"]).document_kinds)}
    found = rows.versions(conn, case["id"])
    found.sort(key=lambda r: (order.get(r["kind"], len(order)), r["kind"], -r["version"]))
    return tuple(shown(r, case["code"]) for r in found)


def list(app: App, actor: Actor, case_code: str) -> Sequence[dict[str, Any]]:
    """Every uploaded version of the case's documents the reader may see (404/403 else)."""
    case = _case_for_reader(app, actor, case_code)
    with app.db.connect() as conn:
        return versions_of(conn, case)


def open(app: App, actor: Actor, case_code: str, kind: str,
         version: int | None = None) -> tuple[dict[str, Any], bytes]:
    """One version (``None``: the latest) and its bytes, once they are found to be the bytes
    uploaded (their SHA-256 recomputed): 409 when the file was changed or removed since."""
    case = _case_for_reader(app, actor, case_code)
    with app.db.connect() as conn:
        row = rows.one(conn, case["id"], kind, version)
    if row is None:
        raise NotFound("document_not_found", case=case_code, documents=kind,
                       number=version if version is not None else "—")
    data: bytes | None = None
    if SHA256.match(row["sha256"]):
        with contextlib.suppress(OSError):
            data = _path(Path(app.settings.documents_dir), row["sha256"]).read_bytes()
    if data is None or hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise Conflict("document_altered", case=case_code, documents=kind,
                       number=row["version"])
    return shown(row, case_code), data
