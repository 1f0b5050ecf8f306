"""``ocop producers invite`` as the office runs it — a real process on PostgreSQL — prints a link
that works: the page opens in the console, the producer sets a password, is signed in, and
the same link refused the second time; the admin log holds both steps and stays intact."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.api_support import client
from tests.support import World, make_app
from tests.unit.console_support import post_sign_in
from workflow.clock import FixedClock
from workflow.store import adminlog
from workflow.store.schema import admin_log, users
from workflow.web.console.routes import SESSION

OCOP = str(Path(sys.executable).with_name("ocop"))
PUBLIC = "https://ocop.hanoi.example.vn"


def ocop(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=url, OCOP_LANG="en", OCOP_HOME=str(home),
               OCOP_PUBLIC_URL=PUBLIC, OCOP_SIGNING_KEY=os.environ["OCOP_SIGNING_KEY"])
    return subprocess.run([OCOP, *args], capture_output=True, text=True, timeout=120, env=env,
                          check=False)


def test_the_printed_link_sets_up_a_producer_account(pg_url: str, tmp_path: Path) -> None:
    app = make_app(pg_url)
    world = World(app)
    app.close()
    made = ocop(pg_url, tmp_path, "producers", "invite", str(world.p1), "--account",
                "htx-tuong", "--as", "commune1")
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip()
    assert link.startswith(f"{PUBLIC}/console/invite/")
    refused = ocop(pg_url, tmp_path, "producers", "invite", str(world.p1), "--account", "x",
                   "--as", "commune2")
    assert refused.returncode == 4 and "may not invite" in refused.stderr
    # the process used the real clock: so does the server that answers the link
    served = make_app(pg_url, FixedClock(datetime.now(UTC)))
    try:
        with client(served) as browser:
            path = urlsplit(link).path
            page = browser.get(path)
            assert page.status_code == 200 and "htx-tuong" in page.text
            done = browser.post(path, data={"password": "mật khẩu dài", "repeat":
                                            "mật khẩu dài"})
            assert done.status_code == 303 and SESSION in done.cookies
            assert browser.get("/console/applications").status_code == 200
            assert browser.get(path).status_code == 410
            browser.cookies.clear()
            assert post_sign_in(browser, "htx-tuong", "mật khẩu dài").status_code == 303
        with served.db.connect() as conn:
            user = conn.execute(select(users).where(users.c.name == "htx-tuong")).one()
            log = conn.execute(select(admin_log.c.actor, admin_log.c.action)
                               .order_by(admin_log.c.seq)).all()
            intact = adminlog.verify(conn).first_break is None
        assert (user.role, user.producer_id, user.created_by) == ("producer", world.p1,
                                                                  "commune1")
        assert [tuple(e) for e in log] == [("commune1", "invite"),
                                           ("htx-tuong", "accept_invitation")]
        assert intact
    finally:
        served.close()
