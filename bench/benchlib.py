"""What the benchmarks share: processes they start and stop, CPU time from /proc, percentiles."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from egov_shared.testing.servers import free_port

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = ["CLOCK_TICKS", "cpu_seconds", "free_port", "percentile", "stop"]


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
