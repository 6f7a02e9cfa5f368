"""Growth with scale: demo and validate at small, national and five times national.

Usage::

    python benchmarks/scale.py [--scales small national national-x5] [--root /tmp]
                               [--max-load 1.5] [--wait 900]

For each scale, in a data folder ``ROOT/eqm-scale-<scale>`` (kept out of the repository):

1. ``python -m equality_core demo --scale <scale> --force``: generate, write, validate
   and publish, under ``/usr/bin/time -v`` (wall time, CPU time and peak resident
   memory: on a shared machine the CPU time is the steadier figure);
2. ``python -m equality_core validate``: validate everything again and publish a new
   generation (the shrink check against the one before included), under the same;
3. the published ``prisoner_periods`` as the dashboard holds it (``data.load_validated``
   then ``data.attach_establishment_attributes``, what ``equality_ui.loading`` caches):
   its rows and ``DataFrame.memory_usage(deep=True)``, in a process of its own.

Before each measurement the one-minute load average is read (``/proc/loadavg``): the
machine may be shared. Above ``--max-load`` the script waits (up to ``--wait`` seconds
in all) for it to fall, and records the load it measured under either way. Results go to
``benchmarks/out/scale.json`` and a Markdown table is printed for benchmarks/README.md.
Not a test: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
OUT = REPOSITORY / "benchmarks" / "out"
TIME = "/usr/bin/time"
SCALES = ("small", "national", "national-x5")

_LOADED = """
import json, sys
from pathlib import Path
from equality_core import data
from equality_core.paths import DataPaths
paths = DataPaths(Path(sys.argv[1]))
frame = data.load_validated(paths, "prisoner_periods")
frame = data.attach_establishment_attributes(frame, data.load_validated(paths, "establishments"))
print(json.dumps({"rows": len(frame), "bytes": int(frame.memory_usage(deep=True).sum())}))
"""


def load_average() -> float:
    """The one-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_quiet(max_load: float, budget: list[float]) -> float:
    """Wait while the load is above ``max_load`` (spending ``budget[0]`` seconds at most)."""
    load = load_average()
    while load > max_load and budget[0] > 0:
        print(f"  load {load:.2f} > {max_load}: waiting", file=sys.stderr, flush=True)
        time.sleep(30)
        budget[0] -= 30
        load = load_average()
    return load


def timed(command: list[str]) -> dict:
    """Run ``command`` under ``/usr/bin/time -v``: wall seconds, peak GiB, CPU, output."""
    result = subprocess.run(
        [TIME, "-v", *command],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    report = result.stderr
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", report)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", report)
    user = re.search(r"User time \(seconds\): ([\d.]+)", report)
    system = re.search(r"System time \(seconds\): ([\d.]+)", report)
    if result.returncode != 0 or not wall or not peak:
        tail = "\n".join((result.stdout + report).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{tail}")
    parts = [float(p) for p in wall.group(1).split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return {
        "seconds": round(seconds, 1),
        "peak_gib": round(int(peak.group(1)) / 1024**2, 2),
        "cpu_percent": int(cpu.group(1)) if cpu else None,
        "cpu_seconds": round(float(user.group(1)) + float(system.group(1)), 1)
        if user and system
        else None,
        "output": result.stdout.strip().splitlines()[-1:] or [""],
        "steps": _steps(report),
    }


def _steps(progress: str) -> dict:
    """When the demo's progress lines say it began validating (seconds from its start)."""
    for line in progress.splitlines():
        match = re.match(r"\[\s*([\d.]+)s\] establishments: reading", line)
        if match:
            return {"validating_from": float(match.group(1))}
    return {}


def measure(scale: str, root: Path, max_load: float, budget: list[float]) -> dict:
    folder = root / f"eqm-scale-{scale}"
    python = sys.executable
    out: dict = {"scale": scale, "data": str(folder)}
    print(f"{scale}: demo", file=sys.stderr, flush=True)
    out["demo_load"] = wait_for_quiet(max_load, budget)
    out["demo"] = timed(
        [python, "-m", "equality_core", "demo", "--data", str(folder), "--scale", scale, "--force"]
    )
    manifest = json.loads((folder / "validated" / "manifest.json").read_text(encoding="utf-8"))
    out["rows"] = {name: entry["rows"] for name, entry in manifest["extracts"].items()}
    print(f"{scale}: validate", file=sys.stderr, flush=True)
    out["validate_load"] = wait_for_quiet(max_load, budget)
    out["validate"] = timed([python, "-m", "equality_core", "validate", "--data", str(folder)])
    print(f"{scale}: loading prisoner_periods", file=sys.stderr, flush=True)
    out["load_load"] = wait_for_quiet(max_load, budget)
    loaded = timed([python, "-c", _LOADED, str(folder)])
    out["loaded"] = {**json.loads(loaded.pop("output")[0]), **loaded}
    for step in ("demo", "validate"):
        out[step].pop("output", None)
    return out


def table(results: list[dict]) -> str:
    lines = [
        "| scale | prisoner-quarters | community terminations | `demo` (generate, validate, "
        "publish) | `validate` alone | `prisoner_periods` loaded as the dashboard holds it |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        loaded = r["loaded"]
        per_million = loaded["bytes"] / 1024**2 / (loaded["rows"] / 1e6)
        lines.append(
            f"| {r['scale']} | {r['rows']['prisoner_periods']:,} | "
            f"{r['rows']['community_terminations']:,} | "
            f"{r['demo']['seconds']:.0f} s ({r['demo']['cpu_seconds']:.0f} s of CPU), "
            f"{r['demo']['peak_gib']:.2f} GiB | "
            f"{r['validate']['seconds']:.0f} s ({r['validate']['cpu_seconds']:.0f} s of CPU), "
            f"{r['validate']['peak_gib']:.2f} GiB | "
            f"{loaded['bytes'] / 1024**2:,.0f} MiB ({per_million:.0f} MiB per million rows); "
            f"loading {loaded['seconds']:.0f} s, {loaded['peak_gib']:.2f} GiB peak |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", nargs="+", choices=SCALES, default=list(SCALES))
    parser.add_argument("--root", type=Path, default=Path("/tmp"))
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument("--wait", type=float, default=900.0, help="seconds to wait in all")
    args = parser.parse_args()
    if not Path(TIME).exists():
        print(f"{TIME} is missing: apt-get install time", file=sys.stderr)
        return 2
    budget = [args.wait]
    results = [measure(scale, args.root, args.max_load, budget) for scale in args.scales]
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    document = {"measured_at": stamp, "cpus": os.cpu_count(), "results": results}
    (OUT / "scale.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    for r in results:
        started = r["demo"]["steps"].get("validating_from")
        if started is not None:
            print(
                f"{r['scale']}: demo generated and wrote its raw files in {started:.0f} s, "
                f"then validated and published in {r['demo']['seconds'] - started:.0f} s"
            )
        print(
            f"{r['scale']}: load average {r['demo_load']:.2f} before demo, "
            f"{r['validate_load']:.2f} before validate, {r['load_load']:.2f} before loading; "
            f"CPU {r['demo']['cpu_percent']}%, {r['validate']['cpu_percent']}% and "
            f"{r['loaded']['cpu_percent']}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
