"""Benchmark of the token check at the gateway: what verifying costs, and what it does to proxied throughput.

1. In-process: microseconds per ``TokenVerifier.verify`` of an access token signed as svc-identity signs them,
   with the verified-token cache (a token seen before) and without it (RS256 every time), and per request for
   the gateway's whole check (bearer header, verify, rate-limit bucket).
2. Through the real gateway process (``egov-gateway``, HttpUpstream): the same small GET answered by a FastAPI
   backend, once on a public route without a token ("anonymous") and once on a protected route with a valid
   token in every request ("authenticated"). The backend also plays identity and serves the test issuer's JWKS.
   Processes are placed as in ``gateway_bench.py``: backend on core 0, gateway and load generator on core 1.
   The two kinds of run alternate for a few rounds; medians are reported. Goal: authenticated >= 0.8 x
   anonymous. Rate limits stay on, with limits the load cannot reach, so their cost is in both figures.

Writes ``var/bench/gateway_auth.json``.

    uv run python bench/gateway_auth_bench.py --seconds 10 [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the sibling benchmark importable as bench.gateway_bench

from bench.benchlib import cpu_seconds, free_port, stop  # noqa: E402
from bench.gateway_bench import (  # noqa: E402
    UNLIMITED,
    load,
    measured,
    pin,
    say,
    spawn,
    wait_ready,
)

PUBLIC_PATH = "/api/v1/procedures"
PROTECTED_PATH = "/api/v1/dossiers"


def run_backend(port: int, jwks_file: str) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()
    procedures = [{"code": f"1.00{i}", "name": "Đăng ký khai sinh", "fee_vnd": 0} for i in range(3)]
    jwks = json.loads(Path(jwks_file).read_text())

    async def list_procedures() -> dict[str, Any]:
        return {"items": procedures, "next_cursor": None}

    async def published_keys() -> dict[str, Any]:
        return dict(jwks)

    app.add_api_route(PUBLIC_PATH, list_procedures)
    app.add_api_route(PROTECTED_PATH, list_procedures)
    app.add_api_route("/oauth2/jwks", published_keys)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


# 1. Verification cost, in-process.


def microbench(iterations: int) -> dict[str, float]:
    from egov_gateway.auth import TokenAuthenticator
    from egov_gateway.headers import RequestHead
    from egov_gateway.ratelimit import Rate, RateLimits
    from egov_shared.auth.tokens import TokenVerifier
    from egov_shared.testing.tokens import TestIssuer

    issuer = TestIssuer()
    token = issuer.official(roles=["receiver", "processor"], lifetime_seconds=3600)
    cached = TokenVerifier(issuer.keys(), issuer=issuer.issuer)
    uncached = TokenVerifier(issuer.keys(), issuer=issuer.issuer, cache_size=0)
    authenticator = TokenAuthenticator(cached)
    plenty = Rate(1e9, 1_000_000_000)
    limits = RateLimits(authenticated=plenty, anonymous=plenty, credentials=plenty)
    head = RequestHead(
        {
            "type": "http",
            "method": "GET",
            "path": PROTECTED_PATH,
            "scheme": "http",
            "headers": [(b"host", b"gw"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 5000),
        }
    )

    async def per_call(step: Any, count: int) -> float:
        """Best of five runs of ``count`` calls, in microseconds per call (timeit's rule: the least disturbed)."""
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(count):
                await step()
            best = min(best, (time.perf_counter() - began) / count)
        return best * 1e6

    async def verify_cached() -> None:
        await cached.verify(token)

    async def verify_uncached() -> None:
        await uncached.verify(token)

    async def gateway_check() -> None:
        principal = await authenticator.authenticate(head, public=False)
        limits.charge(head, principal)

    async def main() -> dict[str, float]:
        await verify_cached()  # fill the cache
        return {
            "verify_cached_us": await per_call(verify_cached, iterations),
            "verify_uncached_us": await per_call(verify_uncached, max(200, iterations // 50)),
            "gateway_check_cached_us": await per_call(gateway_check, iterations),
            "token_bytes": len(token),
        }

    return asyncio.run(main())


# 2. Throughput through the gateway process.


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="anonymous/authenticated run pairs")
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections")
    parser.add_argument("--iterations", type=int, default=20_000, help="calls per microbenchmark run")
    parser.add_argument("--tool", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "bench" / "gateway_auth.json")
    parser.add_argument("--role", choices=("bench", "backend"), default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jwks", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "backend":
        run_backend(args.port, args.jwks)
        return

    from egov_shared.testing.tokens import TestIssuer

    load_before = os.getloadavg()
    say("verification cost, in-process ...")
    micro = microbench(args.iterations)
    say(
        f"  verify: {micro['verify_cached_us']:.1f} us cached, {micro['verify_uncached_us']:.1f} us uncached; "
        f"the gateway's whole check (cached): {micro['gateway_check_cached_us']:.1f} us"
    )

    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "aiohttp")
    warmup = min(2.0, args.seconds / 4)
    issuer = TestIssuer()
    # Valid for the whole run; the gateway's cache keeps it no longer than that.
    token = issuer.citizen(lifetime_seconds=3600)
    headers = {"Authorization": f"Bearer {token}"}
    backend_port, gateway_port = free_port(), free_port()
    rounds: list[dict[str, Any]] = []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as jwks_file:
        json.dump(issuer.jwks(), jwks_file)
    backend = spawn(
        [sys.executable, __file__, "--role", "backend", "--port", str(backend_port), "--jwks", jwks_file.name]
    )
    gateway = None
    try:
        pinned = pin(backend.pid, 0)
        backend_url = f"http://127.0.0.1:{backend_port}"
        wait_ready(backend_url + "/oauth2/jwks", backend)
        env = dict(os.environ)
        env.update(
            {
                "EGOV_GATEWAY_HOST": "127.0.0.1",
                "EGOV_GATEWAY_PORT": str(gateway_port),
                "EGOV_GATEWAY_DOSSIER_URL": backend_url,
                "EGOV_GATEWAY_IDENTITY_URL": backend_url,
                "EGOV_ISSUER": issuer.issuer,
                **UNLIMITED,
            }
        )
        gateway = spawn([sys.executable, "-m", "egov_gateway.main"], env=env)
        pin(gateway.pid, 1)
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        anonymous_url, authenticated_url = gateway_url + PUBLIC_PATH, gateway_url + PROTECTED_PATH
        wait_ready(anonymous_url, gateway)
        check = urllib.request.Request(authenticated_url, headers=headers)
        with urllib.request.urlopen(check, timeout=5) as response:
            assert response.status == 200, "the gateway refused the benchmark's token"

        def run(url: str, seconds: float, with_token: bool) -> dict[str, Any]:
            return load(
                url,
                seconds=seconds,
                connections=args.connections,
                core=1,
                tool=tool,
                headers=headers if with_token else None,
            )

        run(anonymous_url, warmup, False)
        run(authenticated_url, warmup, True)
        pids = {"backend": backend.pid, "gateway": gateway.pid}
        for _ in range(args.rounds):
            pair: dict[str, Any] = {}
            for side, url, with_token in (
                ("anonymous", anonymous_url, False),
                ("authenticated", authenticated_url, True),
            ):
                result, cpu = measured(pids, functools.partial(run, url, args.seconds, with_token))
                result["gateway_cpu_us_per_request"] = cpu["gateway"] / result["requests"] * 1e6
                result["backend_cpu_us_per_request"] = cpu["backend"] / result["requests"] * 1e6
                pair[side] = result
            pair["throughput_ratio"] = pair["authenticated"]["rps"] / pair["anonymous"]["rps"]
            # The ratio if the gateway's CPU alone limited both runs.
            pair["cpu_capacity_ratio"] = (
                pair["anonymous"]["gateway_cpu_us_per_request"]
                / pair["authenticated"]["gateway_cpu_us_per_request"]
            )
            pair["gateway_cpu_added_us"] = (
                pair["authenticated"]["gateway_cpu_us_per_request"]
                - pair["anonymous"]["gateway_cpu_us_per_request"]
            )
            rounds.append(pair)
        gateway_cpu_total = cpu_seconds(gateway.pid)
    finally:
        for process in (gateway, backend):
            if process is not None:
                stop(process)
        os.unlink(jwks_file.name)

    def median(values: list[float]) -> float:
        return statistics.median(values)

    sides = ("anonymous", "authenticated")
    summary = {
        side: {key: median([r[side][key] for r in rounds]) for key in rounds[0][side] if key != "requests"}
        for side in sides
    }
    report = {
        "tool": tool,
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "pinned_to_cores": pinned,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "paths": {"anonymous": PUBLIC_PATH, "authenticated": PROTECTED_PATH},
        "verification": micro,
        "median": summary,
        "throughput_ratio": median([r["throughput_ratio"] for r in rounds]),
        "cpu_capacity_ratio": median([r["cpu_capacity_ratio"] for r in rounds]),
        "gateway_cpu_added_us": median([r["gateway_cpu_added_us"] for r in rounds]),
        "gateway_cpu_seconds_total": gateway_cpu_total,
        "errors": sum(r[side]["errors"] for r in rounds for side in sides),
        "runs": rounds,
        "goal": {"throughput_ratio": 0.8},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    say(
        f"load: {tool}, {args.connections} connections, {args.rounds} x {args.seconds:g} s per side, "
        f"cores pinned: {pinned}, load average before: {load_before[0]:.2f}"
    )
    for number, r in enumerate(rounds, 1):
        say(
            f"  round {number}: anonymous {r['anonymous']['rps']:7.0f} req/s, "
            f"authenticated {r['authenticated']['rps']:7.0f} req/s, ratio {r['throughput_ratio']:.2f}, "
            f"gateway CPU +{r['gateway_cpu_added_us']:.1f} us/req"
        )
    for side in sides:
        s = summary[side]
        say(
            f"{side:13} (median): {s['rps']:7.0f} req/s  p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:6.2f} ms  "
            f"gateway CPU {s['gateway_cpu_us_per_request']:.0f} us/req"
        )
    say(
        f"ratio {report['throughput_ratio']:.2f} (goal >= 0.80; from the gateway's CPU per request "
        f"{report['cpu_capacity_ratio']:.2f}, +{report['gateway_cpu_added_us']:.1f} us); errors {report['errors']}; "
        f"load average after: {report['load_average_after'][0]:.2f}"
    )
    say(f"written to {args.output}")


if __name__ == "__main__":
    main()
