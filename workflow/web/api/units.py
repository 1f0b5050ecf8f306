"""Administrative units over HTTP: find a unit by code or name (``/api/v1/units``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/units", tags=["units"])
