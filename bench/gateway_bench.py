"""Benchmark of the gateway's proxy hop: the same small GET straight to a service, then through the gateway.

Three processes on a two-core machine: a FastAPI backend (uvicorn, one process) pinned to core 0, the gateway
(``egov-gateway``, one process, HttpUpstream to the backend) pinned to core 1, and the load generator (``wrk`` if
installed, else an aiohttp loop in its own process) on core 1 too. The backend thus has a core to itself in both
the direct and the proxied runs, and the gateway pays for the load generator's CPU as well as its own: the
measured ratio is on the pessimistic side for the gateway. ``--loadgen pinned`` puts the load generator beside
the backend in proxied runs instead (which starves the backend); ``--loadgen float`` leaves it to the OS.

Reports throughput, p50/p99 latency, the proxied/direct ratio, and the gateway's CPU time per request (utime +
stime from /proc/<pid>/stat over the run, divided by the requests served). Writes ``var/bench/gateway.json``.

    uv run python bench/gateway_bench.py --seconds 10 [--rounds 3] [--no-access-log]

Other work on the machine skews any single run, so direct and proxied runs alternate for a few rounds and the
medians are reported; ``load_average_before`` in the report tells how quiet the machine was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: bench.benchlib importable
from bench.benchlib import cpu_seconds, free_port, stop

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/procedures"
# The load generator is one very busy client: rate limits stay on (their cost is part of the hop) but never bite.
UNLIMITED = {
    f"EGOV_GATEWAY_RATE_LIMIT_{kind}_{what}": value
    for kind in ("AUTHENTICATED", "ANONYMOUS", "CREDENTIALS")
    for what, value in (("PER_SECOND", "1e9"), ("BURST", "1000000000"))
}


# The backend: a small FastAPI app, as a service would be.


def run_backend(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()
    procedures = [{"code": f"1.00{i}", "name": "Đăng ký khai sinh", "fee_vnd": 0} for i in range(3)]

    @app.get(PATH)
    async def list_procedures() -> dict[str, Any]:
        return {"items": procedures, "next_cursor": None}

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


# The aiohttp load generator, used when wrk is not installed.


def run_loadgen(url: str, seconds: float, connections: int, headers: dict[str, str]) -> None:
    import aiohttp

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds

        async def worker(session: aiohttp.ClientSession) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append(time.perf_counter() - began)

        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            began = time.perf_counter()
            await asyncio.gather(*(worker(session) for _ in range(connections)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        return {
            "requests": len(latencies),
            "errors": errors,
            "rps": len(latencies) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        }

    sys.stdout.write(json.dumps(asyncio.run(main())) + "\n")


# Orchestration.


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def pin(pid: int, core: int) -> bool:
    try:
        os.sched_setaffinity(pid, {core % (os.cpu_count() or 1)})
        return True
    except OSError:
        return False


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        with suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def load(
    url: str,
    *,
    seconds: float,
    connections: int,
    core: int | None,
    tool: str,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Drive ``url`` for ``seconds`` with ``connections`` keep-alive connections from a process on ``core``,
    every request carrying ``headers``."""
    headers = headers or {}
    if tool == "wrk":
        args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        args.append(url)
    else:
        args = [sys.executable, __file__, "--role", "loadgen", "--url", url, "--seconds", str(seconds)]
        args += ["--connections", str(connections), "--headers", json.dumps(headers)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    if core is not None:
        pin(process.pid, core)
    out, err = process.communicate(timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.decode()}")
    text = out.decode()
    if tool != "wrk":
        result: dict[str, Any] = json.loads(text)
        return result
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", text, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", text)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "requests": requests,
        "errors": (int(errors[1]) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text)[1]),  # type: ignore[index]
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
    }


def measured(
    pids: dict[str, int], run: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the load and return its figures with each process's CPU seconds spent meanwhile."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result = run()
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    return result, {name: after[name] - before[name] for name in pids}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="direct/proxied run pairs; medians are reported"
    )
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections")
    parser.add_argument(
        "--loadgen",
        choices=("with-gateway", "pinned", "float"),
        default="with-gateway",
        help="where the load generator runs: on the core the backend leaves free in direct runs, and in proxied"
        " runs beside the gateway (with-gateway) or the backend (pinned); float: wherever the OS puts it",
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument(
        "--no-access-log", action="store_true", help="run the gateway with its access log off"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "bench" / "gateway.json")
    parser.add_argument(
        "--role", choices=("bench", "backend", "loadgen"), default="bench", help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--headers", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "backend":
        run_backend(args.port)
        return
    if args.role == "loadgen":
        run_loadgen(args.url, args.seconds, args.connections, json.loads(args.headers))
        return

    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "aiohttp")
    warmup = min(2.0, args.seconds / 4)
    backend_port, gateway_port = free_port(), free_port()
    load_before = os.getloadavg()[0]
    backend = spawn([sys.executable, __file__, "--role", "backend", "--port", str(backend_port)])
    gateway: subprocess.Popen[bytes] | None = None
    rounds: list[dict[str, Any]] = []
    try:
        pinned = pin(backend.pid, 0)
        direct_url = f"http://127.0.0.1:{backend_port}{PATH}"
        wait_ready(direct_url, backend)
        env = dict(os.environ)
        env.update(
            {
                "EGOV_GATEWAY_HOST": "127.0.0.1",
                "EGOV_GATEWAY_PORT": str(gateway_port),
                "EGOV_GATEWAY_DOSSIER_URL": f"http://127.0.0.1:{backend_port}",
                "EGOV_GATEWAY_ACCESS_LOG": "false" if args.no_access_log else "true",
                **UNLIMITED,
            }
        )
        gateway = spawn([sys.executable, "-m", "egov_gateway.main"], env=env)
        pin(gateway.pid, 1)
        proxied_url = f"http://127.0.0.1:{gateway_port}{PATH}"
        wait_ready(proxied_url, gateway)

        def direct_run(seconds: float) -> dict[str, Any]:
            core = None if args.loadgen == "float" else 1
            return load(direct_url, seconds=seconds, connections=args.connections, core=core, tool=tool)

        def proxied_run(seconds: float) -> dict[str, Any]:
            core = {"float": None, "pinned": 0, "with-gateway": 1}[args.loadgen]
            return load(proxied_url, seconds=seconds, connections=args.connections, core=core, tool=tool)

        direct_run(warmup)
        proxied_run(warmup)
        # Direct and proxied runs alternate, so a neighbour's load on the machine hits both alike.
        for _ in range(args.rounds):
            direct, direct_cpu = measured({"backend": backend.pid}, lambda: direct_run(args.seconds))
            proxied, proxied_cpu = measured(
                {"backend": backend.pid, "gateway": gateway.pid}, lambda: proxied_run(args.seconds)
            )
            direct["backend_cpu_us_per_request"] = direct_cpu["backend"] / direct["requests"] * 1e6
            proxied["backend_cpu_us_per_request"] = proxied_cpu["backend"] / proxied["requests"] * 1e6
            proxied["gateway_cpu_us_per_request"] = proxied_cpu["gateway"] / proxied["requests"] * 1e6
            proxied["gateway_cpu_utilisation"] = proxied_cpu["gateway"] / args.seconds
            rounds.append(
                {
                    "direct": direct,
                    "proxied": proxied,
                    "throughput_ratio": proxied["rps"] / direct["rps"],
                    # The ratio if CPU were all that limited each process on its own core: the gateway's
                    # capacity (1 / its CPU per request) over the backend's, capped at 1.
                    "cpu_capacity_ratio": min(
                        1.0, direct["backend_cpu_us_per_request"] / proxied["gateway_cpu_us_per_request"]
                    ),
                }
            )
    finally:
        for process in (gateway, backend):
            if process is not None:
                stop(process)

    def median(values: list[float]) -> float:
        return statistics.median(values)

    summary = {
        side: {
            key: median([r[side][key] for r in rounds])
            for key in rounds[0][side]
            if key not in ("requests", "errors")
        }
        for side in ("direct", "proxied")
    }
    errors = sum(r[side]["errors"] for r in rounds for side in ("direct", "proxied"))
    report = {
        "path": PATH,
        "tool": tool,
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "pinned_to_cores": pinned,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "gateway_access_log": not args.no_access_log,
        "median": summary,
        "throughput_ratio": median([r["throughput_ratio"] for r in rounds]),
        "cpu_capacity_ratio": median([r["cpu_capacity_ratio"] for r in rounds]),
        "errors": errors,
        "runs": rounds,
        "goal": {"throughput_ratio": 0.7, "gateway_cpu_us_per_request": 300},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    d, p = summary["direct"], summary["proxied"]
    say(
        f"load: {tool}, {args.connections} connections, {args.rounds} x {args.seconds:g} s per side, "
        f"cores pinned: {pinned}, load average before: {load_before:.2f}"
    )
    for number, r in enumerate(rounds, 1):
        say(
            f"  round {number}: direct {r['direct']['rps']:7.0f} req/s, gateway {r['proxied']['rps']:7.0f} req/s, "
            f"ratio {r['throughput_ratio']:.2f}, gateway CPU {r['proxied']['gateway_cpu_us_per_request']:.0f} us/req"
        )
    say(f"direct  (median): {d['rps']:7.0f} req/s  p50 {d['p50_ms']:6.2f} ms  p99 {d['p99_ms']:6.2f} ms")
    say(f"gateway (median): {p['rps']:7.0f} req/s  p50 {p['p50_ms']:6.2f} ms  p99 {p['p99_ms']:6.2f} ms")
    say(
        f"ratio {report['throughput_ratio']:.2f}x direct (goal >= 0.70; from CPU per request "
        f"{report['cpu_capacity_ratio']:.2f}x); "
        f"gateway CPU {p['gateway_cpu_us_per_request']:.0f} us/request (goal <= 300), "
        f"{p['gateway_cpu_utilisation'] * 100:.0f}% of its core; errors {errors}"
    )
    say(f"written to {args.output}")


if __name__ == "__main__":
    main()
