"""Settings read from the environment once, in ``Settings.from_env``; nothing reads it at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DOCUMENTS = ("registration_form", "business_plan", "product_standard")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/ocop.db"
    broker_url: str | None = None
    smtp_url: str | None = None
    simulation: bool = False
    now: str | None = None
    min_score_sheets: int = 1
    central_threshold: float = 90.0
    required_documents: tuple[str, ...] = DEFAULT_DOCUMENTS
    escalate_again_after_days: int = 5
    # clock overrides: kind -> amount (working days or days as the lifecycle says)
    clock_overrides: Mapping[str, int] = field(default_factory=dict)
    public_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls()
        overrides: dict[str, int] = {}
        for key, value in env.items():
            if key.startswith("OCOP_DEADLINE_") and value.strip():
                overrides[key.removeprefix("OCOP_DEADLINE_").lower()] = int(value)
        docs = env.get("OCOP_REQUIRED_DOCUMENTS")
        return replace(
            settings,
            database_url=env.get("OCOP_DATABASE_URL") or default_sqlite_url(env),
            broker_url=env.get("OCOP_BROKER_URL") or None,
            smtp_url=env.get("OCOP_SMTP_URL") or None,
            simulation=env.get("OCOP_SIMULATION", "") == "1",
            now=env.get("OCOP_NOW") or None,
            min_score_sheets=int(env.get("OCOP_MIN_SCORE_SHEETS", settings.min_score_sheets)),
            central_threshold=float(env.get("OCOP_CENTRAL_THRESHOLD", settings.central_threshold)),
            required_documents=tuple(d.strip() for d in docs.split(",") if d.strip())
            if docs is not None else settings.required_documents,
            clock_overrides=overrides,
            public_url=env.get("OCOP_PUBLIC_URL", settings.public_url),
        )


def default_sqlite_url(env: Mapping[str, str]) -> str:
    home = Path(env.get("OCOP_HOME", "var"))
    return f"sqlite:///{home / 'ocop.db'}"
