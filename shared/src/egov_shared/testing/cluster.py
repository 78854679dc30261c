"""The distributed topology as real processes, for end-to-end and fault tests, soak runs and benchmarks.

Every service is its own uvicorn process on its own PostgreSQL database, events go through RabbitMQ, the gateway
proxies over HTTP on a free port: what ``make up`` runs, but with throwaway databases, this run's own exchange
and queues, and free ports, so several runs (and the machine's own ``make up``) never collide. A test can kill
a service (``kill``), start it again (``restart``) and read its memory (``rss_kib``); ``stop`` removes everything
the run created.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from egov_shared.testing.backends import BusConfig, delete_broker_topology
from egov_shared.testing.servers import free_port

SERVICES = ("identity", "dossier", "payment", "feedback", "document")
# Consumers first: svc-identity publishes the agency tree as it starts, and RabbitMQ routes only to bound queues.
START_ORDER = ("document", "dossier", "payment", "feedback", "identity")


@dataclass
class ServiceProcess:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


@dataclass
class Cluster:
    admin_url: str  # a SQLAlchemy URL of a role that may create databases
    amqp_url: str
    services: tuple[str, ...] = SERVICES
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    gateway_overrides: Mapping[str, str] = field(default_factory=dict)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="egov-cluster-")))
    ready_timeout: float = 90.0

    def __post_init__(self) -> None:
        self.gateway_port = free_port()
        self.bus = BusConfig(
            amqp_url=self.amqp_url, exchange=f"egov.e2e.{self.run}", queue_prefix=f"e2e.{self.run}."
        )
        self.databases = {name: f"egov_e2e_{name}_{self.run}" for name in self.services}
        common = {
            "EGOV_AMQP_URL": self.amqp_url,
            "EGOV_EVENTS_EXCHANGE": self.bus.exchange,
            "EGOV_QUEUE_PREFIX": self.bus.queue_prefix,
            "EGOV_DEMO_DATA": "1",
            "EGOV_VAR_DIR": str(self.workdir / "var"),
            "EGOV_ISSUER": f"http://localhost:{self.gateway_port}",
            "EGOV_JWKS_URL": f"{self.url}/oauth2/jwks",
            "EGOV_API_URL": self.url,
            "EGOV_RELAY_POLL_SECONDS": "0.5",
            "EGOV_JOBS_TICK_SECONDS": "1",
            "EGOV_DB_POOL_SIZE": "4",
        }
        self.processes: dict[str, ServiceProcess] = {}
        for name in self.services:
            port = free_port()
            env = {
                **common,
                f"EGOV_{name.upper()}_DATABASE_URL": self.database_url(name),
                **self.overrides.get(name, {}),
            }
            argv = [sys.executable, "-m", "uvicorn", "--factory", f"egov_{name}.main:create_app"]
            argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
            self.processes[name] = ServiceProcess(name, port, argv, env, self.workdir / f"{name}.log")
        gateway_env = {
            **common,
            "EGOV_GATEWAY_HOST": "127.0.0.1",
            "EGOV_GATEWAY_PORT": str(self.gateway_port),
            "EGOV_GATEWAY_RATE_LIMITS_ENABLED": "0",
            **{f"EGOV_GATEWAY_{n.upper()}_URL": p.url for n, p in self.processes.items()},
            **self.gateway_overrides,
        }
        gateway = Path(sys.executable).parent / "egov-gateway"
        self.gateway = ServiceProcess(
            "gateway", self.gateway_port, [str(gateway)], gateway_env, self.workdir / "gateway.log"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def database_url(self, service: str) -> str:
        return (
            make_url(self.admin_url)
            .set(database=self.databases[service])
            .render_as_string(hide_password=False)
        )

    def dsn(self, service: str) -> str:
        """The service's database for asyncpg (tests count rows with it)."""
        url = make_url(self.database_url(service)).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def start(self) -> None:
        admin = await asyncpg.connect(_admin_dsn(self.admin_url))
        try:
            for name in self.databases.values():
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        # The consumers together, then svc-identity once their queues are bound.
        consumers = [n for n in START_ORDER if n in self.processes and n != "identity"]
        for name in consumers:
            self.processes[name].spawn()
        for name in consumers:
            await self.wait_ready(self.processes[name])
        if "identity" in self.processes:
            self.processes["identity"].spawn()
            await self.wait_ready(self.processes["identity"])
        self.gateway.spawn()
        await self.wait_ready(self.gateway)

    async def wait_ready(self, process: ServiceProcess) -> float:
        began = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() - began < self.ready_timeout:
                if not process.running():
                    raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
                try:
                    if (await client.get(f"{process.url}/readyz")).status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{process.name} not ready after {self.ready_timeout} s:\n{process.tail()}")

    def process(self, name: str) -> ServiceProcess:
        return self.gateway if name == "gateway" else self.processes[name]

    async def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Kill a service (SIGKILL by default: no clean shutdown) and reap it."""
        process = self.process(name)
        if process.process is not None and process.running():
            os.killpg(process.pid, sig)
            await asyncio.to_thread(process.process.wait, 30)

    async def restart(self, name: str) -> None:
        await self.kill(name, signal.SIGTERM)
        process = self.process(name)
        process.spawn()
        await self.wait_ready(process)

    def rss_kib(self, name: str) -> int | None:
        """Resident memory of a service process now (from /proc), None where that is not readable."""
        try:
            status = Path(f"/proc/{self.process(name).pid}/status").read_text()
        except (OSError, RuntimeError):
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    async def stop(self) -> None:
        for process in [self.gateway, *self.processes.values()]:
            if process.process is not None and process.running():
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.gateway, *self.processes.values()]:
            if process.process is not None:
                try:
                    await asyncio.to_thread(process.process.wait, 20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    await asyncio.to_thread(process.process.wait, 10)
        # The broker may be what a fault test stopped; the names are this run's own anyway.
        with suppress(Exception):
            await delete_broker_topology(
                self.bus, [f"{self.bus.queue_prefix}svc-{n}.events" for n in self.services]
            )
        admin = await asyncpg.connect(_admin_dsn(self.admin_url))
        try:
            for name in self.databases.values():
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def running_cluster(
    admin_url: str, amqp_url: str, *, services: Sequence[str] = SERVICES, **kwargs: object
) -> AsyncIterator[Cluster]:
    cluster = Cluster(admin_url, amqp_url, tuple(services), **kwargs)  # type: ignore[arg-type]
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()
