"""The programme's figures over HTTP (``/api/v1/reports``, ``/api/v1/targets``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["reports"])
