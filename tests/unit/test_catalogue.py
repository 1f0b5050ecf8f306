"""The one catalogue of words: every code a person can meet has Vietnamese and English words."""

from __future__ import annotations

import re

import pytest

import states
from states.groups import ALL_GROUPS
from states.model import ALL_ROLES
from workflow import i18n
from workflow.domain import certificates
from workflow.domain.guards import PRESCORE_CRITERIA, REEVALUATION_REASONS, REVOCATION_REASONS
from workflow.registry import KINDS as PRODUCER_KINDS
from workflow.store import deadlines

CODES: dict[str, tuple[str, ...]] = {
    "state": states.ALL_STATES,
    "trigger": ("register", *{t for lc in states.LIFECYCLES.values() for t in lc.triggers()}),
    "role": ALL_ROLES,
    "deadline": (*{c.kind for lc in states.LIFECYCLES.values() for c in lc.clocks.values()},
                 *(kind for kind, _ in deadlines.COMPLETION_REMINDERS),
                 *(kind for kind, _ in certificates.NOTICES), "cert_expiry"),
    "criterion": PRESCORE_CRITERIA,
    "reevaluation_reason": REEVALUATION_REASONS,
    "revocation_reason": REVOCATION_REASONS,
    "level": tuple(certificates.LEVEL_CODES),
    "group": ALL_GROUPS,
    "producer_kind": PRODUCER_KINDS,
    "rules": states.RULE_VERSIONS,
}


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("kind", sorted(CODES))
def test_every_code_of_the_lifecycle_has_words_in_each_language(kind: str, lang: str) -> None:
    """Each state, trigger, role, clock, criterion, reason, level, group, producer kind and rule
    version that `states/` and the engine define is in the catalogue, in both languages."""
    missing = [code for code in CODES[kind] if not i18n.has(kind, code, lang)]
    assert missing == [], f"{lang}.po has no {kind} words for {missing}"


def test_both_languages_label_the_same_codes() -> None:
    """Nothing is translated into one language only: the two catalogues have the same keys."""
    assert set(i18n.catalogue("vi")) == set(i18n.catalogue("en"))


def test_placeholders_agree_between_languages() -> None:
    """A sentence with ``{case}`` in Vietnamese has ``{case}`` in English too, and no other."""
    field = re.compile(r"{(\w+)}")
    en = i18n.catalogue("en")
    differ = [key for key, words in i18n.catalogue("vi").items()
              if set(field.findall(words)) != set(field.findall(en.get(key, "")))]
    assert differ == []


def test_labels_are_words_not_codes() -> None:
    """No entry's words are its own code (an untranslated copy) unless the code is a number."""
    same = [key for lang in i18n.LANGS for key, words in i18n.catalogue(lang).items()
            if words == key[1] and not words.isdigit() and "_" in words]
    assert same == []


def test_a_sentence_is_filled_from_its_parameters() -> None:
    """``text`` fills placeholders and leaves an unknown one visible rather than failing."""
    assert i18n.label("state", "city_rating", "vi") == "Thành phố đánh giá"
    assert i18n.label("state", "city_rating", "en") == "City rating"
    assert i18n.label("state", None, "vi") == "—"


@pytest.mark.parametrize(("header", "lang"), [
    ("en-US,en;q=0.9,vi;q=0.8", "en"), ("vi-VN, en;q=0.5", "vi"), ("fr, de", None),
    ("en;q=0, vi;q=0.1", "vi"), ("", None), ("en;q=bad", None), (None, None),
])
def test_accept_language_picks_the_best_of_ours(header: str | None, lang: str | None) -> None:
    """The API's language comes from Accept-Language quality values; unknown ones are ignored."""
    assert i18n.from_accept(header) == lang


@pytest.mark.parametrize(("env", "lang"), [
    ({"OCOP_LANG": "en"}, "en"), ({"LANG": "en_US.UTF-8"}, "en"), ({"LANG": "vi_VN.UTF-8"}, "vi"),
    ({"LANG": "C.UTF-8"}, "vi"), ({}, "vi"), ({"OCOP_LANG": "vi", "LANG": "en_US.UTF-8"}, "vi"),
])
def test_the_command_line_speaks_ocop_lang_then_lang(env: dict[str, str], lang: str) -> None:
    """``OCOP_LANG`` wins over ``LANG``; a locale we do not have falls back to Vietnamese."""
    assert i18n.from_env(env) == lang
