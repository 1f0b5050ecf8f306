"""The pieces of tamper evidence on their own: the fast entry hash equals the canonical one
for any text; the seal and the certificate signature need the key; ``ocop keys init`` never
overwrites a key; beat signs a checkpoint on its schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.cli_support import Ocop
from workflow.config import Settings
from workflow.messaging.broker import CHECKPOINT
from workflow.store import audit, seal

texts = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(actor=texts, reason=st.none() | texts, data=texts, from_state=st.none() | texts,
       seq=st.integers(1, 10**6), micro=st.integers(0, 999_999))
def test_the_fast_hash_is_the_canonical_hash(actor: str, reason: str | None, data: str,
                                             from_state: str | None, seq: int,
                                             micro: int) -> None:
    at = datetime(2025, 9, 1, 2, 3, 4, micro, tzinfo=UTC)
    entry = {"seq": seq, "at": at, "actor": actor, "role": "city_officer",
             "trigger": "record_city_score", "from_state": from_state, "to_state": "certified",
             "reason": reason, "data": data, "rule_version": "1489"}
    assert audit.text_hash("f" * 64, "HN-2025-000001", seq, audit.utc_text(at), actor,
                           "city_officer", "record_city_score", from_state, "certified", reason,
                           data, "1489") == audit.entry_hash("f" * 64, "HN-2025-000001", entry)


def test_a_seal_and_a_signature_need_the_key(tmp_path: Path) -> None:
    office = seal.write_new(tmp_path / "office.key")
    forger = seal.Keys(seal.generate())
    assert office.seal("HN-1", 4, "a" * 64) == office.sealer()("HN-1", 4, "a" * 64)
    assert office.seal("HN-1", 4, "a" * 64) != forger.seal("HN-1", 4, "a" * 64)
    assert office.seal("HN-1", 4, "a" * 64) != office.seal("HN-1", 5, "a" * 64)
    message = b'{"number":"HN-TP-2025-0000000000"}'
    assert seal.verify_signature(office.public_raw, message, office.sign(message))
    assert not seal.verify_signature(office.public_raw, message, forger.sign(message))
    assert not seal.verify_signature(office.public_raw, message + b" ", office.sign(message))
    assert not seal.verify_signature(office.public_raw, message, "not base64!")
    assert seal.read(tmp_path / "office.key").fingerprint == office.fingerprint
    assert (tmp_path / "office.key").stat().st_mode & 0o777 == 0o600


def test_keys_init_makes_a_key_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_LANG", "en")
    ocop = Ocop(capsys, f"sqlite:///{tmp_path / 'x.db'}")
    path = tmp_path / "keys" / "signing.key"
    made = ocop.ok("keys", "init", "--path", str(path), "--json").json()
    assert Path(made["path"]) == path and len(made["fingerprint"]) == 16
    again = ocop("keys", "init", "--path", str(path))
    assert again.code == 2
    assert "already exists" in again.err and "never overwritten" in again.err
    shown = ocop.ok("keys", "show", "--path", str(path), "--json").json()
    assert shown == made


def test_beat_signs_a_checkpoint_every_interval() -> None:
    import worker
    schedule = worker.worker_config(Settings(checkpoint_interval=1800.0))["beat_schedule"]
    assert schedule["audit-checkpoint"] == {"task": CHECKPOINT, "schedule": 1800.0}
    settings_env = Settings.from_env({"OCOP_HOME": "/srv/ocop"})
    assert settings_env.signing_key == "/srv/ocop/signing.key"
    assert settings_env.checkpoint_dir == "/srv/ocop/checkpoints"
    assert settings_env.checkpoint_interval == 3600.0
