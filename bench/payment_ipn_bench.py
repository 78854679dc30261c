"""VNPay IPN handling in svc-payment on PostgreSQL: throughput and latency of first notifications (each pays an
invoice: row locks, a gap-free receipt number, the ledger, the outbox event) and of replays (answered 02).

svc-payment runs in-process on a throwaway PostgreSQL database (``EGOV_TEST_POSTGRES_URL``) with the in-memory
bus; signed IPNs, built exactly as VNPay builds them, are sent through ASGI by ``--concurrency`` workers.
Writes ``var/bench/payment_ipn.json``.

    uv run python bench/payment_ipn_bench.py [--payments 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from egov_payment.config import IPN_PATH, Settings
from egov_payment.context import PaymentContext
from egov_payment.invoices.service import create_for_dossier
from egov_payment.main import create_app
from egov_payment.payments.schemas import PaymentCreate
from egov_payment.payments.service import create as create_payment
from egov_payment.vnpay.protocol import format_date, signed_query
from egov_shared.auth.tokens import Principal
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.contracts.dossier import FeeLine
from egov_shared.db import utcnow
from egov_shared.runtime import ServiceRuntime
from egov_shared.testing.apps import running
from egov_shared.testing.backends import throwaway_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: bench.benchlib importable
from bench.benchlib import machine, percentile

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
AGENCY = "000.00.10.H27"


def _ipn_query(reference: str, amount_vnd: int, transaction_no: int, secret: str, tmn_code: str) -> str:
    fields = {
        "vnp_Amount": str(amount_vnd * 100),
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": f"VNP{transaction_no}",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Thanh toan phi le phi",
        "vnp_PayDate": format_date(utcnow()),
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": tmn_code,
        "vnp_TransactionNo": str(transaction_no),
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": reference,
    }
    return signed_query(fields, secret)


async def _prepare(runtime: ServiceRuntime, context: PaymentContext, count: int) -> list[str]:
    """``count`` unpaid invoices, each with a pending VNPay payment; returns their IPN query strings."""
    payer = Principal(
        subject="bench-citizen", kind="citizen", client_id="bench", token_id="t", expires_at=0, name="Bench"
    )
    queries: list[str] = []
    for number in range(count):
        async with runtime.new_uow() as uow:
            invoice = await create_for_dossier(
                uow,
                context.settings,
                dossier_id=uuid.uuid4(),
                dossier_code=f"{AGENCY}-261110-{number:04d}",
                agency_code=AGENCY,
                applicant_id=payer.subject,
                fees=[FeeLine(kind="le_phi", name="Lệ phí", amount_vnd=150_000)],
                stage="submission",
            )
            assert invoice is not None
            await uow.commit()
        async with runtime.new_uow() as uow:
            payment, _ = await create_payment(
                uow,
                context,
                payer,
                PaymentCreate(invoice_id=invoice.id, provider="vnpay"),
                client_ip="127.0.0.1",
            )
        queries.append(
            _ipn_query(
                payment.reference,
                payment.amount_vnd,
                14_000_000 + number,
                context.secret,
                context.settings.vnpay_tmn_code,
            )
        )
    return queries


async def _fire(
    client: httpx.AsyncClient, queries: list[str], concurrency: int
) -> tuple[float, list[float], dict[str, int]]:
    latencies: list[float] = []
    codes: dict[str, int] = {}
    pending = list(queries)

    async def worker() -> None:
        while pending:
            query = pending.pop()
            start = time.perf_counter()
            response = await client.get(f"{IPN_PATH}?{query}")
            latencies.append(time.perf_counter() - start)
            code = response.json()["RspCode"]
            codes[code] = codes.get(code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, codes


def _summary(elapsed: float, latencies: list[float], codes: dict[str, int]) -> dict[str, Any]:
    ms = [value * 1000 for value in latencies]
    return {
        "count": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "rsp_codes": codes,
        "latency_ms": {
            "p50": round(percentile(ms, 50), 2),
            "p90": round(percentile(ms, 90), 2),
            "p99": round(percentile(ms, 99), 2),
            "max": round(max(ms), 2),
            "mean": round(statistics.fmean(ms), 2),
        },
    }


async def run(payments: int, concurrency: int) -> dict[str, Any]:
    os.environ.setdefault("EGOV_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    async with throwaway_database("postgres", name_hint="bench_ipn") as url:
        settings = Settings.model_validate(
            {
                "database_url": url,
                "api_url": "http://payment.bench",
                "receipt_signing": False,
                "log_json": False,
                "log_level": "WARNING",
            }
        )
        app = create_app(settings, broker=InMemoryBroker())
        async with running(app) as client:
            runtime: ServiceRuntime = app.state.runtime
            context: PaymentContext = app.state.payment
            queries = await _prepare(runtime, context, payments)
            first = _summary(*await _fire(client, queries, concurrency))
            replays = _summary(*await _fire(client, queries, concurrency))
    return {
        "benchmark": "svc-payment VNPay IPN handling",
        "backend": "postgresql (in-process app through ASGI, in-memory bus)",
        "payments": payments,
        "concurrency": concurrency,
        "first_ipn": first,
        "replayed_ipn": replays,
        "machine": machine(load_average=os.getloadavg()),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    report = asyncio.run(run(args.payments, args.concurrency))
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "payment_ipn.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
