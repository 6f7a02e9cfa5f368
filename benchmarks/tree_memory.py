"""Run a command; print its wall time and the peak of the summed memory of its process tree.

The publish step runs in several processes (``--workers``), so the peak that matters for
its memory budget is their sum, which ``/usr/bin/time -v`` does not give (it reports the
largest single process). This samples the resident memory (``VmRSS``) of the command and
every process descended from it every 0.2 s, from ``/proc`` (Linux only)::

    python benchmarks/tree_memory.py python -m equality_core demo --scale national-x5 --data DIR
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

INTERVAL_SECONDS = 0.2


def tree_rss(root: int) -> int:
    """The summed resident memory, in bytes, of ``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, waiting = 0, [root]
    while waiting:
        pid = waiting.pop()
        waiting += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def main(command: list[str]) -> int:
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(INTERVAL_SECONDS)
    print(
        f"wall {time.perf_counter() - started:.1f} s, peak summed RSS {peak / 2**30:.2f} GiB, "
        f"exit {process.returncode}",
        file=sys.stderr,
    )
    return process.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
