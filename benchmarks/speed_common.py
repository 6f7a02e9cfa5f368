"""Shared by the speed instruments (issue 11): the baseline worktree, the server, /proc, tables.

Not an instrument itself. ``speed.py``, ``browser_speed.py`` and ``load.py`` measure the code
of a repository folder (this checkout, or a ``git worktree`` of the baseline under /tmp)
with the same virtual environment, so each figure is printed beside the previous path.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
OUT = REPOSITORY / "benchmarks" / "out"
#: The commit before the speed work of issue 11.
DEFAULT_BASELINE = "a5122be"
NATIONAL = Path("/tmp/eqm-national")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# --- Which code, which data -------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a name, a repository folder and a data folder."""

    name: str  # "baseline" or "now"
    repo: Path
    data: Path
    ref: str  # what the folder holds, in words (a commit, or "working tree")


def git(*args: str, cwd: Path = REPOSITORY) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def describe_now() -> str:
    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", ".", ":!benchmarks")
    return f"{head} + uncommitted changes" if dirty else head


def baseline_tree(ref: str) -> Path:
    """A detached ``git worktree`` of ``ref`` under /tmp, created once and reused."""
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    tree = Path(f"/tmp/eqm-baseline-{sha[:7]}")
    if tree.exists():
        try:
            if git("rev-parse", "HEAD", cwd=tree) == sha:
                return tree
        except subprocess.CalledProcessError:
            pass
        raise SystemExit(f"{tree} exists but is not a worktree at {sha[:7]}: remove it first")
    git("worktree", "add", "--detach", str(tree), sha)
    return tree


def data_folder(spec: str, repo: Path) -> Path:
    """A data folder from ``--data``.

    ``small`` is the repository's own bundled demo, ``national`` is /tmp/eqm-national, and
    any other name without a slash (a scale of ``equality_core.demo.SCALES``) is
    /tmp/eqm-<name> (or /tmp/eqm-scale-<name>, where ``scale.py`` builds it); anything
    else is a folder.
    """
    if spec == "small":
        return repo / "data"
    if spec == "national":
        return NATIONAL
    if "/" not in spec and not Path(spec).exists():
        for folder in (Path(f"/tmp/eqm-{spec}"), Path(f"/tmp/eqm-scale-{spec}")):
            if (folder / "validated").exists():
                return folder
        return Path(f"/tmp/eqm-{spec}")
    return Path(spec).resolve()


def scale_name(spec: str) -> str:
    return spec if "/" not in spec else Path(spec).name


def sides(data_spec: str, baseline: str | None, baseline_data: str | None = None) -> list[Side]:
    """The baseline (if any) and the current checkout, each with its data folder."""
    out = []
    if baseline:
        tree = baseline_tree(baseline)
        data = data_folder(baseline_data or data_spec, tree)
        out.append(
            Side("baseline", tree, data, f"{baseline} ({git('rev-parse', '--short', baseline)})")
        )
    out.append(Side("now", REPOSITORY, data_folder(data_spec, REPOSITORY), describe_now()))
    for side in out:
        if not (side.data / "validated").exists():
            scale = data_spec if "/" not in data_spec else "national"
            raise SystemExit(
                f"{side.data} has no published data: build it with `python -m equality_core "
                f"demo --data {side.data} --scale {scale} --force` (national: about 45 s)"
            )
    return out


REPUBLISHED = (
    "WARNING: the data folder was republished during the measurement (another demo or "
    "validate run): these figures are not to be trusted"
)


def generation(data: Path) -> str:
    """The published generation a data folder names now (to notice a republication)."""
    try:
        return os.readlink(data / "validated")
    except OSError:
        return ""


def open_access_file() -> Path:
    """An access file that switches sign-in off (for supplied data on a closed machine)."""
    path = OUT / "access-open.toml"
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text('[settings]\nsign_in = "off"\n', encoding="utf-8")
    return path


def child_env(side: Side, *, open_access: bool = False) -> dict[str, str]:
    """The environment a measuring child runs in: the side's code first on the path."""
    env = {
        **os.environ,
        "EQUALITY_MONITOR_DATA": str(side.data),
        "PYTHONPATH": str(side.repo),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if open_access:
        env["EQUALITY_MONITOR_ACCESS_FILE"] = str(open_access_file())
    return env


# --- Statistics and output ----------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def wait_quiet(max_load: float | None, wait: float) -> None:
    """Wait (up to ``wait`` seconds) for the one-minute load average to fall below ``max_load``."""
    if max_load is None:
        return
    deadline = time.monotonic() + wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(f"  waiting for the load average ({loadavg()}) to fall below {max_load}", flush=True)
        time.sleep(30)


def add_quiet_arguments(parser) -> None:
    parser.add_argument(
        "--max-load",
        type=float,
        help="before each side, wait for the 1-minute load average to fall below this",
    )
    parser.add_argument(
        "--wait", type=float, default=900, help="give up waiting after this many seconds"
    )


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value * 1000:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "GiB":
        return f"{value:.2f} GiB"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:g}"


@dataclass
class Row:
    """One figure of the comparison table. ``limit`` is the goal's bound (at most)."""

    figure: str
    baseline: float | None
    now: float | None
    unit: str
    limit: float | None = None

    def cells(self) -> list[str]:
        goal = f"≤ {fmt(self.limit, self.unit)}" if self.limit is not None else ""
        if self.limit is None or self.now is None:
            met = ""
        else:
            met = "yes" if self.now <= self.limit else "NO"
        return [
            self.figure,
            fmt(self.baseline, self.unit),
            fmt(self.now, self.unit),
            goal,
            met,
        ]


def table(rows: list[Row], *, title: str) -> str:
    """A Markdown table: figure, baseline, now, goal, met?"""
    header = ["figure", "baseline", "now", "goal", "met?"]
    body = [r.cells() for r in rows]
    widths = [max(len(x) for x in column) for column in zip(header, *body, strict=True)]
    lines = [f"### {title}", ""]
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    lines.append(
        "| "
        + " | ".join(("-" * w if i == 0 else "-" * (w - 1) + ":") for i, w in enumerate(widths))
        + " |"
    )
    for cells in body:
        lines.append(
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )
    return "\n".join(lines)


def write_json(name: str, payload: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = OUT / f"{name}-{stamp}.json"
    text = json.dumps(payload, indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8")
    (OUT / f"{name}-latest.json").write_text(text, encoding="utf-8")
    return path


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "loadavg_at_start": loadavg(),
        "python": sys.version.split()[0],
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


# --- The Streamlit server -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_entry(repo: Path) -> str:
    """The script ``make run`` serves (``serve.py`` or ``app.py``), read from the Makefile."""
    makefile = repo / "Makefile"
    if makefile.exists():
        found = re.search(r"streamlit run (\S+\.py)", makefile.read_text(encoding="utf-8"))
        if found and (repo / found.group(1)).exists():
            return found.group(1)
    return "app.py"


class Server:
    """``streamlit run`` of one side's code on a free loopback port, until closed."""

    def __init__(self, side: Side, *, open_access: bool = False, log: Path | None = None):
        self.side = side
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.entry = server_entry(side.repo)
        self.log_path = log or OUT / f"server-{side.name}-{self.port}.log"
        OUT.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w", encoding="utf-8")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", self.entry,
                "--server.headless=true", f"--server.port={self.port}",
                "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
                "--server.fileWatcherType=none", "--server.runOnSave=false",
            ],
            cwd=side.repo,
            env=child_env(side, open_access=open_access),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        self.ready_seconds = self._wait()

    def _wait(self) -> float:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server not healthy after 120 s: see {self.log_path}")

    def warmed_up_seconds(self) -> float | None:
        """How long the server's warm-up took, as its log says (None: not logged yet)."""
        self._log.flush()
        found = re.findall(r"warmed up in ([0-9.]+) s", self.log_path.read_text(encoding="utf-8"))
        return float(found[0]) if found else None

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p) or 0.0 for p in self.pids())

    def rss_gib(self) -> float:
        return sum(rss_bytes(p) for p in self.pids()) / 1024**3

    def peak_rss_gib(self) -> float | None:
        """VmHWM of the server process (its children, if any, are not included)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024**2
        except OSError:
            return None
        return None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- /proc ----------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child, before exec: be sent SIGTERM when the measuring process dies."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so servers and browsers are closed on the way out."""
    import signal

    def stop(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def match_priority(pids: list[int]) -> int:
    """Give every thread of ``pids`` this process's own priority; how many were changed.

    Chromium raises its browser and GPU processes to nice -8 and puts renderers at 0; a
    server started by a measurement run under ``nice`` would then wait behind its own
    client. Every process a measurement starts runs at one priority instead.
    """
    target = os.getpriority(os.PRIO_PROCESS, 0)
    changed = 0
    for pid in pids:
        try:
            threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in threads:
            try:
                if os.getpriority(os.PRIO_PROCESS, tid) != target:
                    os.setpriority(os.PRIO_PROCESS, tid, target)
                    changed += 1
            except OSError:
                continue
    return changed


def chromium_pids() -> list[int]:
    """Chromium processes started under this one (through Playwright's driver)."""
    found = []
    for pid in process_tree(os.getpid()):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if name.startswith(("chrom", "headless")):
            found.append(pid)
    return found


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    tree = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of one process so far (None if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every core, everyone's processes)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK
