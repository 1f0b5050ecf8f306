"""Thin Celery tasks: primitive ids in, one engine or relay call, nothing clever."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from celery import shared_task

P = ParamSpec("P")
R = TypeVar("R")


def task(name: str) -> Callable[[Callable[Concatenate[Any, P], R]], Callable[P, R]]:
    """Celery's ``shared_task`` (untyped), typed: a bound task named ``name`` whose result is
    not stored (the outbox and deadline rows are the record). The decorated function takes the
    task as ``self``; callers pass the other arguments only."""

    def decorate(fn: Callable[Concatenate[Any, P], R]) -> Callable[P, R]:
        made: Any = shared_task(name=name, bind=True, ignore_result=True)(fn)
        return cast(Callable[P, R], made)

    return decorate
