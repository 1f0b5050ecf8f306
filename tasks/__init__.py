"""Thin Celery tasks: primitive ids in, one engine or relay call, nothing clever."""
