"""Soak: N concurrent citizen journeys for a bounded time against the distributed topology on this machine.

Every service is its own process on its own PostgreSQL database, RabbitMQ between them, the gateway in front
(``egov_shared.testing.cluster``). One journey is what a citizen and the one-stop shop do for a dossier whose fee
is due at submission: upload, submit, see the invoice, pay on the VNPay simulator (its IPN comes back through the
gateway), wait for svc-dossier to hear of the payment, receive, assign, approve with a result signed as the agency,
return the result. The report gives journeys per minute, p50/p99 per step, errors, and each process's memory at
start and end and CPU seconds used.

    uv run python bench/soak_bench.py                      # 8 journeys at a time for 90 s (make bench)
    uv run python bench/soak_bench.py --concurrency 16 --seconds 600   # longer (make soak)

Needs EGOV_TEST_POSTGRES_URL (a role that may create databases) and EGOV_TEST_AMQP_URL, or the defaults below.
Writes var/bench/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: bench.benchlib importable
from bench.benchlib import cpu_seconds, machine, machine_busy_seconds, percentile
from egov_document.signing.samples import sample_decision_pdf
from egov_shared.testing.cluster import Cluster, running_cluster
from egov_shared.testing.files import minimal_pdf
from egov_shared.testing.oidc import access_token

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "var" / "bench" / "soak.json"
EXTRACT = "2.000635.000.00.00.H27"
COMMUNE = "000.10.00.H27"
CITIZEN, CLERK, LEADER = "001099012345", "motcua.h27", "lanhdao.h27"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Journeys:
    def __init__(
        self, client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], result_pdf: bytes
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.result_pdf = result_pdf
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.completed = 0

    async def step(self, name: str, method: str, path: str, who: str | None, expect: int, **kw: Any) -> Any:
        headers = {**(self.tokens[who] if who else {}), **kw.pop("headers", {})}
        began = time.perf_counter()
        response = await self.client.request(method, path, headers=headers, **kw)
        self.timings[name].append((time.perf_counter() - began) * 1000)
        if response.status_code != expect:
            self.errors[name] += 1
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")
        return response

    async def act(self, who: str, dossier_id: str, action: str, **body: Any) -> dict[str, Any]:
        current = (await self.client.get(f"/api/v1/dossiers/{dossier_id}", headers=self.tokens[who])).json()
        response = await self.step(
            action,
            "POST",
            f"/api/v1/dossiers/{dossier_id}/{action}",
            who,
            200,
            json=body,
            headers={"If-Match": f'"{current["version"]}"'},
        )
        result: dict[str, Any] = response.json()
        return result

    async def wait(self, name: str, check: Any, timeout: float = 60) -> Any:
        began = time.perf_counter()
        while time.perf_counter() - began < timeout:
            found = await check()
            if found:
                self.timings[name].append((time.perf_counter() - began) * 1000)
                return found
            await asyncio.sleep(0.1)
        self.errors[name] += 1
        raise RuntimeError(f"{name}: timed out")

    async def one(self) -> None:
        began = time.perf_counter()
        content = minimal_pdf()
        uploaded = await self.step(
            "upload",
            "POST",
            "/api/v1/files",
            CITIZEN,
            201,
            files={"file": ("tk.pdf", content, "application/pdf")},
        )
        body = {
            "procedure_code": EXTRACT,
            "agency_code": COMMUNE,
            "components": [{"code": "to_khai", "file_ids": [uploaded.json()["id"]]}],
        }
        dossier = (await self.step("submit", "POST", "/api/v1/dossiers", CITIZEN, 201, json=body)).json()

        async def invoice() -> dict[str, Any] | None:
            found = await self.client.get(
                "/api/v1/invoices", params={"dossier_id": dossier["id"]}, headers=self.tokens[CITIZEN]
            )
            items = found.json().get("items", []) if found.status_code == 200 else []
            return items[0] if items else None

        bill = await self.wait("invoice appears", invoice)
        payment = (
            await self.step(
                "create payment",
                "POST",
                "/api/v1/payments",
                CITIZEN,
                201,
                json={"invoice_id": bill["id"], "provider": "vnpay"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
        ).json()
        page = await self.step("payment page", "GET", payment["payment_url"], None, 200)
        token = page.text.split("name='token' value='")[1].split("'")[0]
        await self.step(
            "pay (IPN)",
            "POST",
            "/api/v1/payments/providers/vnpay/sandbox/paymentv2/vpcpay.html",
            None,
            302,
            data={"token": token, "action": "pay"},
        )

        async def fee_recorded() -> bool:
            got = await self.client.get(f"/api/v1/dossiers/{dossier['id']}", headers=self.tokens[CITIZEN])
            return got.status_code == 200 and got.json()["fee_paid_at"] is not None

        await self.wait("dossier hears payment", fee_recorded)
        await self.act(CLERK, dossier["id"], "receive")
        await self.act(CLERK, dossier["id"], "assign", assignee_id="chuyenvien")
        result = await self.step(
            "upload result",
            "POST",
            "/api/v1/files",
            LEADER,
            201,
            files={"file": ("kq.pdf", self.result_pdf, "application/pdf")},
        )
        await self.act(LEADER, dossier["id"], "approve_and_complete", result_file_id=result.json()["id"])
        await self.act(CLERK, dossier["id"], "return_result")
        self.timings["whole journey"].append((time.perf_counter() - began) * 1000)
        self.completed += 1


async def worker(journeys: Journeys, until: float) -> None:
    while time.monotonic() < until:
        try:
            await journeys.one()
        except (RuntimeError, httpx.HTTPError, KeyError, IndexError) as exc:
            say(f"  journey failed: {str(exc)[:160]}")


def memory(cluster: Cluster) -> dict[str, int | None]:
    return {name: cluster.rss_kib(name) for name in [*cluster.processes, "gateway"]}


async def run(concurrency: int, seconds: float) -> dict[str, Any]:
    admin = os.environ.get("EGOV_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    amqp = os.environ.get("EGOV_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    async with running_cluster(admin, amqp) as cluster:
        limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
        async with httpx.AsyncClient(base_url=cluster.url, timeout=60, limits=limits) as client:
            tokens = {
                who: {
                    "Authorization": f"Bearer {await access_token(client, who, second_factor=who == LEADER)}"
                }
                for who in (CITIZEN, CLERK, LEADER)
            }
            journeys = Journeys(client, tokens, sample_decision_pdf(number="1/TLHT", subject="Trích lục"))
            say(f"warm-up, then {concurrency} journeys at a time for {seconds:.0f} s")
            await journeys.one()
            journeys.timings.clear()
            journeys.completed = 0
            rss_start = memory(cluster)
            cpu_start = {name: cpu_seconds(cluster.process(name).pid) for name in rss_start}
            busy_start, wall_start = machine_busy_seconds(), time.monotonic()
            until = time.monotonic() + seconds
            await asyncio.gather(*(worker(journeys, until) for _ in range(concurrency)))
            wall = time.monotonic() - wall_start
            busy = machine_busy_seconds() - busy_start
            rss_end = memory(cluster)
            cpu = {
                name: round(cpu_seconds(cluster.process(name).pid) - cpu_start[name], 1) for name in rss_start
            }
    steps = {
        name: {
            "count": len(values),
            "p50_ms": round(percentile(values, 50), 1),
            "p99_ms": round(percentile(values, 99), 1),
        }
        for name, values in journeys.timings.items()
        if values
    }
    return {
        "benchmark": "soak",
        "machine": machine(load_average=os.getloadavg()),
        "concurrency": concurrency,
        "seconds": round(wall, 1),
        "journeys": journeys.completed,
        "journeys_per_minute": round(journeys.completed / wall * 60, 1),
        "errors": dict(journeys.errors),
        "steps": steps,
        "memory_kib": {name: {"start": rss_start[name], "end": rss_end[name]} for name in rss_start},
        "cpu_seconds": cpu,
        "machine_busy_share": round(busy / (wall * (os.cpu_count() or 1)), 2),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['journeys']} journeys in {report['seconds']} s ({report['journeys_per_minute']}/min), "
        f"concurrency {report['concurrency']}, errors {sum(report['errors'].values())}",
        f"{'step':<24}{'count':>7}{'p50 ms':>10}{'p99 ms':>10}",
    ]
    for name, figures in report["steps"].items():
        lines.append(f"{name:<24}{figures['count']:>7}{figures['p50_ms']:>10}{figures['p99_ms']:>10}")
    lines.append(f"{'process':<24}{'RSS start MiB':>14}{'RSS end MiB':>12}{'CPU s':>8}")
    for name, rss in report["memory_kib"].items():
        start = (rss["start"] or 0) / 1024
        end = (rss["end"] or 0) / 1024
        lines.append(f"{name:<24}{start:>14.0f}{end:>12.0f}{report['cpu_seconds'][name]:>8}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args()
    report = asyncio.run(run(args.concurrency, args.seconds))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    say(table(report))
    say(f"report: {REPORT}")


if __name__ == "__main__":
    main()
