"""A mixed data set for the console tests: for each rule version a case in every state its
lifecycle reaches (moved there by the engine), cases of another producer and commune, a case
whose rule version is not fixed yet, and what the HTML pages show a person."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import httpx

import states
from states.model import ALL_ROLES
from tests.support import START, World
from tests.unit.lifecycle_support import VERSIONS, Driver, happy, path_to
from workflow import i18n
from workflow.clock import VIETNAM
from workflow.sweep import Sweeper

OTHER = {"producer1": "producer2", "commune1": "commune2"}  # the same acts in Hà Đông


def every_state(world: World) -> dict[str, tuple[str, str]]:
    """``code -> (rule version, state)`` for a case in every reachable state of every version."""
    drive, made = Driver(world), {}
    for version in VERSIONS:
        for state in states.lifecycle(version).states:
            world.clock.set(START)
            code = drive.reach(version, state)
            made[code] = (version, state)
    world.clock.set(START)
    return made


def floating_reevaluation(world: World) -> str:
    """A case certified under 148 (evaluated on 2 July 2025, the last days of 148, by the
    district's successor; rules not pinned), re-opened in September: its next review follows
    the rule version in force today (1489)."""
    drive = Driver(world)
    world.clock.set(datetime(2025, 7, 2, 9, 0, tzinfo=VIETNAM))
    code = world.register()
    for trigger, source, dest in path_to("148", "certified"):
        drive.step(code, "148", trigger, source, dest)
    world.clock.set(START)
    world.fire(code, "open_reevaluation", "city", {"reason": "criteria_change"})
    return code


def swept(world: World) -> dict[str, tuple[str, str]]:
    """Two cases the scheduler acted on: one escalated for a late review start, one withdrawn
    by the system when the producer missed the completion deadline."""
    drive = Driver(world)
    world.clock.set(START)
    late = drive.reach("1489", "registered")
    gone = drive.reach("1489", "needs_completion")
    world.clock.advance(days=45)
    Sweeper(world.app.engine, world.app.relay).run()
    world.clock.set(START)
    return {late: ("1489", "registered"), gone: ("1489", "withdrawn")}


def mixed(world: World) -> dict[str, tuple[str, str]]:
    """Every state of every version, two cases of producer2, two the scheduler acted on and
    the floating re-evaluation."""
    made = swept(world)
    made.update(every_state(world))
    other = Driver(world)
    for state in ("registered", "commune_prescore"):
        code = other.new_case("1489", producer="producer2")
        for trigger, _source, dest in path_to("1489", state):
            who, data, reason = happy("1489", trigger, dest)
            world.fire(code, trigger, OTHER.get(who, who), data, reason)
        made[code] = ("1489", state)
    made[floating_reevaluation(world)] = ("148", "reevaluation")
    return made


# --- signing in as a browser does ------------------------------------------------------------

SIGNIN_FORM_VALUE = re.compile(r'name="csrf" value="([^"]*)"')


def sign_in_form(browser: httpx.Client, lang: str | None = None) -> str:
    """Open the sign-in page as a browser does (its ``ocop_csrf`` cookie stays in
    ``browser``); the form's hidden anti-forgery value."""
    page = browser.get("/console/sign-in", params={"lang": lang} if lang else None)
    assert page.status_code == 200, page.text
    found = SIGNIN_FORM_VALUE.search(page.text)
    assert found and found.group(1), "the sign-in page has no anti-forgery value"
    return found.group(1)


def post_sign_in(browser: httpx.Client, name: str, token: str, lang: str | None = None,
                 **options: Any) -> httpx.Response:
    """Sign in the way a person does: open the sign-in page, then post its form (with the
    page's anti-forgery value) with ``name`` and ``token``."""
    csrf = sign_in_form(browser, lang)
    url = f"/console/sign-in?lang={lang}" if lang else "/console/sign-in"
    return browser.post(url, data={"name": name, "token": token, "csrf": csrf}, **options)


def post_sign_out(browser: httpx.Client, **options: Any) -> httpx.Response:
    """Press "sign out" on a signed-in page (the inbox): its form's session-bound value."""
    page = browser.get("/console/inbox")
    found = re.search(r'action="/console/sign-out"[^>]*><input type="hidden" name="csrf" '
                      r'value="([^"]*)"', page.text)
    return browser.post("/console/sign-out", data={"csrf": found.group(1) if found else ""},
                        **options)


# --- what a person reads on a page -----------------------------------------------------------

READABLE_ATTRS = ("title", "alt", "placeholder", "aria-label")


class Readable(HTMLParser):
    """The text of a page a person reads: body text, tooltips, labels, options, SVG text."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        for name, value in attrs:
            if name in READABLE_ATTRS and value:
                self.parts.append(value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def readable(html: str) -> str:
    parser = Readable()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def system_codes() -> frozenset[str]:
    """States, triggers, roles and clock kinds of ``states/``, and every code the catalogue
    labels (its sentence kinds' keys and the rule versions' numbers aside)."""
    lcs = states.LIFECYCLES.values()
    found = set(states.ALL_STATES) | set(ALL_ROLES) | {"register"}
    found |= {t for lc in lcs for t in lc.triggers()}
    found |= {c.kind for lc in lcs for c in lc.clocks.values()}
    for kind in i18n.KINDS:
        if kind not in ("explain", "error", "next", "rules"):
            found |= set(i18n.codes(kind))
    # "webhook" is the word officials use in both languages (channel label "Webhook").
    return frozenset(c for c in found if not c.isdigit() and c != "webhook")


CODES = system_codes()
ADDRESSES = re.compile(r"(?:https?://|/(?:status|verify|console)/)\S+|\S+@\S+\.\w+")
TOKEN = re.compile(r"\w+")  # Unicode words: "toán" is one word, not "to" and "n"
# What the test data typed (user names, free-text reasons): people's words, not system codes.
TYPED = ("the product label is missing", "no trademark registration yet")


def codes_shown(html: str, names: tuple[str, ...] = ()) -> list[str]:
    """Each system code a person would read on the page, with a little context; ``names`` are
    the user names the test data gave people (a user may be called "city")."""
    text = ADDRESSES.sub(" ", readable(html))
    for typed in (*TYPED, *names):
        text = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", " ", text)
    return [f"{m.group()!r}: …{text[max(0, m.start() - 30):m.end() + 30]}…"
            for m in TOKEN.finditer(text) if m.group() in CODES]
