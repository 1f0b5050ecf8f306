"""docker-compose.yml, checked without Docker: each service's own command starts against the
local PostgreSQL and Redis (and an SMTP server standing in for Mailpit) and comes up healthy."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
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
from workflow.store.schema import producers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))

REQUIRED = {"POSTGRES_PASSWORD": "s3cretpass", "OCOP_PUBLIC_URL": "https://ocop.example.vn"}


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` and ``${VAR:?message}`` with only ``given`` set: a missing
    required variable stops compose with its message, as ``docker compose up`` would."""

    def one(match: re.Match[str]) -> str:
        name, op, word = match.groups()
        if name in given:
            return given[name]
        if op == ":?":
            raise ValueError(f"required variable {name} is missing: {word}")
        return str(word)

    return re.sub(r"\$\{([A-Z_]+)(:-|:\?)([^}]*)\}", one, value)


def local(args: list[str], port: int) -> list[str]:
    """The container's command on this machine: the venv's executables, a free port."""
    out = [str(BIN / args[0]) if (BIN / args[0]).exists() else args[0], *args[1:]]
    return [str(port) if a == "8000" else a for a in out]


def healthcheck(spec: dict[str, Any], port: int) -> list[str]:
    kind, *rest = spec["healthcheck"]["test"]
    text = rest[0] if kind == "CMD-SHELL" else shlex.join(rest)
    text = text.replace("$$HOSTNAME", socket.gethostname()).replace(":8000", f":{port}")
    return local(shlex.split(text), port)


def passes(check: list[str], env: dict[str, str]) -> bool:
    return subprocess.run(check, env=env, cwd=ROOT, capture_output=True,
                          timeout=30).returncode == 0


def test_every_service_has_a_health_check_and_the_stateful_ones_keep_volumes(
        compose: dict[str, Any]) -> None:
    """Health checks everywhere but the one-shot migration; data survives a restart."""
    services = compose["services"]
    assert {s for s, spec in services.items() if "healthcheck" not in spec} == {"migrate"}
    assert services["migrate"]["command"] == ["ocop", "db", "upgrade"]
    assert services["worker"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    assert "pgdata" in compose["volumes"] and "redisdata" in compose["volumes"]


def test_images_are_pinned_and_nothing_has_a_default_password_or_address(
        compose: dict[str, Any]) -> None:
    """Every image, the Dockerfile's base included, names an exact version; the database
    password and the public address must be given (compose refuses to start without them);
    the console cookie is Secure."""
    images = [spec["image"] for spec in compose["services"].values() if "image" in spec]
    base = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    unpinned = [i for i in [*images, *base] if not re.search(r":v?\d+\.\d+\.?\d*", i)]
    assert images and base and unpinned == []
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${POSTGRES_PASSWORD:?" in text and "${POSTGRES_PASSWORD:-" not in text
    env = compose["services"]["api"]["environment"]
    for missing in REQUIRED:
        given = {k: v for k, v in REQUIRED.items() if k != missing}
        with pytest.raises(ValueError, match=missing):
            [interpolate(str(v), given) for v in env.values()]
    assert interpolate(str(env["OCOP_PUBLIC_URL"]), REQUIRED) == REQUIRED["OCOP_PUBLIC_URL"]
    assert env["OCOP_SECURE_COOKIES"] == "1"


def test_the_readme_shows_how_to_create_the_first_admin_with_compose() -> None:
    """The deployment section says how to create the first admin and the other users."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose run --rm api ocop users add" in readme
    assert "POSTGRES_PASSWORD" in readme and "OCOP_PUBLIC_URL" in readme


def test_each_service_command_comes_up_against_local_postgres_and_redis(
        compose: dict[str, Any], pg_url: str, redis: RedisServer, tmp_path: Path) -> None:
    """migrate exits 0; api answers its health check; the worker answers `inspect ping`; beat
    passes its health check only once it ticks (not before it runs, not once its heartbeat is
    old); and a transition's e-mail goes through worker and SMTP, all configured by the
    compose file's environment."""
    services = compose["services"]
    port = free_port()
    with smtp_server() as (smtp_url, mails):
        environment = {k: interpolate(str(v), REQUIRED) for k, v in
                       services["worker"]["environment"].items()}
        assert {"OCOP_DATABASE_URL", "OCOP_BROKER_URL", "OCOP_SMTP_URL"} <= set(environment)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        env.update(environment, OCOP_DATABASE_URL=pg_url, OCOP_BROKER_URL=redis.url,
                   OCOP_SMTP_URL=smtp_url, OCOP_HOME=str(tmp_path), HOSTNAME=socket.gethostname())
        migrate = subprocess.run(local(services["migrate"]["command"], port), env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        checks = {name: healthcheck(services[name], port) for name in ("api", "worker", "beat")}
        assert not passes(checks["beat"], env), "no heartbeat before beat runs"
        procs = {name: Proc(name, local(services[name]["command"], port), env, tmp_path)
                 for name in ("api", "worker", "beat")}
        with running(*procs.values()):
            for proc in procs.values():
                proc.start(ready=None)
            for name, check in checks.items():
                wait_until(lambda c=check: passes(c, env), 90,  # type: ignore[misc]
                           f"{name} to pass its health check {check}", every=1)
            app = make_app(pg_url, broker_url=redis.url)
            world = World(app)
            with app.db.begin() as conn:
                conn.execute(update(producers).values(email="p@example.vn"))
            code = world.register()
            world.fire(code, "submit", "producer1", DOCS)
            wait_until(lambda: len(mails) >= 2, 60, "the registration and submission e-mails")
            app.close()
            procs["beat"].stop()
        heartbeat = tmp_path / "beat.heartbeat"
        old = time.time() - 3600
        os.utime(heartbeat, (old, old))
        assert not passes(checks["beat"], env), "a beat that stopped ticking is unhealthy"
