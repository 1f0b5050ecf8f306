"""``ocop run``: migrate, load the units and the demo into an empty database, start every service,
keep them up.

Every service is started with this very interpreter (``sys.executable -m …``), so ``ocop run``
works from any shell, whether or not the virtualenv's ``bin`` is on ``PATH``. Each runs in its
own process group, so stopping one stops its children too (Celery's pool processes).
"""

from __future__ import annotations

import signal
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

import click

from workflow import demo, i18n
from workflow.cli.base import Context, pass_app
from workflow.cli.db_cmd import load_units
from workflow.cli.serve_cmd import announce_address
from workflow.cli.services import Child, stop_all
from workflow.store.migrate import upgrade

START_TIMEOUT = 90.0  # seconds for every service to come up (first start compiles bytecode)
RESTARTABLE = ("worker", "beat")  # nothing is lost when they die: the outbox and clocks are rows
SHOWN = {"api": "API", "worker": "worker (Celery)", "beat": "beat (Celery)"}


def services(host: str = "127.0.0.1", port: int = 8000) -> dict[str, list[str]]:
    """The processes ``ocop run`` supervises: API, worker and beat."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "worker"]
    return {"api": [python, "-m", "workflow", "serve", "--host", host, "--port", str(port)],
            "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
            "beat": [*celery, "beat", "--loglevel=INFO"]}


def say(key: str, err: bool = False, **params: object) -> None:
    """One line of ``ocop run``'s own, in the operator's language (``OCOP_LANG``, ``LANG``)."""
    click.echo(i18n.text("ui", key, i18n.from_env(), **params), err=err)


@click.command("run")
@click.option("--no-demo", is_flag=True, help="do not load the demo into an empty database")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OCOP_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="OCOP_PORT")
@pass_app
def run(ctx: Context, no_demo: bool, host: str, port: int) -> None:
    """Start the engine on its configured database (SQLite by default)."""
    announce_address(host, port)
    app = ctx.app
    upgrade(app.db, keys=app.keys)
    say("run_database", url=app.db.url.render_as_string())
    loaded = load_units(ctx)  # the demo, or the first producer, needs them
    if loaded is not None:
        click.echo(loaded)
    tokens = _demo_tokens(ctx) if not no_demo else None
    public = app.settings.public_url.rstrip("/")
    say("run_where", console=f"{public}/console", docs=f"{public}/docs")
    if tokens is not None:
        say("run_sign_in_demo", path=tokens)
    else:
        say("run_sign_in_users")
    logs = demo.tokens_path().parent / "log"
    children = [Child(name, args, logs / f"{name}.log", echo=ctx.verbose)
                for name, args in services(host, port).items()]
    _supervise(children, f"http://{_dial(host)}:{port}/healthz", logs)


def _demo_tokens(ctx: Context) -> Path | None:
    """Load the demo into an empty database; the demo users' tokens file, if there is one."""
    path = demo.tokens_path()
    if demo.is_empty(ctx.app):
        demo.save_tokens(path, demo.load(ctx.app), demo.people(ctx.app))
    return path if path.exists() else None


def _dial(host: str) -> str:
    """Where to reach our own API: a wildcard address is reached on the loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class _Stop:
    """SIGTERM (Docker, systemd) and SIGINT (Ctrl-C) both ask for an orderly stop."""

    def __init__(self) -> None:
        self.asked = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.ask)

    def ask(self, signum: int, frame: FrameType | None) -> None:
        self.asked = True


def _supervise(children: list[Child], health: str, logs: Path) -> None:
    """Start every service and wait until it is up; then keep them up until asked to stop.
    A service that dies while starting, or the API at any time, stops everything and makes
    ``ocop run`` exit 1 with one line naming the service and the cause."""
    stop = _Stop()
    failed, started = None, False
    try:
        for child in children:
            child.start()
        failed = _start_up(children, health, stop)
        if failed is None and not stop.asked:
            started = True
            say("run_started", names=", ".join(c.name for c in children), logs=logs)
            failed = _keep_up(children, stop)
    finally:
        stop_all(children)
    if failed is not None:
        say("run_died" if started else "run_failed", err=True,
            name=SHOWN.get(failed.name, failed.name), cause=failed.cause())
        sys.exit(1)  # not click's Exit: run_cli would take it for success


def _start_up(children: list[Child], health: str, stop: _Stop) -> Child | None:
    """Wait until the API answers ``/healthz`` and the worker says it is ready; the service
    that died meanwhile (or the API, if it never answered), else None."""
    end = time.monotonic() + START_TIMEOUT
    while not stop.asked:
        dead = next((c for c in children if not c.alive()), None)
        if dead is not None:
            return dead
        if all(c.ready for c in children if c.name == "worker") and _answers(health):
            return None
        if time.monotonic() > end:
            api = next(c for c in children if c.name == "api")
            api.note(f"no answer from {health} after {START_TIMEOUT:.0f} s")
            return api
        time.sleep(0.2)
    return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _keep_up(children: list[Child], stop: _Stop) -> Child | None:
    """A worker or beat that dies is restarted (after a pause, so a crash loop does not spin);
    the API dying ends the run. Returns the API if it died, None when asked to stop."""
    while not stop.asked:
        time.sleep(0.5)
        for child in children:
            if child.alive() or stop.asked:
                continue
            if child.name not in RESTARTABLE:
                return child
            say("run_restarting", err=True, name=child.name, code=child.returncode())
            time.sleep(2)
            child.start()
    return None
