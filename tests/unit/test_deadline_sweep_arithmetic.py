"""Deadline arithmetic: working days skip weekends and Vietnamese holidays (Tết included), and a
clock paused for completion resumes with exactly the working time it had left."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.support import DOCS, World
from workflow.clock import VIETNAM
from workflow.domain import calendar
from workflow.store.schema import deadlines


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VIETNAM)


def office_clock(world: World, code: str) -> dict[str, object]:
    with world.app.db.connect() as conn:
        row = conn.execute(select(deadlines).where(deadlines.c.kind == "commune_prescore")
                           .order_by(deadlines.c.id.desc())).first()
    assert row is not None, code
    return dict(row._mapping)


def test_one_working_day_after_the_friday_before_tet_is_the_monday_after_it() -> None:
    """Tết 2025 (27 January – 1 February) and the weekends around it do not count."""
    assert calendar.add_working_days(at(2025, 1, 24, 9), 1) == at(2025, 2, 3, 9)


def test_five_working_days_across_tet_2026_take_two_calendar_weeks() -> None:
    """From Friday 13 February 2026, Tết (16–20 February) and two weekends are skipped."""
    assert calendar.add_working_days(at(2026, 2, 13, 14, 30), 5) == at(2026, 2, 27, 14, 30)


def test_a_working_day_after_a_friday_skips_the_weekend() -> None:
    """Saturday and Sunday are not working days."""
    assert calendar.add_working_days(at(2025, 10, 10, 16), 1) == at(2025, 10, 13, 16)


def test_reunification_and_labour_day_are_skipped_together() -> None:
    """30 April and 1 May 2026 fall on Thursday and Friday: the next working day is Monday."""
    assert calendar.add_working_days(at(2026, 4, 29, 9), 1) == at(2026, 5, 4, 9)


def test_an_observed_holiday_is_skipped() -> None:
    """Hùng Kings' day 2026 falls on a Sunday and is observed on Monday 27 April."""
    assert calendar.add_working_days(at(2026, 4, 24, 9), 1) == at(2026, 4, 28, 9)


def test_working_seconds_between_count_no_holiday_time() -> None:
    """A span over Tết 2026 holds only the working days' seconds."""
    left = calendar.working_seconds_between(at(2026, 2, 13, 9), at(2026, 2, 23, 9))
    assert left == calendar.DAY  # Friday 09:00 to Monday 23rd 09:00 is one working day


def test_the_review_clock_over_tet_is_due_after_fifteen_working_days(world: World) -> None:
    """A commune pre-score started on 9 February 2026 is due on 9 March, Tết excluded."""
    world.clock.set(at(2026, 2, 9, 9))
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    assert office_clock(world, code)["due_at"] == at(2026, 3, 9, 9)


def test_a_clock_paused_for_completion_resumes_with_the_time_it_had_left(world: World) -> None:
    """Due 29 September; paused with 13 working days left on 10 September; resumed on
    22 September, it is due 13 working days later, on 9 October."""
    world.clock.set(at(2025, 9, 8, 9))
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    assert office_clock(world, code)["due_at"] == at(2025, 9, 29, 9)
    world.clock.set(at(2025, 9, 10, 9))
    world.fire(code, "request_completion", "commune1", reason="thiếu giấy phép")
    paused = office_clock(world, code)
    assert paused["status"] == "paused"
    assert paused["remaining_seconds"] == 13 * calendar.DAY
    world.clock.set(at(2025, 9, 22, 9))
    world.fire(code, "resubmit", "producer1")
    resumed = office_clock(world, code)
    assert (resumed["status"], resumed["due_at"]) == ("open", at(2025, 10, 9, 9))


def test_a_clock_paused_over_tet_loses_none_of_its_time(world: World) -> None:
    """Started 6 February 2026 (due 6 March), paused on Friday 13 February at 09:00 with 10
    working days left, resubmitted during Tết: the clock restarts on the first working day after
    Tết and the 10 days run out at the end of Friday 6 March."""
    world.clock.set(at(2026, 2, 6, 9))
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.clock.set(at(2026, 2, 13, 9))
    world.fire(code, "request_completion", "commune1", reason="thiếu ảnh sản phẩm")
    left = office_clock(world, code)["remaining_seconds"]
    world.clock.set(at(2026, 2, 20, 9))
    world.fire(code, "resubmit", "producer1")
    due = office_clock(world, code)["due_at"]
    assert left == 10 * calendar.DAY
    assert due == at(2026, 3, 7, 0)
    assert calendar.working_seconds_between(at(2026, 2, 20, 9), due) == left
