"""The certificate as a signed PDF (``GET /certificates/{number}.pdf``, ``ocop certificates
pdf``), on PostgreSQL: Vietnamese text extracted back, the QR code's exact modules, the
signature valid and broken by one changed byte, the stamp on a revoked certificate, 404 for an
unknown number and 409 for a record that fails the authenticity check."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pypdf
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import update

from tests.api_support import TestClient, client
from tests.conftest import require
from tests.integration.cli_support import CurrentStderr
from tests.support import TEST_SIGNING_KEY, World, make_app, pg_database
from tests.unit.lifecycle_support import Driver, certs
from workflow import certificate_pdf, logs
from workflow.bootstrap import App
from workflow.cli import cli
from workflow.cli.base import run_cli
from workflow.clock import iso
from workflow.errors import NotFound, status_of
from workflow.i18n import text
from workflow.store.db import write_transaction
from workflow.store.schema import certificates

pytestmark = pytest.mark.postgres
NOT_FOUND = status_of(NotFound("certificate_not_found"))[0]  # the CLI's exit code


@dataclass
class Setting:
    url: str
    app: App
    world: World
    number: str  # a valid 4★ certificate (rule version 1489)
    revoked: str  # the certificate of a case taken on to ``revoked``
    api: TestClient


@pytest.fixture(scope="module")
def setting() -> Iterator[Setting]:
    require("postgres")
    with pg_database() as url:
        app = make_app(url)
        try:
            world = World(app)
            driver = Driver(world)
            number = certs(world, driver.reach("1489", "certified"))[-1]["number"]
            revoked = certs(world, driver.reach("1489", "revoked"))[-1]["number"]
            with client(app) as api:
                yield Setting(url, app, world, number, revoked, api)
        finally:
            app.close()


def page_text(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def signature_status(app: App, pdf: bytes) -> tuple[bool, bool, bool, bool]:
    """(intact, valid, trusted, bottom line) of the PDF's one signature, the office's PDF
    certificate the only trust root: intact, the signed bytes' digest matches; valid, the
    signature over it; trusted, the signer's certificate chains to the root."""
    root = asn1_x509.Certificate.load(
        certificate_pdf.pdf_key(app.keys).certificate.public_bytes(Encoding.DER))
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    status = validate_pdf_signature(reader.embedded_signatures[0],
                                    ValidationContext(trust_roots=[root]))
    return status.intact, status.valid, status.trusted, status.bottom_line


def test_the_pdf_states_the_certificate_in_vietnamese(setting: Setting) -> None:
    pdf = certificate_pdf.render(setting.app, setting.number)
    assert pdf.startswith(b"%PDF-")
    words = page_text(pdf)
    facts = certificate_pdf.facts(setting.app, setting.number)
    assert facts["product"] in words and facts["product"]  # e.g. "Tương bần"
    assert "HTX Tương Cự Đà" in words
    assert setting.number in words
    assert "★" * facts["stars"] in words and facts["stars"] == 4
    for code in ("pdf_title", "pdf_producer", "pdf_valid_to"):
        assert text("ui", code, "vi") in words
    assert "Thực phẩm" in words  # the product group's label
    assert "01/09/2025" in words  # issued on the test clock's day, Vietnamese date format
    assert "ĐÃ BỊ THU HỒI" not in words  # a valid certificate carries no stamp
    resources: Any = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    fonts = list(resources["/Font"].values())
    descriptors = [f.get_object()["/FontDescriptor"] for f in fonts
                   if "/FontDescriptor" in f.get_object()]
    assert descriptors and all("/FontFile2" in d for d in descriptors)  # embedded TrueType
    assert any("DejaVuSans" in str(f.get_object()["/BaseFont"]) for f in fonts)


def test_its_qr_code_is_exactly_the_verify_url(setting: Setting) -> None:
    """No pure-Python QR decoder on PyPI reads an image, so the test compares the embedded
    image module by module with segno's code of the verification page's address."""
    url = certificate_pdf.verify_url(setting.app, setting.number)
    assert url == f"http://127.0.0.1:8000/verify/{setting.number}"
    code = certificate_pdf.qr_code(url)
    assert code.designator  # a real QR code, not a Micro QR
    pdf = certificate_pdf.render(setting.app, setting.number)
    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) == 1
    image = images[0].image
    assert image is not None
    grey = image.convert("L")
    border = 4
    size = len(code.matrix)
    assert grey.size == (size + 2 * border, size + 2 * border)  # one pixel per module
    pixels = grey.load()
    assert pixels is not None
    got = [[int(pixels[x + border, y + border] < 128) for x in range(size)]  # type: ignore[operator]
           for y in range(size)]
    assert got == [list(row) for row in code.matrix]
    other = certificate_pdf.qr_code(url + "x")
    assert [list(row) for row in other.matrix] != got


def test_the_signature_validates_and_one_changed_byte_breaks_it(setting: Setting) -> None:
    pdf = certificate_pdf.render(setting.app, setting.number)
    assert signature_status(setting.app, pdf) == (True, True, True, True)
    at = pdf.index(b"ReportLab")  # the producer's name in the signed document information
    changed = pdf[:at] + b"Q" + pdf[at + 1:]
    assert len(changed) == len(pdf)
    intact, _, _, bottom_line = signature_status(setting.app, changed)
    assert not intact and not bottom_line


def test_the_pdf_key_is_kept_beside_the_signing_key(setting: Setting) -> None:
    assert setting.app.keys.path == TEST_SIGNING_KEY
    path = Path(TEST_SIGNING_KEY + ".pdf.pem")
    certificate_pdf.render(setting.app, setting.number)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert b"-----BEGIN PRIVATE KEY-----" in content and b"-----BEGIN CERTIFICATE-----" in content
    again = certificate_pdf.pdf_key(setting.app.keys)
    assert again.certificate == certificate_pdf.read_pdf_key(path).certificate


def test_the_pdf_states_the_decision_and_a_pending_one_is_stamped(setting: Setting) -> None:
    """The decision behind a certificate is printed (number, date, body); a certificate still
    awaiting its decision says it is not in force and is stamped so, signed all the same."""
    words = page_text(certificate_pdf.render(setting.app, setting.number))
    facts = certificate_pdf.facts(setting.app, setting.number)
    assert facts["decision_no"] and facts["decision_no"] in words
    assert "UBND thành phố Hà Nội" in words
    world = setting.world
    pending = certs(world, Driver(world).reach("1489", "certified", pending=True))[-1]
    assert pending["status"] == "pending"
    pdf = certificate_pdf.render(setting.app, pending["number"])
    words = page_text(pdf)
    assert "CHỜ QUYẾT ĐỊNH" in words and text("ui", "pdf_pending_decision", "vi") in words
    assert signature_status(setting.app, pdf) == (True, True, True, True)


def test_a_revoked_certificate_is_stamped(setting: Setting) -> None:
    pdf = certificate_pdf.render(setting.app, setting.revoked)
    assert "ĐÃ BỊ THU HỒI" in page_text(pdf)
    assert signature_status(setting.app, pdf) == (True, True, True, True)
    english = certificate_pdf.render(setting.app, setting.revoked, "en")
    assert "REVOKED" in page_text(english)


def test_the_api_serves_the_pdf_and_404s_an_unknown_number(setting: Setting) -> None:
    answer = setting.api.get(f"/certificates/{setting.number}.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'inline; filename="ocop-{setting.number}.pdf"')
    assert answer.content.startswith(b"%PDF-")
    assert setting.number in page_text(answer.content)
    assert signature_status(setting.app, answer.content) == (True, True, True, True)

    page = setting.api.get("/certificates/HN-NOPE-1.pdf")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "HN-NOPE-1" in page.text
    problem = setting.api.get("/certificates/HN-NOPE-1.pdf",
                              headers={"Accept": "application/json"})
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")
    verify = setting.api.get("/verify/HN-NOPE-1", headers={"Accept": "application/json"})
    assert problem.json()["detail"] == verify.json()["detail"]


def test_the_cli_writes_the_same_kind_of_pdf(setting: Setting, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=CurrentStderr()))
    monkeypatch.setenv("OCOP_DATABASE_URL", setting.url)
    monkeypatch.setenv("OCOP_SIGNING_KEY", TEST_SIGNING_KEY)
    monkeypatch.setenv("OCOP_HOME", str(tmp_path))
    monkeypatch.setenv("OCOP_SIMULATION", "1")
    monkeypatch.setenv("OCOP_NOW", iso(setting.world.clock.now()) or "")
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    out = tmp_path / "cert.pdf"
    capsys.readouterr()
    assert run_cli(cli, ["certificates", "pdf", setting.number, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    from_cli = out.read_bytes()
    from_api = setting.api.get(f"/certificates/{setting.number}.pdf").content
    assert type(from_cli) is type(from_api) is bytes
    assert from_cli.startswith(b"%PDF-") and from_api.startswith(b"%PDF-")
    assert page_text(from_cli) == page_text(from_api)
    assert signature_status(setting.app, from_cli) == (True, True, True, True)

    unknown = tmp_path / "unknown.pdf"
    assert run_cli(cli, ["certificates", "pdf", "HN-NOPE-1", "--out", str(unknown)]) == NOT_FOUND
    err = capsys.readouterr().err
    assert "HN-NOPE-1" in err and len(err.strip().splitlines()) == 1
    assert not unknown.exists()


def test_a_record_that_fails_the_authenticity_check_gets_no_pdf(setting: Setting) -> None:
    """A certificate row edited in the database (its stars raised) no longer matches its
    signature: 409 with a sentence, and no PDF."""
    number = certs(setting.world, Driver(setting.world).reach("1489", "certified"))[-1]["number"]
    with write_transaction(setting.app.db) as conn:
        conn.execute(update(certificates).where(certificates.c.number == number)
                     .values(stars=5))
    answer = setting.api.get(f"/certificates/{number}.pdf")
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert number in answer.json()["detail"]
    assert not answer.content.startswith(b"%PDF-")
