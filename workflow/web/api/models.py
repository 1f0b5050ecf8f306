"""Request and response bodies. Requests use the CLI's option names and reject unknown fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProducerIn(Strict):
    name: str = Text
    kind: str = Field(max_length=32, description="enterprise, cooperative, cooperative_group "
                      "or household")
    district: str | None = Field(default=None, max_length=120,
                                 description="only before 2025-07-01: narrows a commune name")
    commune: str = Field(min_length=1, max_length=120,
                         description="the commune or ward: its code (10126) or its name")
    email: str | None = Field(default=None, max_length=254)
    webhook: str | None = Field(default=None, max_length=500)
    lang: str = Field(default="vi", max_length=2, description="vi or en")


class Producer(BaseModel):
    id: int
    name: str
    kind: str
    district: str | None
    commune: str | None
    district_code: str | None = Field(default=None, description="the unit key of the "
                                      "district (old:CODE), for units before 2025-07-01")
    commune_code: str | None = Field(default=None, description="the unit key of the commune "
                                     "or ward (CODE, or old:CODE for a retired one)")
    email: str | None
    webhook: str | None
    lang: str


class CaseIn(Strict):
    producer: int = Field(ge=1, le=2**31 - 1, description="the producer's id")
    product: str = Text
    group: str = Field(max_length=40, description="food, beverage, herbal, handicraft, ...")
    subgroup: str | None = Field(default=None, max_length=120)
    rules: str | None = Field(default=None, max_length=8,
                              description="pin the rule version: 1048, 148 or 1489")


class EventIn(Strict):
    trigger: str = Field(max_length=40)
    data: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(default=None, max_length=2000)


class Decision(BaseModel):
    """The People's Committee (or ministry) decision that puts a certificate in force."""

    number: str | None
    date: str | None
    body: str | None


class Certificate(BaseModel):
    number: str
    stars: int
    level: str
    rule_version: str
    issued_on: str = Field(description="the day its council scored")
    valid_to: str | None = Field(description="the last valid day: 36 months from the "
                                 "decision's date; null while the certificate is pending")
    status: str = Field(description="pending (no decision yet), valid, superseded, expired or "
                        "revoked")
    decision: Decision | None = None


class Deadline(BaseModel):
    kind: str
    due_at: str | None
    paused: bool
    level: int


class HistoryEntry(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seq: int
    trigger: str
    from_: str | None = Field(alias="from")
    to: str
    actor: str
    role: str
    at: str | None
    reason: str | None
    data: Any
    rule_version: str
    hash: str


class ProducerRef(BaseModel):
    id: int
    name: str


class Case(BaseModel):
    code: str
    state: str
    version: int
    rule_version: str
    producer: ProducerRef
    product: str
    group: str
    subgroup: str | None
    district: str | None
    commune: str | None
    district_code: str | None = None
    commune_code: str | None = None
    score: float | None
    stars: int | None
    proposed_stars: int | None = Field(default=None, description="5 during central review: "
                                       "the case is 4★, proposed for 5★")
    certificate: Certificate | None
    deadlines: list[Deadline]
    history: list[HistoryEntry]
    history_total: int | None = Field(default=None, description="in the answer to an event "
                                      "only: how many audit entries the case has; its "
                                      "``history`` then holds the newest 20 (GET the case or "
                                      "its /history for all)")
    status_url: str | None = Field(default=None, description="the producer's status page "
                                   "(the link every producer notice carries)")


class EventApplied(BaseModel):
    """The answer to an event under ``Prefer: return=minimal``: what the transition did."""

    model_config = ConfigDict(populate_by_name=True)

    code: str
    trigger: str
    from_: str = Field(alias="from")
    to: str
    version: int = Field(description="the case's version now (also its ETag)")
    seq: int = Field(description="the audit entry the event wrote (on a replay, the first one's)")
    message_ids: list[str] = Field(description="the notices it queued (empty on a replay)")
    replayed: bool = Field(description="true when an Idempotency-Key replayed the first result")


class Registered(BaseModel):
    """The answer to a registration under ``Prefer: return=minimal``."""

    code: str
    state: str
    version: int


class CaseSummary(BaseModel):
    code: str
    state: str
    product: str
    producer: str
    district: str | None
    commune: str | None
    district_code: str | None = None
    commune_code: str | None = None
    rule_version: str
    stars: int | None
    version: int
    due_at: str | None
    overdue: bool


class Page(BaseModel):
    items: list[CaseSummary]
    total: int = Field(description="how many cases match, on every page")
    limit: int
    offset: int
    next_offset: int | None


class AllowedTrigger(BaseModel):
    trigger: str
    allowed: bool
    guards: list[str] | None = None
    why: str | None = None
    why_code: str | None = None
    why_params: dict[str, Any] | None = None


class AuditRow(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    case: str
    seq: int
    at: str | None
    actor: str
    role: str
    trigger: str
    from_: str | None = Field(alias="from")
    to: str
    reason: str | None
    data: str
    rule_version: str
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditRow]
    limit: int
    offset: int
    next_offset: int | None


class ChainBreak(BaseModel):
    case: str
    seq: int
    problem: str
    sentence: str


class Verification(BaseModel):
    ok: bool
    cases: int
    entries: int
    first_break: ChainBreak | None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str  # in the language Accept-Language asks for (English by default)
    kind: str
    code: str  # the stable code of the error (the catalogue's ``error`` kind)
    params: dict[str, Any] = {}  # the values the sentence was made from, codes not words
    instance: str | None = None
    allowed: list[str] | None = None


class CertificateCheck(BaseModel):
    number: str
    valid_today: bool
    authentic: bool = Field(description="its signature checks under the office's key and its "
                            "case's audit trail agrees with the stored record; never valid "
                            "today otherwise")
    status: str
    stars: int
    level: str
    rule_version: str
    issued_on: str
    valid_to: str | None
    decision: Decision | None = None
    product: str
    producer: str
    checked_on: str


class Unit(BaseModel):
    key: str = Field(description="the statistics office's code; old:CODE for a unit that "
                     "ended on 2025-06-30")
    code: str
    level: str = Field(description="province, district or commune")
    kind: str = Field(description="the unit's type as its name says it: Xã, Phường, Huyện…")
    name: str
    parent: str | None
    parent_name: str | None
    province: str
    valid_from: str | None
    valid_to: str | None


class UnitLink(Unit):
    label: str
    default: bool | None = Field(default=None, description="the successor an old commune's "
                                 "producers and cases move to")


class UnitDetail(Unit):
    within: int = Field(description="how many units lie directly in this one")
    successors: list[UnitLink] = Field(description="what the unit became on 2025-07-01")
    predecessors: list[UnitLink] = Field(description="the old units it took in")
