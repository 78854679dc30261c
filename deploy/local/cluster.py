"""Distributed mode on this machine without Docker: `python deploy/local/cluster.py up|down|status`.

Each service runs as its own uvicorn process on its own PostgreSQL database, events go through RabbitMQ and the
gateway proxies over HTTP, as in docker-compose.yml. Logs go to var/log/<name>.log, pids to var/run/<name>.pid.
`down` stops exactly the processes `up` started: a pid file also records the process start time, so a pid the
kernel has since given to another process is never signalled.

Environment: EGOV_POSTGRES_ADMIN_URL (a database URL of a role that may create databases), EGOV_AMQP_URL,
EGOV_LOCAL_HOST (the address services listen on and are reached at), EGOV_UP_TIMEOUT (seconds `up` waits for the
gateway's /readyz). A service's EGOV_<SVC>_DATABASE_URL, if set, overrides the derived one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
LOG_DIR = VAR / "log"
RUN_DIR = VAR / "run"

GATEWAY_PORT = 8000
# Service name -> port; the same table as the gateway's routes and docker-compose.yml (a test checks both).
SERVICE_PORTS: dict[str, int] = {
    "identity": 8001,
    "dossier": 8002,
    "payment": 8003,
    "feedback": 8004,
    "document": 8005,
}

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Config:
    host: str
    admin_url: str
    amqp_url: str
    up_timeout: float

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        return cls(
            host=env.get("EGOV_LOCAL_HOST", "127.0.0.1"),
            admin_url=env.get("EGOV_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL),
            amqp_url=env.get("EGOV_AMQP_URL", DEFAULT_AMQP_URL),
            up_timeout=float(env.get("EGOV_UP_TIMEOUT", "90")),
        )


@dataclass(frozen=True)
class Process:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str]

    @property
    def pid_file(self) -> Path:
        return RUN_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOG_DIR / f"{self.name}.log"


def database_url(service: str, config: Config, env: dict[str, str]) -> str:
    """The service's database: its own override, else database `egov_<service>` on the admin URL's server."""
    override = env.get(f"EGOV_{service.upper()}_DATABASE_URL")
    if override:
        return override
    parts = urlsplit(config.admin_url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/egov_{service}", parts.query, ""))


def tool(name: str) -> str:
    """A console script of this environment (the one whose python runs this file), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this environment: run `make bootstrap`")
    return found


def plan(config: Config, env: dict[str, str]) -> list[Process]:
    """The processes of the cluster, services first and the gateway last."""
    common = {
        "EGOV_AMQP_URL": config.amqp_url,
        "EGOV_DEMO_DATA": env.get("EGOV_DEMO_DATA", "1"),
        "EGOV_MIGRATE_ON_START": "0",
    }
    processes: list[Process] = []
    for name, port in SERVICE_PORTS.items():
        argv = [sys.executable, "-m", "uvicorn", "--factory", f"egov_{name}.main:create_app"]
        argv += ["--host", config.host, "--port", str(port)]
        service_env = {**common, f"EGOV_{name.upper()}_DATABASE_URL": database_url(name, config, env)}
        processes.append(Process(name, port, argv, service_env))
    gateway_env = {**common, "EGOV_GATEWAY_HOST": config.host, "EGOV_GATEWAY_PORT": str(GATEWAY_PORT)}
    for name, port in SERVICE_PORTS.items():
        gateway_env[f"EGOV_GATEWAY_{name.upper()}_URL"] = f"http://{config.host}:{port}"
    processes.append(Process("gateway", GATEWAY_PORT, ["egov-gateway"], gateway_env))
    return processes


def say(message: str) -> None:
    """Progress for the person running make (this is a command-line tool, not a service: no logging set-up)."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


# --- processes and pid files ---------------------------------------------------------------------------


def start_time(pid: int) -> str | None:
    """The kernel's start time of a live process (field 22 of /proc/<pid>/stat), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields after the last ')' are plain.
    fields = stat.rsplit(")", 1)[1].split()
    state, started = fields[0], fields[19]
    return None if state in ("Z", "X") else started


def running_pid(proc: Process) -> int | None:
    """The pid recorded for this process if that very process still runs."""
    try:
        pid_text, started = proc.pid_file.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if start_time(pid) == started else None


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def spawn(proc: Process) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    argv = proc.argv if os.path.isabs(proc.argv[0]) else [tool(proc.argv[0]), *proc.argv[1:]]
    with proc.log_file.open("ab") as log:
        child = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **proc.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: survives this script and the terminal that ran it
        )
    started = start_time(child.pid)
    proc.pid_file.write_text(f"{child.pid} {started}\n")
    return child.pid


def stop(proc: Process, grace: float = 15.0) -> str:
    pid = running_pid(proc)
    if pid is None:
        proc.pid_file.unlink(missing_ok=True)
        return "not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and start_time(pid) is not None:
        time.sleep(0.2)
    outcome = "stopped"
    if start_time(pid) is not None:
        os.kill(pid, signal.SIGKILL)
        outcome = "killed after SIGTERM timed out"
    proc.pid_file.unlink(missing_ok=True)
    return f"{outcome} (pid {pid})"


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- databases -----------------------------------------------------------------------------------------


async def create_databases(admin_url: str, names: Sequence[str]) -> list[str]:
    """Create the databases that do not exist yet; returns those created."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    parts = urlsplit(admin_url)
    engine = create_async_engine(urlunsplit(("postgresql+asyncpg", *parts[1:])), isolation_level="AUTOCOMMIT")
    created: list[str] = []
    try:
        async with engine.connect() as conn:
            for name in names:
                if not _DB_NAME.match(name):
                    raise SystemExit(f"refusing to create database with unusual name {name!r}")
                query = text("SELECT 1 FROM pg_database WHERE datname = :name")
                if await conn.scalar(query, {"name": name}) is None:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
                    created.append(name)
    finally:
        await engine.dispose()
    return created


def migrate(proc: Process) -> None:
    result = subprocess.run(
        [tool("egov-migrate"), proc.name],
        cwd=ROOT,
        env={**os.environ, **proc.env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"egov-migrate {proc.name} failed:\n{result.stdout}{result.stderr}")


# --- commands ------------------------------------------------------------------------------------------


def require_reachable(what: str, url: str, default_port: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    if not port_open(host, port):
        raise SystemExit(f"{what} is not reachable at {host}:{port} ({url}); start it first")


def up(config: Config, processes: list[Process]) -> int:
    require_reachable("PostgreSQL", config.admin_url, 5432)
    require_reachable("RabbitMQ", config.amqp_url, 5672)
    to_start = [p for p in processes if running_pid(p) is None]
    for proc in processes:
        if proc not in to_start:
            say(f"{proc.name}: already running (pid {running_pid(proc)})")
        elif port_open(config.host, proc.port):
            raise SystemExit(f"{proc.name}: port {proc.port} is taken by a process this script did not start")

    services = [p for p in to_start if p.name in SERVICE_PORTS]
    names = [urlsplit(p.env[f"EGOV_{p.name.upper()}_DATABASE_URL"]).path.lstrip("/") for p in services]
    for name in asyncio.run(create_databases(config.admin_url, names)):
        say(f"created database {name}")
    for proc in services:
        migrate(proc)
        say(f"{proc.name}: migrated")
    for proc in to_start:
        say(f"{proc.name}: started (pid {spawn(proc)}) on {config.host}:{proc.port}, log {proc.log_file}")

    ready_url = f"http://{config.host}:{GATEWAY_PORT}/readyz"
    deadline = time.monotonic() + config.up_timeout
    while time.monotonic() < deadline:
        dead = [p for p in processes if running_pid(p) is None]
        if dead:
            for proc in dead:
                say(f"{proc.name} exited; last lines of {proc.log_file}:\n{tail(proc.log_file)}")
            break
        if http_status(ready_url) == 200:
            say(
                f"\nready: gateway http://{config.host}:{GATEWAY_PORT} (docs at /docs, spec at /openapi.json)"
            )
            say(f"logs in {LOG_DIR}, pids in {RUN_DIR}; stop with `make down`")
            return 0
        time.sleep(0.5)
    else:
        say(f"gateway not ready at {ready_url} after {config.up_timeout:.0f}s")
    say("stopping what was started; logs stay in var/log")
    down(list(reversed(to_start)))
    return 1


def down(processes: list[Process]) -> int:
    for proc in processes:
        say(f"{proc.name}: {stop(proc)}")
    return 0


def status(config: Config, processes: list[Process]) -> int:
    for proc in processes:
        pid = running_pid(proc)
        health = http_status(f"http://{config.host}:{proc.port}/healthz") if pid else None
        state = f"running (pid {pid}), /healthz {health}" if pid else "stopped"
        say(f"{proc.name:<9} {config.host}:{proc.port}  {state}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    env = dict(os.environ)
    config = Config.from_env(env)
    processes = plan(config, env)
    if args.command == "up":
        return up(config, processes)
    if args.command == "down":
        return down(list(reversed(processes)))
    return status(config, processes)


if __name__ == "__main__":
    sys.exit(main())
