"""Re-evaluation campaigns over HTTP (``/api/v1/campaigns``; the CLI's ``ocop campaign``): city
officers, supervisors and administrators read them; city officers and administrators preview,
plan, run and cancel them (:data:`workflow.campaigns.ROLES`).

A run answers at once (202) and goes on in the background (:func:`begin`, also the console's
"Run" button): a daemon thread of this process calls :func:`workflow.campaigns.run`, which hands
the chunks to the Celery workers when ``OCOP_BROKER_URL`` points at Redis and watches them, or
runs them itself. This process starts at most one thread per campaign; across processes the
core's claiming keeps two runners from taking the same case."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from workflow import campaigns
from workflow.bootstrap import App
from workflow.domain.facts import Actor
from workflow.errors import render
from workflow.web.api.auth import AppDep, CurrentActor, require_role
from workflow.web.api.models import Strict
from workflow.web.api.problems import documented, lang_of

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
log = structlog.get_logger("ocop.campaigns")
# Who reads campaigns: the city office and those who oversee it.
READERS = ("city_officer", "supervisor", "admin")
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the campaign's id")]
Status = Literal["planned", "running", "done", "cancelled"]
WORDS = ", ".join(f"{k} ({ops})" for k, ops in campaigns.WORDS.items())


class CampaignIn(Strict):
    where: str = Field(min_length=1, max_length=campaigns.MAX_WHERE,
                       description=f'the certificates, e.g. "rules=1048 stars>=4 trademark=no"; '
                                   f"words: {WORDS}")
    reason: str = Field(default="criteria_change", max_length=40,
                        description="why the cases are re-opened: "
                                    + ", ".join(campaigns.REASONS))
    message: str | None = Field(default=None, max_length=campaigns.MAX_MESSAGE,
                                description="added to each producer's notice")
    start_review: bool = Field(default=False, description="also start each case's review")
    limit: int = Field(default=100, ge=0, le=1000,
                       description="how many of the selected cases to list")


class Selected(BaseModel):
    case_id: int
    code: str
    product: str
    producer: str
    stars: str | None = Field(description="3, 4, 4+ (4★ proposed for 5★) or 5")
    number: str = Field(description="the certificate's number")


class Preview(BaseModel):
    where: str
    reason: str
    message: str | None
    start_review: bool
    count: int = Field(description="how many cases the words select")
    cases: list[Selected] = Field(description="the first ``limit`` of them, by case id")


class Planned(Preview):
    id: int
    status: Status


class Counts(BaseModel):
    done: int
    skipped: int
    failed: int
    left: int = Field(description="items still pending")


class Campaign(BaseModel):
    id: int
    where: str
    status: Status
    reason: str
    message: str | None
    start_review: bool
    selected: int
    planned_by: str
    planned_at: datetime
    started_by: str | None
    started_at: datetime | None
    finished_at: datetime | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    counts: Counts


class Why(BaseModel):
    code: str
    params: dict[str, Any]


class Item(BaseModel):
    code: str = Field(description="the case")
    product: str
    detail: Why | None
    why: str = Field(description="the detail as a sentence in the request's language")


class CampaignShown(Campaign):
    skipped: list[Item] = Field(description="the first skipped items, with why")
    failed: list[Item] = Field(description="the first failed items, with why")


class Started(BaseModel):
    id: int
    status: Status
    counts: Counts


class Runs:
    """The campaigns this process runs in a background thread: one thread per campaign."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[tuple[int, int]] = set()

    def start(self, app: App, campaign_id: int, actor: Actor) -> bool:
        """Run the campaign in a daemon thread, unless this process already does."""
        key = (id(app), campaign_id)
        with self._lock:
            if key in self._running:
                return False
            self._running.add(key)
        threading.Thread(target=self._run, args=(app, campaign_id, actor, key), daemon=True,
                         name=f"campaign-{campaign_id}").start()
        return True

    def _run(self, app: App, campaign_id: int, actor: Actor, key: tuple[int, int]) -> None:
        try:
            campaigns.run(app, campaign_id, actor,
                          enqueue=campaigns.celery_enqueue(app.settings))
        except Exception:  # a thread has no caller to tell: the log does; run it again
            log.exception("campaign_run_failed", campaign=campaign_id)
        finally:
            with self._lock:
                self._running.discard(key)


RUNS = Runs()


def begin(app: App, campaign_id: int, actor: Actor) -> dict[str, Any]:
    """Start (or resume) the campaign here and now — refused as :func:`campaigns.start`
    refuses — and leave its run to a background thread; its id, status and counts."""
    if campaigns.start(app, campaign_id, actor):
        RUNS.start(app, campaign_id, actor)
    else:
        campaigns.finish(app, campaign_id)
    shown = campaigns.show(app, campaign_id, items=0)
    return {"id": campaign_id, "status": shown["status"], "counts": shown["counts"]}


def explained(shown: dict[str, Any], lang: str) -> dict[str, Any]:
    """:func:`campaigns.show` with each skipped and failed item's ``why`` in ``lang``."""
    def why(item: dict[str, Any]) -> dict[str, Any]:
        detail = item["detail"] or {}
        return {**item, "why": render(detail.get("code", "no_value"),
                                      detail.get("params") or {}, lang)}
    return {**shown, "skipped": [why(i) for i in shown["skipped"]],
            "failed": [why(i) for i in shown["failed"]]}


def _asked(app: App, actor: Actor, body: CampaignIn) -> dict[str, Any]:
    return {"app": app, "actor": actor, "where": body.where, "reason": body.reason,
            "message": body.message, "start_review": body.start_review, "limit": body.limit}


@router.post("/preview", response_model=Preview,
             responses=documented(400, 401, 403, 404, 413, 422))
def preview(body: CampaignIn, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """The count and the first cases the words select; nothing is written."""
    return campaigns.preview(**_asked(app, actor, body))


@router.post("", status_code=201, response_model=Planned,
             responses=documented(400, 401, 403, 404, 413, 422))
def plan(body: CampaignIn, app: AppDep, actor: CurrentActor, response: Response
         ) -> dict[str, Any]:
    """Save the plan (CLI: ``ocop campaign plan``): the selection frozen, no case changed."""
    made = campaigns.plan(**_asked(app, actor, body))
    response.headers["Location"] = f"/api/v1/campaigns/{made['id']}"
    return made


@router.get("", response_model=list[Campaign], responses=documented(401, 403, 422))
def list_campaigns(app: AppDep, actor: CurrentActor,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    """The campaigns, the newest first, with their counts."""
    require_role(actor, READERS, "do_read_campaigns")
    return campaigns.listing(app, limit)


@router.get("/{campaign_id}", response_model=CampaignShown,
            responses=documented(401, 403, 404, 422))
def show_campaign(campaign_id: CampaignId, request: Request, app: AppDep, actor: CurrentActor,
                  items: Annotated[int, Query(ge=0, le=500)] = 50) -> dict[str, Any]:
    """One campaign: who planned and started it, when, its counts (done, skipped, failed,
    left), and the first skipped and failed items with why."""
    require_role(actor, READERS, "do_read_campaigns")
    return explained(campaigns.show(app, campaign_id, items), lang_of(request.headers))


@router.post("/{campaign_id}/run", status_code=202, response_model=Started,
             responses=documented(401, 403, 404, 409, 422))
def run_campaign(campaign_id: CampaignId, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """Start (or resume) the run in the background; follow it with ``GET`` (CLI: ``ocop
    campaign run``). A cancelled campaign is refused (409)."""
    return begin(app, campaign_id, actor)


@router.post("/{campaign_id}/cancel", response_model=CampaignShown,
             responses=documented(401, 403, 404, 409, 422))
def cancel_campaign(campaign_id: CampaignId, request: Request, app: AppDep,
                    actor: CurrentActor) -> dict[str, Any]:
    """Stop a planned or running campaign: its pending items stay pending."""
    return explained(campaigns.cancel(app, campaign_id, actor), lang_of(request.headers))
