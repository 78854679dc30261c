"""Prometheus metrics of one service. Each app has its own registry: the embedded mode runs six in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service}
        self.http_requests = Counter(
            "egov_http_requests_total",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "egov_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "egov_outbox_backlog", "Events committed but not yet published", registry=self.registry
        )
        self.events_published = Counter(
            "egov_events_published_total", "Events published by type", ["type"], registry=self.registry
        )
        self.events_consumed = Counter(
            "egov_events_consumed_total",
            "Events consumed by type and outcome (applied, duplicate)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.consumer_failures = Counter(
            "egov_consumer_failures_total", "Event handler failures by type", ["type"], registry=self.registry
        )
        self.job_runs = Counter(
            "egov_job_runs_total",
            "Periodic job runs by job and outcome",
            ["job", "outcome"],
            registry=self.registry,
        )
        info = Gauge(
            "egov_service_info", "The service this process serves", ["service"], registry=self.registry
        )
        info.labels(**labels).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
