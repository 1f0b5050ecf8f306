"""The administrators' accounts page in the console (``/console/accounts``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/accounts", include_in_schema=False)
