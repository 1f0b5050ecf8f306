"""Settings read from the environment once, in ``Settings.from_env``; nothing reads it at import."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

LEVELS = ("commune", "district", "city")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/ocop.db"
    broker_url: str | None = None
    smtp_url: str | None = None
    simulation: bool = False
    now: str | None = None
    min_score_sheets: int = 1
    central_threshold: float = 90.0
    # The document kinds ``submit``/``resubmit`` need uploaded; None: the rule version's
    # catalogue says (``states.documents``). OCOP_REQUIRED_DOCUMENTS=kind,kind (empty: none).
    required_documents: tuple[str, ...] | None = None
    # Each scoring event names its council (DOMAIN.md §9); OCOP_COUNCIL_REQUIRED=0 lifts it
    # for a transition period (sheets are then checked for duplicates and quorum only).
    council_required: bool = True
    # The least number of sheets per council level (OCOP_QUORUM_COMMUNE|DISTRICT|CITY; each
    # defaults to OCOP_MIN_SCORE_SHEETS).
    quorum: Mapping[str, int] = field(default_factory=dict)
    # Dossier documents: where their bytes are kept and how large one may be.
    documents_dir: str = "var/documents"
    document_max_mb: int = 20
    # How long a producer's invitation link may be used (OCOP_INVITATION_DAYS).
    invitation_days: int = 7
    escalate_again_after_days: int = 5
    # clock overrides: kind -> amount (working days or days as the lifecycle says)
    clock_overrides: Mapping[str, int] = field(default_factory=dict)
    public_url: str = "http://127.0.0.1:8000"
    # the workers (outbox relay, delivery, deadline sweep): see ``worker_settings``
    broker_folder: str = "var/broker"
    mail_folder: str = "var/mail"  # e-mail as .eml files when OCOP_SMTP_URL is unset
    mail_from: str = "OCOP Hà Nội <no-reply@ocop.example.vn>"
    supervisor_emails: tuple[str, ...] = ()  # escalation level 1, 2, … (the last repeats)
    city_officer_email: str | None = None
    outbox_lease_seconds: int = 60
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: int = 30
    sweep_interval: float = 60.0
    relay_interval: float = 15.0
    # The province whose units ``ocop units load`` loads by default (statistics code; 01 Hà Nội).
    province: str = "01"
    # Who acts at a district stage once the districts ended (2025-07-01): the successor
    # commune's officer or the city office (OCOP_DISTRICT_SUCCESSOR=commune|city).
    district_successor: str = "commune_officer"
    token_days: int = 180  # API tokens expire this many days after they are issued
    # Webhooks to loopback, private, link-local, … addresses (OCOP_WEBHOOK_ALLOW_PRIVATE=1)
    webhook_allow_private: bool = False
    # The office's Ed25519 key (``ocop keys init``), outside the database; None: a key made in
    # memory for this process (tests, embedding). From the environment: OCOP_SIGNING_KEY,
    # else $OCOP_HOME/signing.key.
    signing_key: str | None = None
    # Signed checkpoints of every chain (``ocop audit checkpoint``; beat, every interval).
    checkpoint_dir: str = "var/checkpoints"
    checkpoint_url: str | None = None  # also POSTed here when set
    checkpoint_interval: float = 3600.0

    def quorum_for(self, level: str) -> int:
        """The least number of sheets a council of ``level`` must hand in."""
        return int(self.quorum.get(level, self.min_score_sheets))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls()
        overrides: dict[str, int] = {}
        for key, value in env.items():
            if key.startswith("OCOP_DEADLINE_") and value.strip():
                overrides[key.removeprefix("OCOP_DEADLINE_").lower()] = int(value)
        docs = env.get("OCOP_REQUIRED_DOCUMENTS")
        min_sheets = int(env.get("OCOP_MIN_SCORE_SHEETS", settings.min_score_sheets))
        quorum = {level: int(env.get(f"OCOP_QUORUM_{level.upper()}") or min_sheets)
                  for level in LEVELS}
        return replace(
            settings,
            database_url=env.get("OCOP_DATABASE_URL") or default_sqlite_url(env),
            smtp_url=env.get("OCOP_SMTP_URL") or None,
            simulation=env.get("OCOP_SIMULATION", "") == "1",
            now=env.get("OCOP_NOW") or None,
            min_score_sheets=min_sheets,
            quorum=quorum,
            council_required=env.get("OCOP_COUNCIL_REQUIRED", "1").strip() != "0",
            documents_dir=env.get("OCOP_DOCUMENTS_DIR")
            or str(Path(env.get("OCOP_HOME", "var")) / "documents"),
            document_max_mb=int(env.get("OCOP_DOCUMENT_MAX_MB") or settings.document_max_mb),
            invitation_days=int(env.get("OCOP_INVITATION_DAYS") or settings.invitation_days),
            central_threshold=float(env.get("OCOP_CENTRAL_THRESHOLD", settings.central_threshold)),
            required_documents=tuple(d.strip() for d in docs.split(",") if d.strip())
            if docs is not None else settings.required_documents,
            clock_overrides=overrides,
            public_url=env.get("OCOP_PUBLIC_URL")
            or listen_url(env.get("OCOP_HOST"), env.get("OCOP_PORT")),
            province=env.get("OCOP_PROVINCE", settings.province).strip() or settings.province,
            district_successor=successor_role(env.get("OCOP_DISTRICT_SUCCESSOR")),
            token_days=int(env.get("OCOP_TOKEN_DAYS", settings.token_days)),
            webhook_allow_private=env.get("OCOP_WEBHOOK_ALLOW_PRIVATE", "") == "1",
            signing_key=env.get("OCOP_SIGNING_KEY")
            or str(Path(env.get("OCOP_HOME", "var")) / "signing.key"),
            checkpoint_dir=env.get("OCOP_CHECKPOINT_DIR")
            or str(Path(env.get("OCOP_HOME", "var")) / "checkpoints"),
            checkpoint_url=env.get("OCOP_CHECKPOINT_URL") or None,
            checkpoint_interval=float(env.get("OCOP_CHECKPOINT_INTERVAL",
                                              settings.checkpoint_interval)),
            **worker_settings(env, settings),
        )


SUCCESSORS = {"commune": "commune_officer", "city": "city_officer"}


def successor_role(value: str | None) -> str:
    """``OCOP_DISTRICT_SUCCESSOR``: ``commune`` (default) or ``city``, as the role it means."""
    word = (value or "commune").strip().lower()
    if word not in SUCCESSORS:
        raise ValueError(f"OCOP_DISTRICT_SUCCESSOR={value!r}: use one of {', '.join(SUCCESSORS)}")
    return SUCCESSORS[word]


def listen_url(host: str | None, port: int | str | None) -> str:
    """The address ``ocop run`` / ``ocop serve`` listen on (``OCOP_HOST``, ``OCOP_PORT``): what
    links and QR codes point to when ``OCOP_PUBLIC_URL`` is unset. A wildcard host (all
    interfaces) is reached through the machine's name."""
    host = (host or "").strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        host = socket.gethostname()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{str(port or '').strip() or 8000}"


def default_sqlite_url(env: Mapping[str, str]) -> str:
    home = Path(env.get("OCOP_HOME", "var"))
    return f"sqlite:///{home / 'ocop.db'}"


def worker_settings(env: Mapping[str, str], base: Settings) -> dict[str, Any]:
    """The workers' settings. Without ``OCOP_BROKER_URL`` the embedded default is kombu's
    ``filesystem://`` transport in ``$OCOP_HOME/broker``: a real worker process, no Redis."""
    home = Path(env.get("OCOP_HOME", "var"))
    emails = env.get("OCOP_SUPERVISOR_EMAILS", "")
    return {
        "broker_url": env.get("OCOP_BROKER_URL") or "filesystem://",
        "broker_folder": env.get("OCOP_BROKER_FOLDER") or str(home / "broker"),
        "mail_folder": env.get("OCOP_MAIL_FOLDER") or str(home / "mail"),
        "mail_from": env.get("OCOP_MAIL_FROM", base.mail_from),
        "supervisor_emails": tuple(e.strip() for e in emails.split(",") if e.strip()),
        "city_officer_email": env.get("OCOP_CITY_OFFICER_EMAIL") or None,
        "outbox_lease_seconds": int(env.get("OCOP_OUTBOX_LEASE", base.outbox_lease_seconds)),
        "outbox_max_attempts": int(env.get("OCOP_OUTBOX_MAX_ATTEMPTS",
                                           base.outbox_max_attempts)),
        "outbox_backoff_seconds": int(env.get("OCOP_OUTBOX_BACKOFF",
                                              base.outbox_backoff_seconds)),
        "sweep_interval": float(env.get("OCOP_SWEEP_INTERVAL", base.sweep_interval)),
        "relay_interval": float(env.get("OCOP_RELAY_INTERVAL", base.relay_interval)),
    }
