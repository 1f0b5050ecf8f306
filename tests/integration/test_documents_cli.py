"""``ocop documents`` as an operator or a producer runs it: real processes on PostgreSQL, the
bytes in a real documents folder. ``add`` then ``list`` and ``get`` (bytes equal); a bad file
exits 2 with one sentence and stores nothing; ``kinds`` labels each kind in both languages;
``ocop audit verify`` stays clean after the uploads."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import World, make_app
from tests.unit.lifecycle_support import assert_one_sentence, snapshot
from tests.unit.test_documents import PDF, PNG
from workflow.bootstrap import App

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scene(pg_url: str, tmp_path: Path) -> Iterator[tuple[App, World, Path]]:
    folder = tmp_path / "documents"
    app = make_app(pg_url, documents_dir=str(folder), required_documents=None)
    yield app, World(app), folder
    app.close()


def ocop(app: App, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCOP_DATABASE_URL": app.settings.database_url,
           "OCOP_DOCUMENTS_DIR": str(folder), "OCOP_DOCUMENT_MAX_MB": "1", "OCOP_LANG": "en",
           "OCOP_CHECKPOINT_DIR": app.settings.checkpoint_dir or ""}
    env.pop("OCOP_REQUIRED_DOCUMENTS", None)
    return subprocess.run([sys.executable, "-m", "workflow", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_add_list_get_and_a_refused_file(scene: tuple[App, World, Path],
                                         tmp_path: Path) -> None:
    app, world, folder = scene
    code = world.register()
    story = tmp_path / "Câu chuyện sản phẩm.pdf"
    story.write_bytes(PDF)
    added = ocop(app, folder, "documents", "add", code, "product_story", str(story),
                 "--as", "producer1", "--json")
    assert added.returncode == 0, added.stderr
    row = json.loads(added.stdout)
    sha = hashlib.sha256(PDF).hexdigest()
    assert (row["kind"], row["version"], row["sha256"], row["filename"]) == (
        "product_story", 1, sha, "Câu chuyện sản phẩm.pdf")
    assert (folder / sha[:2] / sha).read_bytes() == PDF
    photo = tmp_path / "label.png"
    photo.write_bytes(PNG)
    again = ocop(app, folder, "documents", "add", code, "product_story", str(photo))
    assert again.returncode == 0 and f"{code} product_story version 2" in again.stdout

    listed = ocop(app, folder, "documents", "list", code, "--as", "commune1", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(d["kind"], d["version"], d["uploaded_by"]) for d in json.loads(listed.stdout)] == [
        ("product_story", 2, "system"), ("product_story", 1, "producer1")]
    out = tmp_path / "back.pdf"
    got = ocop(app, folder, "documents", "get", code, "product_story", "--version", "1",
               "--out", str(out), "--as", "producer1")
    assert got.returncode == 0 and out.read_bytes() == PDF
    hidden = ocop(app, folder, "documents", "list", code, "--as", "producer2")
    assert hidden.returncode == 3 and "No case has the code" in hidden.stderr

    before = snapshot(app, code)
    files = sorted(folder.rglob("*"))
    page = tmp_path / "really.pdf"
    page.write_bytes(b"<html><body>not a pdf</body></html>")
    refused = ocop(app, folder, "documents", "add", code, "registration_form", str(page),
                   "--as", "producer1")
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "not a PDF, JPEG or PNG" in line
    assert_one_sentence(line.removeprefix("error: "))
    assert snapshot(app, code) == before and sorted(folder.rglob("*")) == files
    missing = ocop(app, folder, "documents", "add", code, "other", str(tmp_path / "nope.pdf"))
    assert missing.returncode == 2 and "cannot be read" in missing.stderr

    verified = ocop(app, folder, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_kinds_are_labelled_in_both_languages(scene: tuple[App, World, Path]) -> None:
    app, _, folder = scene
    done = ocop(app, folder, "documents", "kinds", "--rules", "1048", "--json")
    assert done.returncode == 0, done.stderr
    kinds = {k["kind"]: k for k in json.loads(done.stdout)}
    assert "trademark_licence" not in kinds
    assert kinds["registration_form"] == {"kind": "registration_form", "required": True,
                                          "vi": "Phiếu đăng ký sản phẩm",
                                          "en": "Registration form"}
    assert kinds["product_story"]["required"] is False
