"""The programme register over HTTP (``/api/v1/register``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/register", tags=["register"])
