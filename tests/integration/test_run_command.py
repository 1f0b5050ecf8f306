"""`make run` as a new user meets it: a fresh clone, a plain shell (`env -i`, no virtualenv on
PATH), the install included. It serves, a demo user signs in, SIGTERM stops it with nothing left
behind; and a service that cannot start makes it fail loudly."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.workers import ROOT, free_port, wait_until
from tests.unit.console_support import post_sign_in
from workflow import i18n

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
INSTALL = 900.0  # seconds: `make run` creates .venv and installs before it serves
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,}$")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `git clone` of what a user would get: this checkout's tracked and new files (the
    committed HEAD on CI, plus uncommitted work on a developer's machine), as a repository."""
    base = tmp_path_factory.mktemp("repo")
    source, target = base / "source", base / "clone"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
            (source / name).chmod((ROOT / name).stat().st_mode)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.vn"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*git, *args], cwd=source, check=True, capture_output=True)
    subprocess.run(["git", "clone", "-q", str(source), str(target)], check=True)
    return target


def plain_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """`env -i HOME=… PATH=/usr/bin:/bin`: no virtualenv, no LANG. Only pip's own settings come
    along (this machine's package index and cache, as in the user's real HOME)."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "OCOP_PORT": str(port), **extra}
    real = Path.home()
    if (real / ".config" / "pip" / "pip.conf").exists():
        env["PIP_CONFIG_FILE"] = str(real / ".config" / "pip" / "pip.conf")
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR", str(real / ".cache" / "pip"))
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") and k not in env})
    return env


def ours(clone: Path) -> list[psutil.Process]:
    """Every live process started from the clone (its virtualenv's interpreter, its make)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            text = " ".join(proc.info["cmdline"] or []) + " " + str(proc.info["cwd"] or "")
            if str(clone) in text:
                found.append(proc)
    return found


@contextlib.contextmanager
def make_run(clone: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`make run` in its own process group, as a terminal would start it; killed at the end
    if a test failed half-way."""
    with log.open("wb") as out:
        make = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield make
    finally:
        for proc in [*ours(clone)]:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            make.wait(10)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def alive_or_fail(make: subprocess.Popen[bytes], log: Path, check: bool) -> bool:
    if make.poll() is not None:
        raise AssertionError(f"make run exited {make.returncode}:\n{log.read_text()[-4000:]}")
    return check


def demo_account(path: Path) -> dict[str, str]:
    """A demo user's sign-in form: the name and the token, the first and the last
    tab-separated fields of a line of var/demo-tokens.txt."""
    for line in path.read_text(encoding="utf-8").splitlines():
        last = line.split("\t")[-1].strip()
        if "\t" in line and TOKEN.match(last):
            return {"name": line.split("\t")[0].strip(), "token": last}
    raise AssertionError(f"no token in {path}:\n{path.read_text(encoding='utf-8')}")


def test_make_run_from_a_plain_shell_serves_signs_in_and_stops_cleanly_on_sigterm(
        clone: Path, tmp_path: Path) -> None:
    """In a fresh clone and `env -i HOME=… PATH=/usr/bin:/bin`, `make run` installs, says where
    to go and where the demo tokens are, answers /healthz, lets a demo user sign in to the
    console, delivers the demo's e-mail through its worker; SIGTERM to make's process group
    ends it within 15 s and no process of the run is left, Celery's pool included."""
    port = free_port()
    log = tmp_path / "make-run.log"
    with make_run(clone, plain_env(tmp_path, port), log) as make:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: alive_or_fail(make, log, "Ctrl-C" in log.read_text()), INSTALL,
                   "make run to install and start every service", every=1)
        assert answers(f"{base}/healthz")
        said = log.read_text()
        assert f"{base}/console" in said and f"{base}/docs" in said
        assert "var/demo-tokens.txt" in said
        with httpx.Client(base_url=base, timeout=10) as browser:
            account = demo_account(clone / "var" / "demo-tokens.txt")
            signed = post_sign_in(browser, account["name"], account["token"])
            assert signed.status_code == 303 and signed.headers["location"] == "/console/inbox"
            assert browser.get("/console/inbox").status_code == 200
        wait_until(lambda: any((clone / "var" / "mail").glob("*.eml")), 60,
                   "the worker to deliver the demo's e-mail", every=1)
        run = ours(clone)
        interpreters = {p.cmdline()[0] for p in run if "python" in p.name()}
        assert interpreters == {str(clone / ".venv" / "bin" / "python")}, interpreters
        assert len(run) >= 6, [p.cmdline() for p in run]  # make, ocop, api, worker+pool, beat
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(15)
        left = [p for p in run if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert left == [] and ours(clone) == [], [p.cmdline() for p in left]


def test_make_run_exits_non_zero_naming_the_api_when_its_port_is_taken(
        clone: Path, tmp_path: Path) -> None:
    """With the API's port already taken, `make run` stops the worker and beat it started and
    exits non-zero; its last word is one line naming the API and the cause."""
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        log = tmp_path / "make-run.log"
        env = plain_env(tmp_path, port, OCOP_HOME=str(tmp_path / "home"))
        with make_run(clone, env, log) as make:
            make.wait(INSTALL)
            said = log.read_text()
            assert make.returncode != 0, said[-4000:]
            # No LANG in a plain shell: Vietnamese, the engine's default language.
            failed = i18n.text("ui", "run_failed", "vi", name="API", cause="")
            named = [line for line in said.splitlines() if line.startswith(failed)]
            assert len(named) == 1 and "address already in use" in named[0], said[-4000:]
            assert ours(clone) == [], "nothing of the run is left"


def test_a_command_prints_no_log_lines_unless_asked(tmp_path: Path) -> None:
    """`ocop demo` writes its result on stdout and nothing on stderr; `ocop -v demo` adds the
    engine's JSON log lines. `python -m workflow.cli` is the same program as `ocop`."""
    env = {**os.environ, "OCOP_HOME": str(tmp_path)}
    env.pop("OCOP_DATABASE_URL", None)

    def ocop(*args: str, home: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workflow.cli", *args], text=True,
                              env={**env, "OCOP_HOME": str(tmp_path / home)},
                              capture_output=True, timeout=120, check=False)

    for home in ("quiet", "verbose"):
        assert ocop("db", "upgrade", home=home).returncode == 0
    quiet, verbose = ocop("demo", home="quiet"), ocop("-v", "demo", home="verbose")
    assert quiet.returncode == 0 and quiet.stdout.strip() and quiet.stderr == ""
    assert verbose.returncode == 0 and '"event": "transition"' in verbose.stderr
