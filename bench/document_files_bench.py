"""File store throughput and memory: uploads and downloads of 1 MiB and 20 MiB files through svc-document's HTTP
stack, and the service's resident memory meanwhile.

svc-document runs as its own process (``uvicorn --factory egov_document.main:create_app``, one process) with a
temporary ``EGOV_VAR_DIR``, local file storage and a throwaway database (SQLite by default, or PostgreSQL with
``--backend postgres``). This script serves the test issuer's JWKS on another loopback port, so the service
verifies real RS256 access tokens. By default the service is pinned to core 0 and this script (the client) to
core 1, so the two do not fight over one core.

For each size: N uploads, C at a time, each a multipart body streamed from a generator with content no other
upload has (a random nonce, then slices of a random pool at random offsets), so deduplication never short-cuts
the work; then each file is downloaded once, streamed, and its SHA-256 checked. Reported per phase: MiB/s,
requests/s, p50/p99 latency, CPU per MiB on each side, and the service's peak RSS (``/proc/<pid>/status``:
VmRSS sampled every 20 ms, and VmHWM reset before each phase) with its growth over the idle baseline.

Streaming means memory should not follow file size: the finding ``memory_grows_with_file_size`` is true when the
large files' peak growth exceeds the small files' by more than a quarter of the extra bytes in flight
(C x (20 MiB - 1 MiB)). Holding whole files would cost all of it.

Writes ``var/bench/document_files.json`` (``document_files-postgres.json`` with ``--backend postgres``).

    uv run python bench/document_files_bench.py [--quick] [--backend sqlite|postgres] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from egov_shared.testing.backends import throwaway_database
from egov_shared.testing.tokens import TestIssuer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: bench.benchlib importable
from bench.benchlib import cpu_seconds, free_port, percentile, stop

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
CHUNK = 256 * 1024
POOL_BYTES = 4 * MiB
SAMPLE_SECONDS = 0.02
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BOUNDARY = "egov-bench-boundary-7f3a9c"
# Extra peak memory above this share of the extra bytes in flight counts as "grows with file size".
GROWTH_SHARE = 0.25

T = TypeVar("T")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# The issuer's public keys, served as svc-identity would serve them.


@contextmanager
def jwks_server(jwks: dict[str, Any]) -> Iterator[str]:
    """Serve ``jwks`` at ``/oauth2/jwks`` on a free loopback port; yield that URL."""
    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/oauth2/jwks":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, name="jwks", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/oauth2/jwks"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# The service process.


def spawn_service(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "uvicorn", "--factory", "egov_document.main:create_app"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the service
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def service_env(
    database_url: str, var_dir: Path, jwks_url: str, issuer: str, max_upload: int
) -> dict[str, str]:
    # The caller's own EGOV_* settings would change what is measured: leave them out.
    env = {key: value for key, value in os.environ.items() if not key.startswith("EGOV_")}
    env.update(
        {
            "EGOV_VAR_DIR": str(var_dir),
            "EGOV_DOCUMENT_DATABASE_URL": database_url,
            "EGOV_DOCUMENT_MAX_UPLOAD_BYTES": str(max_upload),
            "EGOV_JWKS_URL": jwks_url,
            "EGOV_ISSUER": issuer,
            "EGOV_LOG_LEVEL": "WARNING",
            "EGOV_LOG_JSON": "0",
        }
    )
    return env


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> float:
    """Poll ``url`` until it answers 200; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"svc-document exited with {process.returncode}:\n{tail(log)}")
        with suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    with suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return ""


def pin(pid: int, core: int) -> bool:
    try:
        os.sched_setaffinity(pid, {core % (os.cpu_count() or 1)})
        return True
    except OSError:
        return False


# Memory of the service process.


def status_kib(pid: int, name: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (VmRSS, VmHWM), or None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, our own child), so it holds the next phase's peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples VmRSS in a thread, so a busy event loop in this process does not delay the samples."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            value = status_kib(self.pid, "VmRSS")
            if value is not None:
                self.samples.append(value)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def idle_rss_kib(pid: int, seconds: float = 0.5) -> int:
    with RssSampler(pid) as sampler:
        time.sleep(seconds)
    return int(statistics.median(sampler.samples))


# Request bodies: multipart, streamed, each file's content its own.


@dataclass
class Upload:
    index: int
    size: int
    digest: Any = field(default_factory=hashlib.sha256)


class ContentSource:
    """Bytes for uploads without a fresh random buffer per file (os.urandom runs at ~130 MB/s here, slower than
    the service): each file starts with a PDF header and a random nonce, then slices of one random pool taken at
    random offsets. Every file hashes differently, so the service stores every one."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.pool = memoryview(os.urandom(POOL_BYTES + CHUNK))

    def head(self, upload: Upload) -> bytes:
        # The service judges the type from the bytes: it must look like a PDF.
        return f"%PDF-1.7\n%bench {upload.index} {os.urandom(16).hex()}\n".encode()

    async def multipart(self, upload: Upload) -> AsyncIterator[bytes | memoryview]:
        yield multipart_prefix(upload).encode()
        head = self.head(upload)
        upload.digest.update(head)
        yield head
        left = upload.size - len(head)
        while left > 0:
            offset = self.random.randrange(POOL_BYTES)
            piece = self.pool[offset : offset + min(CHUNK, left)]
            upload.digest.update(piece)
            left -= len(piece)
            yield piece
        yield multipart_suffix().encode()


def multipart_prefix(upload: Upload) -> str:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="bench-{upload.index}.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )


def multipart_suffix() -> str:
    return f"\r\n--{BOUNDARY}--\r\n"


def multipart_length(upload: Upload) -> int:
    return len(multipart_prefix(upload).encode()) + upload.size + len(multipart_suffix().encode())


# The load.


@dataclass(frozen=True)
class Stored:
    file_id: str
    sha256: str
    size: int


async def upload_one(
    session: aiohttp.ClientSession, base: str, source: ContentSource, upload: Upload
) -> tuple[float, Stored]:
    headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(multipart_length(upload)),  # as a browser sends it: not chunked
    }
    started = time.perf_counter()
    async with session.post(
        f"{base}/api/v1/files", data=source.multipart(upload), headers=headers
    ) as response:
        body = await response.read()
        elapsed = time.perf_counter() - started
    if response.status != 201:
        raise RuntimeError(f"upload {upload.index}: {response.status} {body[:500]!r}")
    answer = json.loads(body)
    expected = upload.digest.hexdigest()
    if answer["sha256"] != expected or answer["size"] != upload.size:
        raise RuntimeError(f"upload {upload.index}: service stored {answer}, sent sha256 {expected}")
    return elapsed, Stored(answer["id"], expected, upload.size)


async def download_one(session: aiohttp.ClientSession, base: str, stored: Stored) -> tuple[float, None]:
    digest = hashlib.sha256()
    received = 0
    started = time.perf_counter()
    async with session.get(f"{base}/api/v1/files/{stored.file_id}/content") as response:
        if response.status != 200:
            raise RuntimeError(
                f"download {stored.file_id}: {response.status} {(await response.read())[:500]!r}"
            )
        async for chunk in response.content.iter_chunked(CHUNK):
            digest.update(chunk)
            received += len(chunk)
    elapsed = time.perf_counter() - started
    if received != stored.size or digest.hexdigest() != stored.sha256:
        raise RuntimeError(f"download {stored.file_id}: {received} bytes, sha256 {digest.hexdigest()}")
    return elapsed, None


async def bounded(jobs: list[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Run the jobs with at most ``concurrency`` in flight, results in job order."""
    results: list[T | None] = [None] * len(jobs)
    queue = list(enumerate(jobs))

    async def worker() -> None:
        while queue:
            index, job = queue.pop(0)
            results[index] = await job()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [result for result in results if result is not None]


async def measured_phase(
    pid: int,
    baseline_kib: int,
    size: int,
    jobs: list[Callable[[], Awaitable[tuple[float, T]]]],
    concurrency: int,
) -> tuple[dict[str, Any], list[T]]:
    """Run the jobs (each answers its latency and a result) while sampling the service's RSS; figures of the
    phase and the jobs' results."""
    hwm_reset = reset_peak(pid)
    with RssSampler(pid) as sampler:
        service_cpu, client_cpu = cpu_seconds(pid), time.process_time()
        started = time.perf_counter()
        results = await bounded(jobs, concurrency)
        elapsed = time.perf_counter() - started
        service_cpu, client_cpu = cpu_seconds(pid) - service_cpu, time.process_time() - client_cpu
    mib = len(results) * size / MiB
    hwm = status_kib(pid, "VmHWM") if hwm_reset else None
    peak_kib = max([*sampler.samples, hwm or 0])
    ms = [latency * 1000 for latency, _ in results]
    figures = {
        "requests": len(results),
        "seconds": round(elapsed, 3),
        "mib_per_s": round(mib / elapsed, 1),
        "requests_per_s": round(len(results) / elapsed, 2),
        "latency_ms": {
            "p50": round(percentile(ms, 50), 1),
            "p99": round(percentile(ms, 99), 1),
            "max": round(max(ms), 1),
        },
        # CPU per MiB tells which side bounds the throughput (each has a core of its own when pinned).
        "cpu_ms_per_mib": {
            "service": round(service_cpu * 1000 / mib, 2),
            "client": round(client_cpu * 1000 / mib, 2),
        },
        "service_cpu_busy": round(service_cpu / elapsed, 2),
        "rss": {
            "peak_mib": round(peak_kib / 1024, 1),
            "growth_mib": round((peak_kib - baseline_kib) / 1024, 1),
            "sampled_peak_mib": round(max(sampler.samples) / 1024, 1),
            "vm_hwm_mib": round(hwm / 1024, 1) if hwm is not None else None,
            "samples": len(sampler.samples),
        },
    }
    return figures, [result for _, result in results]


async def run_size(
    session: aiohttp.ClientSession,
    base: str,
    pid: int,
    baseline_kib: int,
    source: ContentSource,
    size: int,
    count: int,
    concurrency: int,
    first_index: int,
) -> dict[str, Any]:
    uploads = [Upload(first_index + i, size) for i in range(count)]

    def upload_job(upload: Upload) -> Callable[[], Awaitable[tuple[float, Stored]]]:
        return lambda: upload_one(session, base, source, upload)

    up, results = await measured_phase(pid, baseline_kib, size, [upload_job(u) for u in uploads], concurrency)
    stored = results
    if len({s.sha256 for s in stored}) != count:
        raise RuntimeError("two uploads had the same content: deduplication would skew the figures")

    def download_job(item: Stored) -> Callable[[], Awaitable[tuple[float, None]]]:
        return lambda: download_one(session, base, item)

    down, _ = await measured_phase(pid, baseline_kib, size, [download_job(s) for s in stored], concurrency)
    return {"size_mib": size / MiB, "files": count, "upload": up, "download": down}


def memory_finding(
    sizes: dict[str, dict[str, Any]], small: int, large: int, concurrency: int
) -> dict[str, Any]:
    """Compare the large files' peak growth with the small ones', against the extra bytes in flight."""
    small_key, large_key = f"{small // MiB}MiB", f"{large // MiB}MiB"
    extra_in_flight_mib = concurrency * (large - small) / MiB
    threshold = GROWTH_SHARE * extra_in_flight_mib
    per_direction: dict[str, Any] = {}
    for direction in ("upload", "download"):
        growth_small = sizes[small_key][direction]["rss"]["growth_mib"]
        growth_large = sizes[large_key][direction]["rss"]["growth_mib"]
        per_direction[direction] = {
            f"growth_{small_key}_mib": growth_small,
            f"growth_{large_key}_mib": growth_large,
            "extra_mib": round(growth_large - growth_small, 1),
            "grows": growth_large - growth_small > threshold,
        }
    return {
        "memory_grows_with_file_size": any(entry["grows"] for entry in per_direction.values()),
        "rule": (
            f"grows if peak RSS growth with {large_key} files exceeds that with {small_key} files by more than "
            f"{GROWTH_SHARE:.0%} of the extra bytes in flight ({concurrency} x {(large - small) // MiB} MiB)"
        ),
        "extra_in_flight_mib": extra_in_flight_mib,
        "threshold_mib": round(threshold, 1),
        "file_size_ratio": large / small,
        **per_direction,
    }


@asynccontextmanager
async def running_service(
    database_url: str, issuer: TestIssuer, max_upload: int, pin_cores: bool
) -> AsyncIterator[tuple[str, int, float]]:
    """svc-document on a free port; yield its base URL, pid, and start-up seconds. Stopped by pid on exit."""
    with (
        tempfile.TemporaryDirectory(prefix="egov-bench-files-") as directory,
        jwks_server(issuer.jwks()) as jwks,
    ):
        var_dir = Path(directory)
        log = var_dir / "service.log"
        port = free_port()
        env = service_env(database_url, var_dir, jwks, issuer.issuer, max_upload)
        process = spawn_service(port, env, log)
        try:
            if pin_cores:
                pin(process.pid, 0)
                pin(os.getpid(), 1)
            base = f"http://127.0.0.1:{port}"
            startup = await asyncio.to_thread(wait_ready, base + "/readyz", process, log)
            yield base, process.pid, startup
            if process.poll() is not None:
                raise RuntimeError(f"svc-document exited during the run:\n{tail(log)}")
        finally:
            stop(process)


async def run(plan: list[tuple[int, int]], concurrency: int, backend: str, pin_cores: bool) -> dict[str, Any]:
    os.environ.setdefault("EGOV_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    issuer = TestIssuer()
    token = issuer.citizen("bench-citizen")
    load_before = os.getloadavg()
    largest = max(size for size, _ in plan)
    async with AsyncExitStack() as stack:
        database_url = await stack.enter_async_context(throwaway_database(backend, name_hint="bench_files"))
        base, pid, startup = await stack.enter_async_context(
            running_service(database_url, issuer, max(64 * MiB, 2 * largest), pin_cores)
        )
        started_rss = status_kib(pid, "VmRSS") or 0
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=concurrency)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {token}"}, timeout=timeout, connector=connector
            )
        )
        source = ContentSource(seed=int.from_bytes(os.urandom(8), "big"))
        # Warm up (token keys fetched, imports and first-call caches, the connection pool), then measure idle.
        for index in range(concurrency):
            _, stored = await upload_one(session, base, source, Upload(-1 - index, MiB))
            await download_one(session, base, stored)
        baseline = idle_rss_kib(pid)
        say(f"svc-document ready in {startup:.1f} s; idle RSS {baseline / 1024:.1f} MiB after warm-up")
        sizes: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(300):
            for size, count in plan:
                sizes[f"{size // MiB}MiB"] = await run_size(
                    session,
                    base,
                    pid,
                    baseline,
                    source,
                    size,
                    count,
                    concurrency,
                    first_index=len(sizes) * 1000,
                )
        idle_after = idle_rss_kib(pid)
    small, large = min(size for size, _ in plan), largest
    finding = memory_finding(sizes, small, large, concurrency)
    return {
        "benchmark": "svc-document file upload/download throughput and memory",
        "backend": backend,
        "storage": "local",
        "concurrency": concurrency,
        "pinned": {"service_core": 0, "client_core": 1} if pin_cores else None,
        "service_startup_seconds": round(startup, 2),
        "rss_mib": {
            "after_start": round(started_rss / 1024, 1),
            "idle_baseline": round(baseline / 1024, 1),
            "idle_after_run": round(idle_after / 1024, 1),
        },
        "sizes": sizes,
        "memory_grows_with_file_size": finding["memory_grows_with_file_size"],
        "memory": finding,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "uvicorn": version("uvicorn"),
            "aiohttp": version("aiohttp"),
            "load_average_before": [round(value, 2) for value in load_before],
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{'size':>6} {'phase':<9} {'files':>5} {'MiB/s':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'svc CPU':>7} {'peak RSS':>9} {'growth':>7}"
    ]
    for name, figures in report["sizes"].items():
        for phase in ("upload", "download"):
            f = figures[phase]
            lines.append(
                f"{name:>6} {phase:<9} {f['requests']:>5} {f['mib_per_s']:>7} {f['requests_per_s']:>7}"
                f" {f['latency_ms']['p50']:>8} {f['latency_ms']['p99']:>8}"
                f" {f['service_cpu_busy']:>7.0%} {f['rss']['peak_mib']:>8}M {f['rss']['growth_mib']:>6}M"
            )
    memory = report["memory"]
    lines.append(
        f"idle RSS {report['rss_mib']['idle_baseline']} MiB (after run {report['rss_mib']['idle_after_run']} MiB);"
        f" memory grows with file size: {memory['memory_grows_with_file_size']}"
        f" (threshold {memory['threshold_mib']} MiB extra growth)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer files (12 x 1 MiB, 4 x 20 MiB)")
    parser.add_argument("--small-files", type=int, default=80, help="how many 1 MiB files")
    parser.add_argument("--large-files", type=int, default=16, help="how many 20 MiB files")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-pin", action="store_true", help="let the OS place the service and the client")
    parser.add_argument("--output", type=Path, help="default: var/bench/document_files[-postgres].json")
    args = parser.parse_args()
    small, large = (12, 4) if args.quick else (args.small_files, args.large_files)
    if min(small, large, args.concurrency) < 1:
        parser.error("file counts and concurrency must be at least 1")
    plan = [(MiB, small), (20 * MiB, large)]
    report = asyncio.run(run(plan, args.concurrency, args.backend, pin_cores=not args.no_pin))
    report["quick"] = args.quick
    name = "document_files.json" if args.backend == "sqlite" else "document_files-postgres.json"
    output = args.output or ROOT / "var" / "bench" / name
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    say(table(report))
    say(f"report: {output}")


if __name__ == "__main__":
    main()
