"""What the benchmarks share: processes they start and stop, CPU time from /proc, percentiles."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
from pathlib import Path
from typing import Any

from egov_shared.testing.servers import free_port

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = [
    "CLOCK_TICKS",
    "cpu_seconds",
    "free_port",
    "machine",
    "machine_busy_seconds",
    "percentile",
    "stop",
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    # Fields after the command name (which may hold spaces, hence rsplit on ')'): utime and stime are 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this benchmark started: SIGINT, then SIGKILL after 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0–100) of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine(**extra: Any) -> dict[str, Any]:
    """What a report says of the machine it ran on: cores, CPU model, memory, OS, Python (and ``extra``)."""
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **extra,
    }


def machine_busy_seconds() -> float:
    """CPU seconds all cores together have spent busy since boot (/proc/stat, everything but idle and iowait):
    the difference over a run, against its wall time x cores, says how loaded the whole machine was."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest and guest_nice (fields 9 and 10) are already counted in user and nice.
    return (sum(fields[:8]) - idle) / CLOCK_TICKS
