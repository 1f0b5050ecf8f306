"""`ocop run` (what `make run` calls) starts the whole engine on its embedded default."""

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.workers import free_port, wait_until

pytestmark = pytest.mark.slow


def _get(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def _ocop(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCOP_HOME": str(home)}
    env.pop("OCOP_DATABASE_URL", None)
    env.pop("OCOP_BROKER_URL", None)
    return subprocess.run([sys.executable, "-m", "workflow", *args], env=env, text=True,
                          capture_output=True, timeout=60, check=False)


def test_one_command_migrates_loads_the_demo_and_serves_api_worker_and_scheduler(
        tmp_path: Path) -> None:
    """On an empty OCOP_HOME, `ocop run` creates the SQLite database, loads the Hanoi demo,
    answers /healthz, and its worker delivers the demo's in-app notifications (no Redis)."""
    port = free_port()
    env = {**os.environ, "OCOP_HOME": str(tmp_path), "OCOP_PORT": str(port)}
    for var in ("OCOP_DATABASE_URL", "OCOP_BROKER_URL", "OCOP_SIMULATION", "OCOP_NOW"):
        env.pop(var, None)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    assert shutil.which("ocop", path=env["PATH"]), "the ocop console script is installed"
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(["ocop", "run"], env=env, cwd=tmp_path, start_new_session=True,
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz") is not None, 90,
                   "the API to answer")
        assert (tmp_path / "ocop.db").exists()
        tokens = (tmp_path / "demo-tokens.txt").read_text(encoding="utf-8")
        assert "supervisor\t" in tokens and "city.office\t" in tokens

        def delivered() -> bool:
            listed = _ocop(tmp_path, "outbox", "list", "--status", "pending", "--json")
            return listed.returncode == 0 and json.loads(listed.stdout) == []

        wait_until(delivered, 90, "the worker to deliver every demo notification", every=1)
        cases = json.loads(_ocop(tmp_path, "cases", "list", "--json").stdout)
        assert {c["state"] for c in cases} >= {"certified", "needs_completion", "central_review"}
        assert _ocop(tmp_path, "audit", "verify").returncode == 0
        assert list((tmp_path / "mail").glob("*.eml")), "e-mail went to the mail folder"
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        log.close()
