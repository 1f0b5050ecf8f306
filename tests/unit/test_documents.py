"""Dossier documents through the service (``workflow.documents``): upload, list, download and
replace; each upload an audit entry with its SHA-256; bad files refused with nothing stored;
``submit``/``resubmit`` waiting for the required kinds; who may read and upload."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support import World, make_app, record_intact
from tests.unit.lifecycle_support import assert_one_sentence, snapshot
from workflow import documents
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.errors import (
    BodyTooLarge,
    Conflict,
    Forbidden,
    GuardFailed,
    InvalidInput,
    NotFound,
    OcopError,
    WrongState,
)
from workflow.store import queries
from workflow.store.db import write_transaction
from workflow.store.schema import audit_entries
from workflow.store.schema import documents as document_rows

PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
       b"%%EOF\n")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
HTML_PDF = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
PDF_HEAD_HTML = b"%PDF-1.7\n<html><body><script>alert(1)</script></body></html>\n"
REQUIRED_1489 = ("registration_form", "business_plan", "product_standard", "product_story")


@pytest.fixture
def app(clock: FixedClock) -> Iterator[App]:
    """The catalogue's required kinds (the real default) and a 1 MB limit."""
    made = make_app("sqlite://", clock, required_documents=None, document_max_mb=1)
    yield made
    made.close()


@pytest.fixture
def world(app: App) -> World:
    return World(app)


def stored_files(app: App) -> list[Path]:
    return sorted(p for p in Path(app.settings.documents_dir).rglob("*") if p.is_file())


def document_count(app: App) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(document_rows)).scalar_one())


def upload(world: World, code: str, kind: str, data: bytes = PDF, who: str = "producer1",
           name: str = "dossier.pdf") -> dict[str, Any]:
    return documents.add(world.app, world.actors[who], code, kind, name, data)


def nothing_stored(world: World, code: str, act: Any) -> OcopError:
    """Run a refused upload: no row, no file, the case (version, audit chain) unchanged."""
    before, files, rows = snapshot(world.app, code), stored_files(world.app), \
        document_count(world.app)
    with pytest.raises(OcopError) as caught:
        act()
    assert snapshot(world.app, code) == before
    assert stored_files(world.app) == files
    assert document_count(world.app) == rows
    assert_one_sentence(caught.value.message)
    record_intact(world.app)
    return caught.value


def test_upload_list_download_and_replace(world: World) -> None:
    """An upload is stored under its SHA-256, listed and read back byte for byte; the same kind
    again is version 2, and both versions stay readable."""
    code = world.register()
    first = upload(world, code, "registration_form", PDF, name="Phiếu đăng ký.pdf")
    assert (first["kind"], first["version"], first["media_type"], first["size"],
            first["filename"]) == ("registration_form", 1, "application/pdf", len(PDF),
                                   "Phiếu đăng ký.pdf")
    sha = hashlib.sha256(PDF).hexdigest()
    assert first["sha256"] == sha
    assert stored_files(world.app) == [Path(world.app.settings.documents_dir) / sha[:2] / sha]
    second = upload(world, code, "registration_form", PNG, name="scan.png")
    assert (second["version"], second["media_type"]) == (2, "image/png")
    listed = documents.list(world.app, world.actors["producer1"], code)
    assert [(r["kind"], r["version"]) for r in listed] == [("registration_form", 2),
                                                           ("registration_form", 1)]
    assert documents.open(world.app, world.actors["producer1"], code,
                          "registration_form")[1] == PNG
    row, data = documents.open(world.app, world.actors["commune1"], code, "registration_form",
                               1)
    assert (row["version"], data) == (1, PDF)
    record_intact(world.app)


def test_each_upload_is_an_audit_entry_with_its_sha256_and_moves_the_case_version(
        world: World) -> None:
    """The entry names the document and its digest; the case keeps its state, its version
    moves on (ETags change); ``ocop audit verify`` stays clean."""
    code = world.register()
    with world.app.db.connect() as conn:
        version_before = queries.case_view(conn, code, world.app.settings.public_url)["version"]
    row = upload(world, code, "business_plan", JPEG, name="plan.jpg")
    with world.app.db.connect() as conn:
        view = queries.case_view(conn, code, world.app.settings.public_url)
        entry = conn.execute(select(audit_entries).where(
            audit_entries.c.seq == row["audit_seq"],
            audit_entries.c.case_id == select(document_rows.c.case_id).scalar_subquery())
        ).one()
    assert view["version"] == version_before + 1 and view["state"] == "draft"
    assert (entry.trigger, entry.from_state, entry.to_state, entry.actor) == (
        "upload_document", "draft", "draft", "producer1")
    assert f'"sha256":"{hashlib.sha256(JPEG).hexdigest()}"' in entry.data
    assert view["history"][-1]["trigger"] == "upload_document"
    record_intact(world.app, code)


def test_identical_bytes_are_kept_once(world: World) -> None:
    """Two cases uploading the same file share one file on disk, and each row reads it."""
    one, two = world.register(), world.register(product="Tương nếp")
    upload(world, one, "registration_form")
    upload(world, two, "product_standard")
    assert len(stored_files(world.app)) == 1
    assert documents.open(world.app, world.actors["producer1"], two, "product_standard")[1] == PDF


@pytest.mark.parametrize(("data", "name", "error", "said"), [
    (b"just some notes\n", "notes.txt", InvalidInput, "not a PDF, JPEG or PNG"),
    (GIF, "photo.gif", InvalidInput, "image/gif"),
    (b"", "empty.pdf", InvalidInput, "is empty"),
    (HTML_PDF, "really-html.pdf", InvalidInput, "not a PDF, JPEG or PNG"),
    (PDF_HEAD_HTML, "html-in-pdf.pdf", InvalidInput, "not a whole PDF"),
    (b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n", "big.pdf", BodyTooLarge,
     "over the limit of 1 MB"),
])
def test_a_bad_file_is_refused_and_nothing_is_stored(
        world: World, data: bytes, name: str, error: type[OcopError], said: str) -> None:
    """Wrong type, empty, a "PDF" that is HTML, too big: a clear refusal; no row, no file,
    the case and its audit chain as they were."""
    code = world.register()
    refused = nothing_stored(world, code, lambda: upload(world, code, "registration_form",
                                                         data, name=name))
    assert type(refused) is error
    assert said in refused.message and name in refused.message


def test_an_unknown_kind_is_refused_listing_the_kinds_with_their_labels(world: World) -> None:
    """A kind the rule version does not take: refused, naming each kind it takes in words
    (both languages) and as typed; 1048 takes no trademark licence."""
    code = world.register()
    refused = nothing_stored(world, code, lambda: upload(world, code, "passport"))
    assert type(refused) is InvalidInput
    assert "“Product story”" in refused.message and "product_story" in refused.message
    assert "“Câu chuyện sản phẩm”" in refused.text("vi")
    old = world.register(rules="1048")
    refused = nothing_stored(world, old, lambda: upload(world, old, "trademark_licence"))
    assert "trademark_licence" not in str(refused.params["kind_codes"])


def test_the_stored_name_is_a_safe_base_name() -> None:
    """Folders, control characters and shell or header metacharacters are removed; the
    Vietnamese letters stay; nothing left gives the kind's name."""
    assert documents.safe_filename("../../etc/passwd", "other", "application/pdf") == "passwd"
    assert documents.safe_filename("C:\\Users\\a\\Bản vẽ.pdf", "other",
                                   "application/pdf") == "Bản vẽ.pdf"
    assert documents.safe_filename('a"; rm -rf *\r\n.png', "other",
                                   "image/png") == "a__ rm -rf _ .png"
    assert documents.safe_filename("...", "label_photos", "image/jpeg") == "label_photos.jpg"
    assert documents.safe_filename(None, "other", "image/png") == "other.png"
    long = documents.safe_filename("x" * 300 + ".pdf", "other", "application/pdf")
    assert len(long) == documents.NAME_LIMIT and long.endswith(".pdf")


def test_submit_waits_for_the_required_kinds_then_goes(world: World) -> None:
    """With the catalogue's default, submit is refused naming the kinds not yet uploaded;
    once they are, it is accepted."""
    code = world.register()
    for kind in REQUIRED_1489[:2]:
        upload(world, code, kind)
    with pytest.raises(GuardFailed) as caught:
        world.fire(code, "submit", "producer1")
    assert caught.value.code == "dossier_incomplete"
    assert "Product standard" in caught.value.message and "Product story" in caught.value.message
    assert "Business plan" not in caught.value.message
    for kind in REQUIRED_1489[2:]:
        upload(world, code, kind)
    assert world.fire(code, "submit", "producer1").to_state == "registered"
    record_intact(world.app)


def test_resubmit_waits_for_the_required_kinds(tmp_path: Path, clock: FixedClock) -> None:
    """A case sent back for completion (submitted under a setting that asked for nothing) is
    resubmitted only once the catalogue's kinds are uploaded; the producer may upload while it
    waits, and ``resubmit`` then goes."""
    url, folder = f"sqlite:///{tmp_path / 'ocop.db'}", str(tmp_path / "documents")
    lenient = make_app(url, clock, documents_dir=folder)
    world = World(lenient)
    code = world.register()
    world.fire(code, "submit", "producer1")
    world.fire(code, "start_review", "commune1")
    world.fire(code, "request_completion", "commune1", {"days": 10}, reason="label missing")
    lenient.close()
    strict = make_app(url, clock, documents_dir=folder, required_documents=None)
    world.app, world.app.engine = strict, strict.engine
    with pytest.raises(GuardFailed) as caught:
        world.fire(code, "resubmit", "producer1")
    assert caught.value.code == "dossier_incomplete"
    for kind in REQUIRED_1489:
        upload(world, code, kind)
    assert world.fire(code, "resubmit", "producer1").to_state == "commune_prescore"
    record_intact(strict)
    strict.close()


def test_another_producer_gets_not_found_and_an_officer_out_of_scope_forbidden(
        world: World) -> None:
    """Reading follows case scope: producer2 learns nothing (the 404 of a missing case); the
    Hà Đông officer is told they may not (403); uploads are refused the same way."""
    code = world.register()
    upload(world, code, "registration_form")
    for act in (lambda who: documents.list(world.app, world.actors[who], code),
                lambda who: documents.open(world.app, world.actors[who], code,
                                           "registration_form")):
        with pytest.raises(NotFound) as missing:
            act("producer2")
        assert missing.value.code == "case_not_found"
        with pytest.raises(Forbidden):
            act("commune2")
    assert type(nothing_stored(world, code, lambda: upload(world, code, "other",
                                                           who="producer2"))) is NotFound
    assert type(nothing_stored(world, code, lambda: upload(world, code, "other",
                                                           who="commune2"))) is Forbidden
    assert type(nothing_stored(world, code, lambda: upload(world, code, "other",
                                                           who="supervisor"))) is Forbidden
    assert [r["kind"] for r in documents.list(world.app, world.actors["supervisor"], code)] == [
        "registration_form"]


def test_who_may_upload_when(world: World) -> None:
    """The producer uploads while the case is being put together, not once it is under
    review; the commune's officer may then; nobody uploads to a closed case."""
    code = world.register(product="Nước mắm")
    for kind in REQUIRED_1489:
        upload(world, code, kind)
    world.fire(code, "submit", "producer1")
    refused = nothing_stored(world, code, lambda: upload(world, code, "test_report"))
    assert type(refused) is WrongState and "Draft" in refused.message
    assert upload(world, code, "test_report", who="commune1")["version"] == 1
    world.fire(code, "withdraw", "producer1", reason="not this year")
    refused = nothing_stored(world, code, lambda: upload(world, code, "other", who="commune1"))
    assert type(refused) is WrongState and refused.code == "document_case_closed"


def test_a_file_changed_on_disk_is_refused_on_read(world: World) -> None:
    """The bytes are hashed again on every read: a file edited or removed on the server is
    refused (409) rather than served as the uploaded document."""
    code = world.register()
    row = upload(world, code, "registration_form")
    path = Path(world.app.settings.documents_dir) / row["sha256"][:2] / row["sha256"]
    path.write_bytes(PDF.replace(b"Catalog", b"Catalos"))
    with pytest.raises(Conflict) as caught:
        documents.open(world.app, world.actors["producer1"], code, "registration_form")
    assert "SHA-256" in caught.value.message
    path.unlink()
    with pytest.raises(Conflict):
        documents.open(world.app, world.actors["producer1"], code, "registration_form")
    with pytest.raises(NotFound):
        documents.open(world.app, world.actors["producer1"], code, "business_plan")


def test_the_kinds_of_each_rule_version_have_words_in_both_languages(app: App) -> None:
    """Every kind of every version has its vi and en words; 1489 requires the story."""
    for version in ("1048", "148", "1489"):
        for kind in documents.kinds_of(app, version):
            assert kind.vi != kind.code and kind.en != kind.code and kind.vi != kind.en
    required = [k.code for k in documents.kinds_of(app, "1489") if k.required]
    assert required == [*REQUIRED_1489]


def test_a_commit_that_fails_after_the_file_leaves_neither_file_nor_row(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The transaction failing once the bytes are on disk (the commit refused): the row rolls
    back and the file just written is removed; bytes another row keeps are not."""
    code = world.register()
    kept = upload(world, code, "business_plan", PNG)

    @contextmanager
    def failing_commit(db: Any) -> Iterator[Any]:
        with write_transaction(db) as conn:
            yield conn
            raise RuntimeError("the commit was refused")

    monkeypatch.setattr(documents, "write_transaction", failing_commit)
    before = snapshot(world.app, code)
    for data in (PDF, PNG):
        with pytest.raises(RuntimeError):
            upload(world, code, "registration_form", data)
    sha = kept["sha256"]
    assert stored_files(world.app) == [Path(world.app.settings.documents_dir) / sha[:2] / sha]
    assert snapshot(world.app, code) == before and document_count(world.app) == 1
    record_intact(world.app)
