"""docker-compose.yml, checked without Docker: each service's own command starts against the
local PostgreSQL and Redis (and an SMTP server standing in for Mailpit) and comes up healthy."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from tests.integration.workers import (
    ROOT,
    Proc,
    RedisServer,
    free_port,
    running,
    smtp_server,
    wait_until,
)
from tests.support import DOCS, World, make_app
from workflow.schema import producers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))



def interpolate(value: str) -> str:
    """Compose's ${VAR:-default}, with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def local(args: list[str], port: int) -> list[str]:
    """The container's command on this machine: the venv's executables, a free port."""
    out = [str(BIN / args[0]) if (BIN / args[0]).exists() else args[0], *args[1:]]
    return [str(port) if a == "8000" else a for a in out]


def healthcheck(spec: dict[str, Any], port: int, pid: int) -> list[str]:
    kind, *rest = spec["healthcheck"]["test"]
    text = rest[0] if kind == "CMD-SHELL" else shlex.join(rest)
    text = (text.replace("$$HOSTNAME", socket.gethostname()).replace(":8000", f":{port}")
            .replace("/proc/1/", f"/proc/{pid}/"))
    command = shlex.split(text)
    return local(command, port)


def test_every_service_has_a_health_check_and_the_stateful_ones_keep_volumes(
        compose: dict[str, Any]) -> None:
    """Health checks everywhere but the one-shot migration; data survives a restart."""
    services = compose["services"]
    assert {s for s, spec in services.items() if "healthcheck" not in spec} == {"migrate"}
    assert services["migrate"]["command"] == ["ocop", "db", "upgrade"]
    assert services["worker"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    assert "pgdata" in compose["volumes"] and "redisdata" in compose["volumes"]


def test_each_service_command_comes_up_against_local_postgres_and_redis(
        compose: dict[str, Any], pg_url: str, redis: RedisServer, tmp_path: Path) -> None:
    """migrate exits 0; api answers its health check; the worker answers `inspect ping`; beat
    runs; and a transition's e-mail goes through worker and SMTP, all configured by the
    compose file's environment."""
    services = compose["services"]
    port = free_port()
    with smtp_server() as (smtp_url, mails):
        environment = {k: interpolate(str(v)) for k, v in services["worker"]["environment"]
                       .items()}
        assert {"OCOP_DATABASE_URL", "OCOP_BROKER_URL", "OCOP_SMTP_URL"} <= set(environment)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        env.update(environment, OCOP_DATABASE_URL=pg_url, OCOP_BROKER_URL=redis.url,
                   OCOP_SMTP_URL=smtp_url, OCOP_HOME=str(tmp_path), HOSTNAME=socket.gethostname())
        migrate = subprocess.run(local(services["migrate"]["command"], port), env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        procs = {name: Proc(name, local(services[name]["command"], port), env, tmp_path)
                 for name in ("api", "worker", "beat")}
        with running(*procs.values()):
            for proc in procs.values():
                proc.start(ready=None)
            for name, proc in procs.items():
                assert proc.proc is not None
                check = healthcheck(services[name], port, proc.proc.pid)
                wait_until(lambda c=check: subprocess.run(  # type: ignore[misc]
                    c, env=env, cwd=ROOT, capture_output=True, timeout=30).returncode == 0,
                    90, f"{name} to pass its health check {check}", every=1)
            app = make_app(pg_url, broker_url=redis.url)
            world = World(app)
            with app.db.begin() as conn:
                conn.execute(update(producers).values(email="p@example.vn"))
            code = world.register()
            world.fire(code, "submit", "producer1", DOCS)
            wait_until(lambda: len(mails) >= 2, 60, "the registration and submission e-mails")
            app.close()
