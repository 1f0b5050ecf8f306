"""``ocop run``: migrate, load the demo into an empty database, start every service."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from workflow import demo
from workflow.cli.base import Context, cli, pass_app
from workflow.migrate import upgrade


def services(host: str = "127.0.0.1", port: int = 8000) -> list[tuple[str, list[str]]]:
    """The processes ``ocop run`` supervises: API, worker and beat."""
    ocop = shutil.which("ocop") or f"{sys.executable} -m workflow.cli"
    found: list[tuple[str, list[str]]] = []
    try:
        import workflow.api  # noqa: F401
        found.append(("api", [*ocop.split(), "serve", "--host", host, "--port", str(port)]))
    except ImportError:
        pass
    found += worker_services()
    return found


def worker_services() -> list[tuple[str, list[str]]]:
    """The Celery worker and beat, on the broker the settings name (filesystem by default)."""
    celery = shutil.which("celery") or f"{sys.executable} -m celery"
    return [("worker", [*celery.split(), "-A", "worker", "worker", "--loglevel=INFO",
                        "--concurrency=2"]),
            ("beat", [*celery.split(), "-A", "worker", "beat", "--loglevel=INFO"])]


@cli.command("run")
@click.option("--no-demo", is_flag=True, help="do not load the demo into an empty database")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OCOP_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="OCOP_PORT")
@pass_app
def run(ctx: Context, no_demo: bool, host: str, port: int) -> None:
    """Start the engine on its configured database (SQLite by default)."""
    app = ctx.app
    upgrade(app.db)
    click.echo(f"database ready: {app.db.url.render_as_string()}")
    if not no_demo and demo.is_empty(app):
        tokens = demo.load(app)
        path = Path(os.environ.get("OCOP_HOME", "var")) / "demo-tokens.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{n}\t{t}\n" for n, t in tokens.items()), encoding="utf-8")
        click.echo(f"demo loaded: 5 producers; sign-in tokens in {path}")
    click.echo(f"console: http://{host}:{port}/console  API: http://{host}:{port}/docs")
    commands = dict(services(host, port))
    procs = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
    if not procs:
        click.echo("no services to start yet; the engine is ready for `ocop cases ...`")
        return
    click.echo(f"started {', '.join(procs)}; Ctrl-C stops them")
    _supervise(procs, commands)


RESTARTABLE = ("worker", "beat")  # nothing is lost when they die: the outbox and clocks are rows


def _supervise(procs: dict[str, subprocess.Popen[bytes]], commands: dict[str, list[str]]) -> None:
    """Keep the services up: a worker or beat that dies is restarted (after a pause, so a
    crash loop does not spin); if the API dies, or on Ctrl-C / SIGTERM, everything stops."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            time.sleep(0.5)
            for name, p in list(procs.items()):
                if p.poll() is None:
                    continue
                if name not in RESTARTABLE:
                    click.echo(f"{name} exited with {p.returncode}; stopping", err=True)
                    stopping = True
                    break
                click.echo(f"{name} exited with {p.returncode}; restarting", err=True)
                time.sleep(2)
                procs[name] = subprocess.Popen(commands[name])
    except KeyboardInterrupt:
        pass
    _stop_all(procs)


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
