"""The gateway's Prometheus metrics, served at ``/metrics`` from a registry of its own.

Counting is on every request's path, so it is kept to plain dictionary updates (prometheus_client's labelled
counter and histogram cost about 3 µs a request between them); the figures become metric families only when
scraped.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Latency:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, _Latency] = {}
        self.auth_failures: dict[str, int] = {}
        self.rate_limited: dict[str, int] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)

    def request(self, service: str, status: int, seconds: float) -> None:
        """One answered request; ``service`` is the upstream's name or ``gateway`` for the gateway's own."""
        key = (service, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        latency = self.latency.get(service)
        if latency is None:
            latency = self.latency[service] = _Latency()
        latency.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        latency.total += seconds

    def auth_failure(self, reason: str) -> None:
        self.auth_failures[reason] = self.auth_failures.get(reason, 0) + 1

    def limited(self, bucket: str) -> None:
        self.rate_limited[bucket] = self.rate_limited.get(bucket, 0) + 1

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "egov_gateway_requests", "Requests answered, by service and status", labels=["service", "status"]
        )
        for (service, status), count in sorted(self.requests.items()):
            requests.add_metric([service, str(status)], count)
        yield requests

        latency = HistogramMetricFamily(
            "egov_gateway_request_duration_seconds",
            "Time from a request's arrival to its answer, by service",
            labels=["service"],
        )
        for service, histogram in sorted(self.latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), histogram.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric([service], buckets, histogram.total)
        yield latency

        failures = CounterMetricFamily(
            "egov_gateway_auth_failures",
            "Requests refused by the token check, by reason (missing, token_expired, bad_signature, ...)",
            labels=["reason"],
        )
        for reason, count in sorted(self.auth_failures.items()):
            failures.add_metric([reason], count)
        yield failures

        limited = CounterMetricFamily(
            "egov_gateway_rate_limited",
            "Requests refused with 429, by bucket (authenticated, anonymous, credentials)",
            labels=["bucket"],
        )
        for bucket, count in sorted(self.rate_limited.items()):
            limited.add_metric([bucket], count)
        yield limited
