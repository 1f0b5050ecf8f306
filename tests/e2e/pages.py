"""What a person sees on a page, and the system codes that must never be part of it.

The list of codes is built from ``states/`` (every state, trigger, role and clock kind of every
rule version), the deadline and certificate kinds of ``workflow/`` and every code the catalogue
labels, of every kind but the sentence kinds (``ui``, ``error``, ``explain``, ``next``) and the
rule versions (``1048`` is a decision number people read). Visible text is cut into tokens, runs
of ``[A-Za-z0-9_]``, after web and e-mail addresses are taken out (a status link may be shown);
a token that is a code is a leak. Codes with ``_`` are compared ignoring case, the others as
written (an English word such as ``draft`` or ``city`` in a Vietnamese page is a leak too).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Response

import states
from states.model import ALL_ROLES
from workflow import i18n, sweep_set
from workflow.store import deadlines

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
SENTENCE_KINDS = ("ui", "error", "explain", "next", "rules")
CERTIFICATE_STATUSES = ("valid", "expired", "revoked", "superseded")
# Codes that are also words a Vietnamese page may rightly show; keep this list short.
ALLOWED = {
    "email",  # "email" is the everyday Vietnamese word for e-mail (channel code ``email``)
    "webhook",  # no Vietnamese word; officials write "webhook" (channel code ``webhook``)
}


def system_codes() -> frozenset[str]:
    lcs = states.LIFECYCLES.values()
    found: set[str] = set(states.ALL_STATES) | set(ALL_ROLES)
    found |= {t for lc in lcs for t in lc.triggers()} | {"register"}
    found |= {c.kind for lc in lcs for c in lc.clocks.values()}
    found |= set(deadlines.CERT_KINDS) | {k for k, _ in deadlines.COMPLETION_REMINDERS}
    found |= set(sweep_set.SET_BASED) | set(CERTIFICATE_STATUSES)
    for kind in i18n.KINDS:
        if kind not in SENTENCE_KINDS:
            found |= set(i18n.codes(kind))
    return frozenset(c for c in found if not c.isdigit() and c not in ALLOWED)


CODES = system_codes()
FOLDED = {c.lower() for c in CODES if "_" in c}
# English function words: no Vietnamese syllable is spelt like them, so one of them on a
# Vietnamese page means an English sentence (an untranslated message, reason or label).
ENGLISH = frozenset({
    "the", "and", "is", "are", "was", "were", "of", "for", "with", "from", "into", "not",
    "cannot", "must", "should", "has", "have", "been", "will", "this", "that", "these", "which",
    "when", "there", "your", "please", "only"})
ADDRESSES = re.compile(r"(?:https?://|/(?:status|verify|console)/)\S+|\S+@\S+\.\w+")
TOKEN = re.compile(r"[A-Za-z0-9_]+")

# Everything a person can read that ``inner_text`` leaves out: the title, tooltips, labels for
# screen readers, placeholders, the options of every list, button values, the diagram's text.
EXTRA_TEXT = """() => {
  const out = [["title", document.title]];
  for (const el of document.querySelectorAll("[title],[alt],[placeholder],[aria-label]"))
    for (const a of ["title", "alt", "placeholder", "aria-label"])
      if (el.hasAttribute(a)) out.push([a, el.getAttribute(a)]);
  for (const o of document.querySelectorAll("option")) out.push(["option", o.textContent]);
  for (const i of document.querySelectorAll("input[type=submit],input[type=button]"))
    out.push(["button", i.value]);
  for (const t of document.querySelectorAll("svg text, svg title"))
    out.push(["svg", t.textContent]);
  return out;
}"""
OPEN_ALL = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"


def leaks(where: str, text: str, plain: bool = True) -> list[tuple[str, str]]:
    """``(code, "<where>: …context…")`` for each code found in ``text``; with ``plain``
    false, only codes with an underscore (an English page may say "draft")."""
    clean = ADDRESSES.sub(" ", text)
    out = []
    for m in TOKEN.finditer(clean):
        token = m.group()
        if (plain and token in CODES) or ("_" in token and token.lower() in FOLDED):
            context = " ".join(clean[max(0, m.start() - 40):m.end() + 40].split())
            out.append((token, f"{where}: …{context}…"))
    return out


def english(where: str, text: str) -> list[tuple[str, str]]:
    """``(word, "<where>: …context…")`` for each English function word in ``text``."""
    clean = ADDRESSES.sub(" ", text)
    return [(m.group().lower(),
             f"{where}: …{' '.join(clean[max(0, m.start() - 40):m.end() + 40].split())}…")
            for m in TOKEN.finditer(clean) if m.group().lower() in ENGLISH]


def visible_text(page: Page) -> list[tuple[str, str]]:
    """(where, text) pairs of everything readable on the page, folded parts unfolded."""
    page.evaluate(OPEN_ALL)
    pairs: list[Any] = page.evaluate(EXTRA_TEXT)
    return [("body", page.inner_text("body")), *((str(w), str(t or "")) for w, t in pairs)]


@dataclass
class Findings:
    """What a group of visits found wrong, by page; empty when all is well."""

    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # screenshot names taken
    statuses: Counter[int | None] = field(default_factory=Counter)  # pages by HTTP status

    def add(self, label: str, url: str, problem: str) -> None:
        self.problems.append(f"[{label}] {url}: {problem}")

    def report(self) -> str:
        return f"{len(self.problems)} problem(s):\n" + "\n".join(self.problems)

    def summary(self, test: str) -> list[str]:
        """A heading with the pages seen, by status, then every problem: for the file."""
        pages = ", ".join(f"{n} × {status}" for status, n in
                          sorted(self.statuses.items(), key=str))
        return [f"## {test}: pages {pages or 'none'}; {len(self.problems)} problem(s)",
                *self.problems]


def write_report(name: str, lines: list[str]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


ANY_REFUSAL = range(400, 500)


def check_page(page: Page, response: Response | None, label: str, findings: Findings,
               expect: int | range | None = None, lang: str = "vi") -> str:
    """Status, language and every code visible on ``page``; returns the body text.
    ``expect`` is the status wanted (``ANY_REFUSAL`` for any 4xx), ``None`` for any < 500;
    ``lang`` the page's language (on an English page only codes with ``_`` are leaks)."""
    url = page.url
    status = response.status if response is not None else None
    findings.statuses[status] += 1
    wanted = range(expect, expect + 1) if isinstance(expect, int) else expect
    if status is None or status >= 500:
        findings.add(label, url, f"answered {status}")
    elif wanted is not None and status not in wanted:
        findings.add(label, url, f"answered {status}, expected {expect}")
    said = page.evaluate("() => document.documentElement.getAttribute('lang')")
    if said != lang:
        findings.add(label, url, f'<html lang="{said}">, expected "{lang}"')
    texts = visible_text(page)
    shown: dict[str, list[str]] = {}
    for where, text in texts:
        for code, context in leaks(where, text, plain=lang == "vi"):
            shown.setdefault(code, []).append(context)
    for code, contexts in shown.items():  # each code once a page, where it is first seen
        more = f" (and {len(contexts) - 1} more place(s))" if len(contexts) > 1 else ""
        findings.add(label, url, f"shows code {code!r} in {contexts[0]}{more}")
    words = [found for where, text in texts for found in english(where, text)
             if lang == "vi"]
    if words:
        findings.add(label, url, f"shows English ({', '.join(sorted({w for w, _ in words}))})"
                                 f" in {words[0][1]}")
    return texts[0][1]


def shot(page: Page, name: str, findings: Findings) -> None:
    """A full-page screenshot, once per name."""
    if name in findings.seen:
        return
    findings.seen.add(name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
