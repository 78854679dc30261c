"""Outbox commit-to-consume latency: how long an event takes from the producer's COMMIT to the consumer's handler.

Two service runtimes (producer and consumer), each with its own throwaway PostgreSQL database, meet on RabbitMQ
(or, with --backend sqlite, on the in-memory bus). The producer commits events at a steady rate; the consumer's
handler records ``now - committed_at``. Writes ``var/bench/outbox.json``.

    uv run python bench/outbox_bench.py [--events 2000] [--rate 200] [--backend postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from egov_dossier.config import MIGRATIONS_DIR
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.contracts import EventData
from egov_shared.events import CloudEvent
from egov_shared.runtime import ServiceRuntime
from egov_shared.settings import ServiceSettings
from egov_shared.testing.backends import new_bus_config, throwaway_database
from egov_shared.uow import UnitOfWork

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: bench.benchlib importable
from bench.benchlib import percentile

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


class BenchPing(EventData):
    event_type: ClassVar[str] = "bench.ping"
    seq: int


class ProducerSettings(ServiceSettings):
    service_name: ClassVar[str] = "bench-producer"


class ConsumerSettings(ServiceSettings):
    service_name: ClassVar[str] = "bench-consumer"


async def run(events: int, rate: float, backend: str) -> dict[str, Any]:
    os.environ.setdefault("EGOV_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    os.environ.setdefault("EGOV_TEST_AMQP_URL", DEFAULT_AMQP)
    bus = new_bus_config(backend)
    committed_at: dict[int, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def on_ping(uow: UnitOfWork, data: BenchPing, event: CloudEvent) -> None:
        latencies.append(time.perf_counter() - committed_at[data.seq])
        if len(latencies) >= events:
            done.set()

    async with (
        throwaway_database(backend, name_hint="bench_p") as producer_db,
        throwaway_database(backend, name_hint="bench_c") as consumer_db,
    ):
        broker = InMemoryBroker() if bus.amqp_url is None else None
        common = {**bus.settings(), "relay_poll_seconds": 1.0, "log_json": False}
        producer = ServiceRuntime(
            ProducerSettings.model_validate({"database_url": producer_db, **common}),
            migrations_dir=MIGRATIONS_DIR,
            broker=broker,
        )
        consumer = ServiceRuntime(
            ConsumerSettings.model_validate({"database_url": consumer_db, **common}),
            migrations_dir=MIGRATIONS_DIR,
            consumers={BenchPing.event_type: on_ping},
            broker=broker,
        )
        await consumer.start()
        await producer.start()
        try:
            if bus.amqp_url is not None:
                for runtime in (producer, consumer):
                    await runtime.bus.wait_connected(30)  # type: ignore[attr-defined]
            interval = 1.0 / rate
            started = time.perf_counter()
            for seq in range(events):
                async with producer.new_uow() as uow:
                    uow.publish(BenchPing(seq=seq))
                    committed_at[seq] = time.perf_counter()  # set before commit returns: measured from it
                    await uow.commit()
                    committed_at[seq] = time.perf_counter()
                await asyncio.sleep(max(0.0, started + (seq + 1) * interval - time.perf_counter()))
            async with asyncio.timeout(120):
                await done.wait()
            elapsed = time.perf_counter() - started
        finally:
            await producer.stop()
            await consumer.stop()
            if bus.amqp_url is not None:
                from egov_shared.testing.backends import delete_broker_topology

                await delete_broker_topology(bus, [consumer.queue])
    ms = [value * 1000 for value in latencies]
    return {
        "benchmark": "outbox commit-to-consume latency",
        "backend": "postgresql+rabbitmq" if backend == "postgres" else "sqlite+in-memory",
        "events": events,
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(events / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(ms, 50), 2),
            "p90": round(percentile(ms, 90), 2),
            "p99": round(percentile(ms, 99), 2),
            "max": round(max(ms), 2),
            "mean": round(statistics.fmean(ms), 2),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="events committed per second")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    report = asyncio.run(run(args.events, args.rate, args.backend))
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    name = "outbox.json" if args.backend == "postgres" else "outbox-sqlite.json"
    (out / name).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
