"""`ocop cases show` gives the producer's status link, the one their notices carry, at the
address OCOP_PUBLIC_URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_support import open_cli, register

PUBLIC = "https://ocop.hanoi.example.vn"


def test_cases_show_gives_the_status_link_the_notices_carry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--json`` has ``status_url`` ({OCOP_PUBLIC_URL}/status/{code}?t=…), the plain text
    shows it, and the producer's registration notice (in-app and e-mail) links the same page."""
    monkeypatch.setenv("OCOP_PUBLIC_URL", PUBLIC + "/")
    ocop = open_cli(tmp_path, monkeypatch, capsys)
    code = register(ocop)
    link = ocop.ok("cases", "show", code, "--json").json()["status_url"]
    assert link.startswith(f"{PUBLIC}/status/{code}?t=") and len(link) > len(PUBLIC) + 40
    assert f"status page {link}" in ocop.ok("cases", "show", code).out
    messages = ocop.ok("outbox", "list", "--case", code, "--json").json()
    assert {m["channel"] for m in messages} == {"inapp", "email"}
    assert {m["payload"]["status_url"] for m in messages} == {link}
