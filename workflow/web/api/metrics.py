"""Prometheus metrics: refusals counted as they happen; the transitions this process applied
(the app's tally), the outbox backlog and overdue cases read at scrape time. One registry per
app, none global."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.bootstrap import App
from workflow.engine import ALL_TRIGGERS
from workflow.errors import OcopError
from workflow.store import queries


class Backlog(Collector):
    """Read when Prometheus scrapes: transitions applied by this process (the app's tally),
    pending outbox messages, overdue cases."""

    def __init__(self, app: App) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        transitions = CounterMetricFamily("ocop_transitions", "Transitions applied by this "
                                          "process", labels=["trigger", "from_state", "to_state"])
        for labels, n in sorted(self.app.tally.counts().items()):
            transitions.add_metric(list(labels), n)
        yield transitions
        backlog = GaugeMetricFamily("ocop_outbox_backlog", "Pending outbox messages",
                                    labels=["channel"])
        overdue = GaugeMetricFamily("ocop_overdue_cases", "Cases with an open deadline past due")
        with self.app.db.connect() as conn:
            for channel, n in sorted(queries.outbox_backlog(conn).items()):
                backlog.add_metric([channel], n)
            overdue.add_metric([], queries.overdue_count(conn, self.app.clock.now()))
        yield backlog
        yield overdue


# Why a console sign-in failed: no such user or not their token, a disabled account, an expired
# token, a field left empty, too many failures (throttled), a form posted from another site,
# the store of failure counts not answering (unavailable).
SIGNIN_FAILURES = ("unknown", "disabled", "expired", "missing", "throttled", "cross_site",
                   "unavailable")


class Metrics:
    def __init__(self, app: App) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.refusals = Counter("ocop_refusals", "Events refused (by state, role, scope, guard "
                                "or conflict)", ["trigger", "kind"], registry=self.registry)
        self.latency = Histogram("ocop_http_request_duration_seconds", "API latency",
                                 ["method", "route", "status"], registry=self.registry,
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5))
        self.signin_failures = Counter("ocop_signin_failures", "Console sign-ins refused, by "
                                       "reason", ["reason"], registry=self.registry)
        for reason in SIGNIN_FAILURES:
            self.signin_failures.labels(reason)
        self.registry.register(Backlog(app))

    def refused(self, trigger: str, error: OcopError) -> None:
        self.refusals.labels(trigger if trigger in ALL_TRIGGERS else "unknown", error.kind).inc()

    def signin_failed(self, reason: str) -> None:
        self.signin_failures.labels(reason if reason in SIGNIN_FAILURES else "unknown").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Timing:
    """ASGI middleware: each request's latency by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "(unmatched)")
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started)
