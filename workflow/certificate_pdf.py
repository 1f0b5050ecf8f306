"""The certificate as a signed PDF: an A4 page in Vietnamese (or English), then signed.

``render(app, number)`` draws the certificate with ReportLab (BSD; a plain canvas, no HTML
engine and no system libraries to install) in DejaVu Sans, embedded, so Vietnamese diacritics
and the ★ print on any reader. A QR code (segno) opens ``{OCOP_PUBLIC_URL}/verify/{number}``.
A superseded, revoked or expired certificate, or one still pending its decision, carries a
large stamp saying so.

The page is then **signed** with pyHanko as a certification signature (no changes allowed):
a PDF reader shows the signature, and any edit to the signed bytes breaks it. PDF readers
rarely verify Ed25519 (ISO 32002 is recent), so the PDF is signed with an ECDSA P-256 key kept
beside the office's signing key, ``<OCOP_SIGNING_KEY>.pdf.pem`` (the key and its self-signed
X.509 certificate, mode 0600, made on first use and created exclusively like
``seal.load_or_create``). The certificate names the office key's fingerprint, so it is tied to
the key ``ocop keys show`` publishes. Only a certificate whose record is authentic
(``integrity.check_one`` finds nothing) gets a PDF.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import segno
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from workflow.bootstrap import App
from workflow.clock import local
from workflow.errors import Conflict
from workflow.i18n import label, text
from workflow.store import integrity, queries, seal
from workflow.store.db import read_snapshot
from workflow.store.schema import cases

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)  # Debian's fonts-dejavu-core
STAMPED = ("superseded", "revoked", "expired", "pending")
_fonts_lock = threading.Lock()
_keys_lock = threading.Lock()
_in_memory: dict[str, PdfKey] = {}  # an office key with no file (tests): one PDF key each


def font_files() -> tuple[Path, Path]:
    """DejaVu Sans and DejaVu Sans Bold: Debian's, else matplotlib's copy if it is installed."""
    dirs = list(FONT_DIRS)
    try:
        import matplotlib  # optional: only where Debian's fonts are absent

        dirs.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:
        pass
    for folder in dirs:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise FileNotFoundError("DejaVu Sans not found: install Debian's fonts-dejavu-core")


def register_fonts() -> None:
    with _fonts_lock:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return
        regular, bold = font_files()
        pdfmetrics.registerFont(TTFont(FONT, str(regular)))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))


# --- the facts printed ------------------------------------------------------------------------


def facts(app: App, number: str) -> dict[str, Any]:
    """The certificate's fields, its group and its status today; ``Conflict`` when its record
    is not authentic (``NotFound`` for an unknown number)."""
    with read_snapshot(app.db) as conn:
        cert = queries.certificate_by_number(conn, number)
        group = conn.execute(select(cases.c.product_group)
                             .where(cases.c.id == cert["case_id"])).scalar_one()
        problem = integrity.check_one(conn, app.keys, cert["case_id"])
    if problem is not None:
        raise Conflict("certificate_not_authentic", number=cert["number"])
    today = local(app.clock.now()).date()
    status = cert["status"]
    start = cert["decision_date"] or cert["issued_on"]
    if status == "valid" and not (cert["valid_to"] and start <= today <= cert["valid_to"]):
        status = "expired"
    return {**cert, "product_group": group, "status_today": status, "today": today}


def verify_url(app: App, number: str) -> str:
    return f"{app.settings.public_url.rstrip('/')}/verify/{quote(number)}"


def qr_code(url: str) -> segno.QRCode:
    """The QR code printed on the certificate (the test encodes the same way)."""
    return segno.make(url, error="m")


def _day(value: date, lang: str) -> str:
    return value.strftime("%d/%m/%Y" if lang == "vi" else "%d %b %Y")


def _t(code: str, lang: str, **params: Any) -> str:
    return text("ui", code, lang, **params)


# --- drawing ----------------------------------------------------------------------------------

INK = HexColor("#1a2a44")
RED = HexColor("#b3261e")


def draw(app: App, cert: dict[str, Any], lang: str = "vi") -> bytes:
    """The unsigned PDF of one certificate."""
    register_fonts()
    out = io.BytesIO()
    width, height = A4
    c = Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle(f"{_t('pdf_title', lang)} {cert['number']}")
    c.setAuthor(_t("pdf_issuer", lang))
    c.setSubject(cert["product"])
    c.setLineWidth(2)
    c.setStrokeColor(INK)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setLineWidth(0.6)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)

    c.setFillColor(INK)
    y = height - 32 * mm
    for line, size in ((_t("pdf_nation", lang), 11), (_t("pdf_motto", lang), 10)):
        c.setFont(FONT_BOLD, size)
        c.drawCentredString(width / 2, y, line)
        y -= 6 * mm
    y -= 10 * mm
    c.setFont(FONT_BOLD, 22)
    c.drawCentredString(width / 2, y, _t("pdf_title", lang))
    y -= 9 * mm
    c.setFont(FONT, 12)
    c.drawCentredString(width / 2, y, _t("pdf_subtitle", lang))
    y -= 14 * mm

    c.setFont(FONT_BOLD, 18)
    for line in simpleSplit(cert["product"], FONT_BOLD, 18, width - 50 * mm):
        c.drawCentredString(width / 2, y, line)
        y -= 8 * mm
    c.setFont(FONT, 40)
    c.setFillColor(HexColor("#c99a06"))
    c.drawCentredString(width / 2, y - 10 * mm, "★" * int(cert["stars"]))
    c.setFillColor(INK)
    y -= 24 * mm

    rows = [
        ("pdf_producer", cert["producer"]),
        ("pdf_group", label("group", cert["product_group"], lang)),
        ("pdf_stars", _t("pdf_stars_value", lang, stars=cert["stars"])),
        ("pdf_level", label("level", cert["level"], lang)),
        ("pdf_rule_version", cert["rule_version"]),
        ("pdf_number", cert["number"]),
        ("pdf_issued_on", _day(cert["issued_on"], lang)),
        ("pdf_valid_to", _day(cert["valid_to"], lang) if cert["valid_to"]
         else _t("pdf_pending_decision", lang)),
    ]
    if cert.get("decision_no"):
        rows.append(("pdf_decision", cert["decision_no"]))
    if cert.get("decision_date"):
        rows.append(("pdf_decision_date", _day(cert["decision_date"], lang)))
    if cert.get("decision_body"):
        rows.append(("pdf_decision_body", cert["decision_body"]))
    left, value_x = 30 * mm, 80 * mm
    for code, value in rows:
        c.setFont(FONT, 11)
        c.drawString(left, y, _t(code, lang))
        c.setFont(FONT_BOLD, 11)
        lines = simpleSplit(str(value), FONT_BOLD, 11, width - value_x - 30 * mm) or [""]
        for line in lines:
            c.drawString(value_x, y, line)
            y -= 6 * mm
        y -= 1.5 * mm

    url = verify_url(app, cert["number"])
    png = io.BytesIO()
    qr_code(url).save(png, kind="png", scale=1, border=4)  # one pixel per module: exact
    size = 42 * mm
    c.drawImage(ImageReader(io.BytesIO(png.getvalue())), width - 30 * mm - size, 24 * mm,
                size, size)
    c.setFont(FONT, 9)
    statement = _t("pdf_authenticity", lang, url=url, fingerprint=app.keys.fingerprint)
    ty = 24 * mm + size - 4 * mm
    for line in simpleSplit(statement, FONT, 9, width - 60 * mm - size):
        c.drawString(30 * mm, ty, line)
        ty -= 4.5 * mm

    if cert["status_today"] in STAMPED:
        _stamp(c, _t(f"pdf_stamp_{cert['status_today']}", lang))
    c.showPage()
    c.save()
    return out.getvalue()


def _stamp(c: Canvas, words: str) -> None:
    width, height = A4
    c.saveState()
    c.translate(width / 2, height / 2)
    c.rotate(35)
    size = 54.0
    while pdfmetrics.stringWidth(words, FONT_BOLD, size) > width * 0.95 and size > 20:
        size -= 2
    c.setFillColor(Color(RED.red, RED.green, RED.blue, alpha=0.55))
    c.setStrokeColor(Color(RED.red, RED.green, RED.blue, alpha=0.55))
    c.setFont(FONT_BOLD, size)
    c.drawCentredString(0, -size / 3, words)
    text_width = pdfmetrics.stringWidth(words, FONT_BOLD, size)
    c.setLineWidth(4)
    c.rect(-text_width / 2 - 8 * mm, -size / 3 - 6 * mm, text_width + 16 * mm, size + 8 * mm)
    c.restoreState()


# --- signing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfKey:
    """The ECDSA P-256 key the PDFs are signed with, and its self-signed certificate."""

    private: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()) + self.certificate.public_bytes(
            serialization.Encoding.PEM)

    def signer(self) -> signers.SimpleSigner:
        cert = asn1_x509.Certificate.load(
            self.certificate.public_bytes(serialization.Encoding.DER))
        key = asn1_keys.PrivateKeyInfo.load(self.private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return signers.SimpleSigner(signing_cert=cert, signing_key=key,
                                    cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                                        [cert]))


def new_pdf_key(office: seal.Keys) -> PdfKey:
    """A P-256 key and a self-signed certificate naming the office key's fingerprint."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, text("ui", "pdf_issuer", "vi")),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OCOP"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, office.fingerprint),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
    ])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * 30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()),
                           critical=False)
            .sign(private, hashes.SHA256()))
    return PdfKey(private, cert)


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\r?\n?", re.S)


def read_pdf_key(path: Path) -> PdfKey:
    blocks = {m.group(1): m.group(0) for m in _PEM_BLOCK.finditer(path.read_bytes())}
    private = serialization.load_pem_private_key(blocks[b"PRIVATE KEY"], password=None)
    cert = x509.load_pem_x509_certificate(blocks[b"CERTIFICATE"])
    if not isinstance(private, ec.EllipticCurvePrivateKey) or \
            cert.public_key() != private.public_key():
        raise ValueError(f"{path} does not hold a P-256 key and its certificate")
    return PdfKey(private, cert)


def pdf_key_path(office: seal.Keys) -> Path | None:
    return Path(office.path + ".pdf.pem") if office.path else None


def pdf_key(office: seal.Keys) -> PdfKey:
    """The PDF signing key beside the office key, made there first if there is none (written
    whole to a temporary file, then linked into place: two processes agree, as with
    ``seal.load_or_create``). An office key with no file gets one kept in memory."""
    path = pdf_key_path(office)
    if path is None:
        with _keys_lock:
            if office.fingerprint not in _in_memory:
                _in_memory[office.fingerprint] = new_pdf_key(office)
            return _in_memory[office.fingerprint]
    if path.exists():
        return read_pdf_key(path)
    made = new_pdf_key(office)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".pdf-key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(made.pem())
            out.flush()
            os.fsync(out.fileno())
        os.link(temp, path)  # exclusive: fails if another process made it first
    except FileExistsError:
        return read_pdf_key(path)
    finally:
        os.unlink(temp)
    return made


def sign(app: App, pdf: bytes, lang: str = "vi") -> bytes:
    """``pdf`` with a certification signature by the office's PDF key (no changes allowed)."""
    meta = signers.PdfSignatureMetadata(
        field_name="OCOP", md_algorithm="sha256", certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES, reason=_t("pdf_sign_reason", lang),
        location=_t("pdf_sign_location", lang), name=_t("pdf_issuer", lang))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, meta, signer=pdf_key(app.keys).signer())
    return bytes(out.getvalue())


def render(app: App, number: str, lang: str = "vi") -> bytes:
    """The signed PDF of certificate ``number``."""
    return sign(app, draw(app, facts(app, number), lang), lang)


__all__ = ["facts", "pdf_key", "qr_code", "render", "verify_url"]
