"""Private PostgreSQL and RabbitMQ instances for fault tests.

Fault tests stop, crash and restart servers. The machine's shared PostgreSQL (5432) and RabbitMQ (5672) serve every
other test, so these helpers start throwaway instances on free ports in a temporary directory, stop only what they
started (by pid or node name) and always remove the directory. Recipes: shared/ops/private-servers.md.

    async with private_postgres() as pg, private_rabbitmq() as mq:
        ...  # pg.url, mq.url; await pg.stop("immediate"); await pg.start(); await mq.kill(); await mq.start()

The servers run as our child processes (not daemonized) so that we reap them ourselves: this machine's init reaps
orphans late, and a dead server still listed as a zombie blocks its own restart (PostgreSQL's lock files).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
_POLL = 0.1


class ServerUnavailable(RuntimeError):
    """The server's programs (or the user to run them as) are missing on this machine: tests should skip."""


class ServerError(RuntimeError):
    """A private server failed to start or stop in time; the message ends with the tail of its logs."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """What both servers share: one child process, its logs, bounded waits and cleanup."""

    name = "server"

    def __init__(self, prefix: str, user: str) -> None:
        self._as = _Identity.for_user(user)
        self.port = free_port()
        self.last_start_seconds = 0.0  # how long the last start() took, for reports
        self._process: subprocess.Popen[bytes] | None = None
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))  # last: nothing after it may fail

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def _logs(self) -> list[Path]:
        raise NotImplementedError

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        if self.running:
            raise ServerError(f"{self.name} is already running")
        with (self.dir / "stdout.log").open("ab") as out:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=env,
                start_new_session=True,  # a Ctrl-C meant for pytest must not reach the server
                user=self._as.uid,
                group=self._as.gid,
                extra_groups=self._as.groups,
            )

    async def _wait_ready(self, ready: Callable[[], Awaitable[bool]], began: float) -> None:
        async def check() -> bool:
            process = self._process
            if process is None or process.poll() is not None:
                status = process.returncode if process is not None else None
                raise ServerError(f"{self.name} exited during start with status {status}{_tail(self._logs)}")
            return await ready()

        try:
            await _wait_until(check, START_TIMEOUT, f"{self.name} start", self._logs)
        except BaseException:
            await self._kill_process_tree()
            raise
        self.last_start_seconds = time.monotonic() - began

    def _running_process(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            raise ServerError(f"{self.name} is not running")
        return self._process

    async def _reap(self, what: str) -> None:
        process = self._process
        if process is None:
            return
        try:
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ServerError(f"{what}: {self.name} still running{_tail(self._logs)}") from None

    async def _kill_process_tree(self) -> None:
        if self.running and self._process is not None:
            await _kill_tree(self._process.pid, what=self.name)
            await self._reap(f"kill -9 of {self.name}")


# --- PostgreSQL ---------------------------------------------------------------------------------------------


class PrivatePostgres(_Server):
    """A PostgreSQL cluster of its own. Its data survives stop/kill + start until the context manager exits."""

    def __init__(self) -> None:
        self._bin = _postgres_bin_dir()
        super().__init__("egov-pg-", "postgres")  # initdb and postgres refuse to run as root
        self.name = f"private postgres on port {self.port}"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"  # for asyncpg/libpq directly
        self._data = self.dir / "data"
        self._env = {**_env_without("PG"), "HOME": str(self.dir)}

    async def start(self) -> None:
        """Start (or restart, with the same data and port) and wait until it accepts connections."""
        began = time.monotonic()
        command = [
            str(self._bin / "postgres"),
            "-D",
            str(self._data),
            "-p",
            str(self.port),
            "-k",
            str(self.dir),
        ]
        self._spawn([*command, "-c", "listen_addresses=127.0.0.1"], self._env)
        await self._wait_ready(self._accepting, began)

    async def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stop as `pg_ctl stop -m <mode>` does: "fast" is a clean shutdown, "immediate" a crash of PostgreSQL
        itself (the next start replays the WAL)."""
        self._running_process().send_signal(_PG_STOP_SIGNALS[mode])
        await self._reap(f"stop -m {mode}")

    async def kill(self) -> None:
        """SIGKILL the postmaster and all its processes at once, as a power cut would."""
        self._running_process()
        shmid = self._shmem_id()
        await self._kill_process_tree()
        # A killed postmaster leaves its SysV segment; it would leak if this cluster is never started again.
        if shmid is not None and shutil.which("ipcrm"):
            await asyncio.to_thread(subprocess.run, ["ipcrm", "-m", shmid], capture_output=True, check=False)

    @property
    def log_path(self) -> Path:
        """The server log (PostgreSQL writes it to its stderr)."""
        return self.dir / "stdout.log"

    @property
    def _logs(self) -> list[Path]:
        return [self.log_path]

    async def _accepting(self) -> bool:
        # postmaster.pid: line 1 the pid, line 8 the status, "ready" once it accepts connections (as pg_ctl -w).
        lines = _read_lines(self._data / "postmaster.pid")
        pid = self._process.pid if self._process is not None else None
        return len(lines) > 7 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _shmem_id(self) -> str | None:
        # Line 7 of postmaster.pid is "<shmem key> <shmem id>".
        lines = _read_lines(self._data / "postmaster.pid")
        fields = lines[6].split() if len(lines) > 6 else []
        return fields[1] if len(fields) == 2 and fields[1].isdigit() else None

    async def _create(self) -> None:
        self._as.chown_tree(self.dir)
        initdb = [str(self._bin / "initdb"), "-D", str(self._data), "-A", "trust", "-U", "postgres"]
        await _run(
            [*initdb, "--encoding=UTF8", "--no-locale", "--no-sync"],
            identity=self._as,
            env=self._env,
            timeout=START_TIMEOUT,
            what="initdb of a private postgres",
        )

    async def _destroy(self) -> None:
        try:
            if self.running:
                # A clean exit of the postmaster also frees its shared memory: kill only if that fails.
                with contextlib.suppress(ServerError):
                    await self.stop("immediate")
                if self.running:
                    await self.kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


_PG_STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


@contextlib.asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A started private PostgreSQL; stopped and deleted on exit, also on error."""
    server = PrivatePostgres()
    try:
        await server._create()
        await server.start()
        yield server
    finally:
        await server._destroy()


def _postgres_bin_dir() -> Path:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    tools = ("initdb", "postgres")
    candidates = [path for path in Path("/usr/lib/postgresql").glob("*/bin") if _has(path, *tools)]
    if candidates:
        return max(candidates, key=version)
    initdb = shutil.which("initdb")
    if initdb and _has(Path(initdb).parent, *tools):
        return Path(initdb).parent
    raise ServerUnavailable("PostgreSQL server programs (initdb, postgres) not found")


# --- RabbitMQ -----------------------------------------------------------------------------------------------


class PrivateRabbitMQ(_Server):
    """A RabbitMQ node of its own. Durable queues and persistent messages survive stop/kill + start."""

    def __init__(self) -> None:
        self._scripts = _rabbitmq_scripts_dir()
        if shutil.which("erl") is None:
            raise ServerUnavailable("Erlang (erl) not found: RabbitMQ cannot run here")
        super().__init__("egov-rabbitmq-", "rabbitmq")
        self.dist_port = free_port()
        while self.dist_port == self.port:
            self.dist_port = free_port()
        self.node = f"faults-{secrets.token_hex(4)}@localhost"
        self.name = f"private rabbitmq {self.node}"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._pid_file = self.dir / "rabbitmq.pid"
        self._log = self.dir / "log" / "rabbit.log"
        # Given to the child processes only, never put in os.environ. HOME is this directory so that the node
        # and our rabbitmqctl share a private Erlang cookie (the machine's is only readable by its node's user).
        self._env = {
            **_env_without("RABBITMQ_", "ERL_"),
            "HOME": str(self.dir),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_LOGS": str(self._log),
            "RABBITMQ_PID_FILE": str(self._pid_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),  # absent on purpose
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),  # instead of the machine's
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    async def start(self) -> None:
        """Start (or restart, with the same data and ports) and wait until it answers AMQP."""
        began = time.monotonic()
        self._pid_file.unlink(missing_ok=True)  # so that the pid read later is this run's
        self._spawn([str(self._scripts / "rabbitmq-server")], self._env)
        await self._wait_ready(self._answers, began)

    async def stop(self) -> None:
        """A clean shutdown with `rabbitmqctl -n <node> stop`; returns once the node's process has exited."""
        self._running_process()
        # Given the pid file, `stop` also waits until that process is gone.
        await _run(
            [str(self._scripts / "rabbitmqctl"), "-n", self.node, "stop", str(self._pid_file)],
            identity=self._as,
            env=self._env,
            timeout=STOP_TIMEOUT,
            what=f"rabbitmqctl -n {self.node} stop",
            logs=self._logs,
        )
        await self._reap("rabbitmqctl stop")

    async def kill(self) -> None:
        """kill -9 of the node's pid (from its pid file): a crash, nothing flushed or closed."""
        process = self._running_process()
        pid = _read_pid(self._pid_file)
        await _kill_tree(pid if pid is not None else process.pid, what=self.name)
        await self._reap("kill -9")
        await self._kill_process_tree()  # in case the pid file named something other than our child

    @property
    def log_path(self) -> Path:
        """The node's log file (start-up banner and crashes of the start script are in stdout.log beside it)."""
        return self._log

    @property
    def _logs(self) -> list[Path]:
        return [self.dir / "stdout.log", self._log]

    async def _answers(self) -> bool:
        return _read_pid(self._pid_file) is not None and await _amqp_answers(self.port)

    def _create(self) -> None:
        (self.dir / "enabled_plugins").write_text("[].\n")  # no management plugin: it would collide on 15672
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\nlog.console = false\n"
        )
        (self.dir / "rabbitmq-env.conf").write_text(
            "# private node: every setting comes from the environment\n"
        )
        cookie = self.dir / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)  # Erlang refuses a cookie file that others can read
        self._as.chown_tree(self.dir)

    async def _destroy(self) -> None:
        # The data is deleted next, so a kill is as good as a clean stop here, and much faster.
        try:
            if self.running:
                await self.kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_rabbitmq() -> AsyncIterator[PrivateRabbitMQ]:
    """A started private RabbitMQ node; stopped and deleted on exit, also on error."""
    server = PrivateRabbitMQ()
    try:
        server._create()
        await server.start()
        yield server
    finally:
        await server._destroy()


def _rabbitmq_scripts_dir() -> Path:
    # /usr/lib/rabbitmq/bin holds the real scripts (Debian and upstream packages); /usr/sbin only has wrappers
    # that switch to the rabbitmq user with its own HOME, and so to the machine's Erlang cookie.
    packaged = Path("/usr/lib/rabbitmq/bin")
    if _has(packaged, "rabbitmq-server", "rabbitmqctl"):
        return packaged
    found = shutil.which("rabbitmq-server")
    if found and _has(Path(found).resolve().parent, "rabbitmqctl"):
        return Path(found).resolve().parent
    raise ServerUnavailable("RabbitMQ server programs (rabbitmq-server, rabbitmqctl) not found")


async def _amqp_answers(port: int) -> bool:
    """True when the port speaks AMQP 0-9-1: it answers the protocol header with a method frame."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"AMQP\x00\x00\x09\x01")
        await writer.drain()
        return await asyncio.wait_for(reader.read(1), 2) == b"\x01"
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


# --- processes and files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    """Whom to run server programs as: the service's user when we are root (the servers refuse root or would
    leave root-owned files behind), ourselves otherwise (all None)."""

    uid: int | None = None
    gid: int | None = None
    groups: list[int] | None = None

    @classmethod
    def for_user(cls, user: str) -> _Identity:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise ServerUnavailable(f"running as root but there is no {user!r} user to run it as") from None
        return cls(entry.pw_uid, entry.pw_gid, [])  # [] drops root's supplementary groups

    def chown_tree(self, root: Path) -> None:
        if self.uid is None or self.gid is None:
            return
        for directory, _, files in os.walk(root):
            os.chown(directory, self.uid, self.gid)
            for name in files:
                os.chown(os.path.join(directory, name), self.uid, self.gid)


async def _run(
    argv: list[str],
    *,
    identity: _Identity,
    env: dict[str, str],
    timeout: float,
    what: str,
    logs: Sequence[Path] = (),
) -> None:
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=env["HOME"],
            user=identity.uid,
            group=identity.gid,
            extra_groups=identity.groups,
        )
    except subprocess.TimeoutExpired:
        raise ServerError(f"{what}: no result after {timeout:.0f} s{_tail(logs)}") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ServerError(f"{what} failed with status {done.returncode}: {output}{_tail(logs)}")


def _has(directory: Path, *names: str) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in names)


def _env_without(*prefixes: str) -> dict[str, str]:
    """Our environment minus variables that would reconfigure the child (it gets its own settings)."""
    return {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return []


def _read_pid(path: Path) -> int | None:
    lines = _read_lines(path)
    return int(lines[0]) if lines and lines[0].strip().isdigit() else None


def _tail(paths: Sequence[Path], lines: int = 30) -> str:
    parts = []
    for path in paths:
        content = _read_lines(path)[-lines:]
        if content:
            parts.append(f"\n--- last lines of {path} ---\n" + "\n".join(content))
    return "".join(parts)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (dead, waiting for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        children.setdefault(int(fields[1]), []).append(int(stat_file.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


async def _kill_tree(pid: int, *, what: str, timeout: float = 15) -> None:
    """SIGKILL a process and all its descendants at once, then wait until none is left."""
    pids = [pid, *_descendants(pid)]
    for target in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)

    async def all_gone() -> bool:
        return not any(_alive(target) for target in pids)

    await _wait_until(all_gone, timeout, f"kill -9 of {what} (pids {pids})", [])


async def _wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, logs: Sequence[Path]
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise ServerError(f"{what}: not done after {timeout:.0f} s{_tail(logs)}")
        await asyncio.sleep(_POLL)
