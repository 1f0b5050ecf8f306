"""The office's signing key, kept outside the database, and what it protects inside it.

A hash chain alone stops nobody who can write to the database: they rehash what they change.
So the record carries three marks only the holder of the key file can make:

- each case row's **seal**, an HMAC of its chain's length and head (``seal``): an entry
  edited, inserted or appended with the chain rehashed no longer matches it;
- each certificate's **signature**, Ed25519 over the fields it states (``certificate_payload``):
  anyone with the public key can check a certificate, and a row inserted by hand has none;
- the **checkpoints** (``workflow.store.checkpoint``), signed files outside the database that
  pin every chain's length and head: deleting entries or a whole case shows against them.

The key is an Ed25519 private key in PKCS#8 PEM (``ocop keys init``; ``OCOP_SIGNING_KEY``, by
default ``$OCOP_HOME/signing.key``). The seal's HMAC key is derived from it, so one file is
all there is to keep. ``attach`` ties the keys to a database engine (``bootstrap`` does it), so
the one writer of the chains (``history``) seals every head it moves without every caller
passing the key along.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import weakref
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import Connection, Engine, bindparam, select, update

from workflow.store.audit import canonical
from workflow.store.schema import cases, certificates, producers


@dataclass(frozen=True)
class Keys:
    """The signing key, its public half and the seal's HMAC key."""

    private: Ed25519PrivateKey
    path: str | None = None  # None: made in memory for this process (tests, embedding)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    @property
    def fingerprint(self) -> str:
        """The public key's SHA-256, first 16 hex characters: what a checkpoint names."""
        return hashlib.sha256(self.public_raw).hexdigest()[:16]

    @cached_property
    def mac_key(self) -> bytes:
        """Derived once per key: every write of a chain head seals with it."""
        raw = self.private.private_bytes(serialization.Encoding.Raw,
                                         serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption())
        return hashlib.sha256(b"ocop-audit-seal\n" + raw).digest()

    def derived(self, label: bytes) -> bytes:
        """A secret of its own for ``label`` (a use), derived from the signing key."""
        return hashlib.sha256(label + b"\n" + self.mac_key).digest()

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()

    def seal(self, code: str, seq: int, head: str) -> str:
        """The case row's seal over its chain's length and head."""
        return self._sealer(code, seq, head)

    @cached_property
    def _sealer(self) -> Sealer:
        return Sealer(self.mac_key)

    def sealer(self) -> Sealer:
        return self._sealer


class Sealer:
    """``Keys.seal`` with the HMAC key derived once: what a verify of 100,000 cases uses."""

    def __init__(self, mac_key: bytes) -> None:
        self._base = hmac.new(mac_key, digestmod=hashlib.sha256)

    def __call__(self, code: str, seq: int, head: str) -> str:
        mac = self._base.copy()
        mac.update(f"{code}\n{seq}\n{head}".encode())
        return mac.hexdigest()


def verify_signature(public_raw: bytes, message: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(base64.b64decode(signature),
                                                             message)
    except (InvalidSignature, ValueError):
        return False
    return True


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_new(path: Path) -> Keys:
    """Make a key and write it to ``path`` (mode 0600); refuses to replace an existing file."""
    private = generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return Keys(private, str(path))


def read(path: Path) -> Keys:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a key that is not Ed25519")
    return Keys(private, str(path))


def load_or_create(path: Path) -> tuple[Keys, bool]:
    """The key at ``path``, made there first if the file does not exist (True then). Two
    processes starting at once agree: the file is created exclusively, the loser reads it."""
    if path.exists():
        return read(path), False
    try:
        return write_new(path), True
    except FileExistsError:
        return read(path), False


_PROCESS_KEY: list[Keys] = []


def process_key() -> Keys:
    """One in-memory key per process, for apps built without a key file (tests, embedding):
    every app of the process seals alike; nothing outside it can check the marks."""
    if not _PROCESS_KEY:
        _PROCESS_KEY.append(Keys(generate()))
    return _PROCESS_KEY[0]


_ATTACHED: weakref.WeakKeyDictionary[Engine, Keys] = weakref.WeakKeyDictionary()


def attach(db: Engine, keys: Keys) -> None:
    _ATTACHED[db] = keys


def of(conn: Connection) -> Keys:
    """The keys ``bootstrap`` attached to this connection's engine."""
    keys = _ATTACHED.get(conn.engine)
    if keys is None:
        raise RuntimeError("no signing key is attached to this database engine: build the "
                           "app with workflow.bootstrap.bootstrap()")
    return keys


def certificate_payload(cert: dict[str, Any], case_code: str, product: str,
                        producer: str) -> bytes:
    """What a certificate's signature covers: every field printed on it."""
    def day(value: Any) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)
    fields = {
        "number": cert["number"], "case": case_code, "product": product, "producer": producer,
        "stars": cert["stars"], "level": cert["level"], "rule_version": cert["rule_version"],
        "issued_on": day(cert["issued_on"]), "valid_to": day(cert["valid_to"]),
        "decision_no": cert.get("decision_no"),
    }
    # The decision's date and body (migration 0005) where the certificate has them: a
    # certificate signed before they existed keeps the payload it was signed over.
    for key in ("decision_date", "decision_body"):
        if cert.get(key) is not None:
            fields[key] = day(cert[key])
    return canonical(fields).encode()


def backfill(conn: Connection, keys: Keys) -> tuple[int, int]:
    """Seal every case row without a seal and sign every certificate without a signature
    (migration 0004, for the rows that exist at the upgrade). Returns (cases, certificates)."""
    rows = conn.execute(select(cases.c.id, cases.c.code, cases.c.audit_seq, cases.c.audit_head)
                        .where(cases.c.audit_seal.is_(None))).all()
    if rows:
        conn.execute(update(cases).where(cases.c.id == bindparam("case_id"))
                     .values(audit_seal=bindparam("mark")),
                     [{"case_id": r.id, "mark": keys.seal(r.code, r.audit_seq, r.audit_head)}
                      for r in rows])
    # The columns a certificate had at migration 0004 (later ones do not exist yet there).
    c = certificates.c
    certs = conn.execute(
        select(c.id, c.case_id, c.number, c.stars, c.level, c.rule_version, c.issued_on,
               c.valid_to, c.status, c.decision_no, c.signature,
               cases.c.code.label("case_code"), cases.c.product,
               producers.c.name.label("producer"))
        .join(cases, cases.c.id == certificates.c.case_id)
        .join(producers, producers.c.id == cases.c.producer_id)
        .where(certificates.c.signature.is_(None))).all()
    if certs:
        conn.execute(update(certificates).where(certificates.c.id == bindparam("cert_id"))
                     .values(signature=bindparam("mark")),
                     [{"cert_id": c.id, "mark": keys.sign(certificate_payload(
                         dict(c._mapping), c.case_code, c.product, c.producer))}
                      for c in certs])
    return len(rows), len(certs)
