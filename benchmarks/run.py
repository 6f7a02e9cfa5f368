"""National-scale benchmarks: demo build, validation, the EMT matrix, recovery, page run times.

Usage: ``python benchmarks/run.py [--data DIR] [--skip-demo]``. Builds the national demo in
DIR (default /tmp/equality-monitor-national) unless --skip-demo, then measures. Figures are
printed and written to benchmarks/out/results.json; copy them into benchmarks/README.md.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from equality_core import analysis, data  # noqa: E402
from equality_core.measures import MEASURES  # noqa: E402
from equality_core.paths import DataPaths  # noqa: E402
from equality_core.recovery import latest_selection, record_extracts, recovery_table  # noqa: E402
from equality_core.schema import CHARACTERISTICS  # noqa: E402

OUT = REPOSITORY / "benchmarks" / "out"


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def build_demo(root: Path) -> dict:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "equality_core",
            "demo",
            "--data",
            str(root),
            "--scale",
            "national",
            "--force",
        ],
        cwd=REPOSITORY,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return {
        "demo_seconds": round(time.perf_counter() - started, 1),
        "demo_peak_gib": round(child, 2),
    }


def emt_matrix(paths: DataPaths) -> dict:
    """Every establishment x every prisoner measure x every characteristic's groups, one period."""
    frame = data.load_validated(paths, "prisoner_periods")
    selection = latest_selection({"prisoner_periods": frame})
    started = time.perf_counter()
    records = analysis.select(frame, selection, "prisoner_periods")
    collapsed = time.perf_counter()
    measures = [m for m in MEASURES.values() if m.extract == "prisoner_periods"]
    cells = 0
    flags = 0
    for characteristic in CHARACTERISTICS:
        table = analysis.disparities(
            records,
            measures=measures,
            characteristic=characteristic,
            protection=data.disclosure_config(paths),
            by=["establishment"],
        )
        cells += len(table)
        flags += int(table["flag"].isin(["higher", "lower"]).sum())
    finished = time.perf_counter()
    return {
        "emt_period": data.period_label(selection.period_kind, selection.period_end),
        "emt_establishments": int(records["establishment"].nunique()),
        "emt_measures": len(measures),
        "emt_cells": cells,
        "emt_flags": flags,
        "emt_collapse_seconds": round(collapsed - started, 2),
        "emt_seconds": round(finished - started, 2),
    }


def recovery(paths: DataPaths) -> dict:
    frames = {name: data.load_validated(paths, name) for name in record_extracts()}
    planted = json.loads((paths.raw / "planted.json").read_text(encoding="utf-8"))
    table = recovery_table(
        frames,
        planted,
        selection=latest_selection(frames),
        protection=data.disclosure_config(paths),
    )
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "recovery.csv", index=False)
    counts = table["verdict"].value_counts().to_dict()
    return {
        "recovery_tested_groups": len(table),
        "recovery_found": int(counts.get("found", 0)),
        "recovery_missed": int(counts.get("missed", 0)),
        "recovery_unplanted": int(counts.get("unplanted", 0)),
        "recovery_missed_list": table[table["verdict"] == "missed"][
            ["measure", "group", "relative_rate", "flag"]
        ].to_dict("records"),
        "recovery_unplanted_list": table[table["verdict"] == "unplanted"][
            ["measure", "characteristic", "group", "relative_rate", "p_adjusted"]
        ].to_dict("records"),
    }


def fresh_page_time(paths: DataPaths, name: str) -> float:
    """Seconds for one page's first run in this (new) process: loading included."""
    from streamlit.testing.v1 import AppTest

    os.environ["EQUALITY_MONITOR_DATA"] = str(paths.root)
    at = AppTest.from_file(str(REPOSITORY / "app.py"), default_timeout=600)
    started = time.perf_counter()
    at.switch_page(f"pages/{name}").run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{name}: {at.exception[0].value}")
    return elapsed


def page_times(paths: DataPaths) -> dict:
    """Each page's script run time with AppTest.

    ``fresh``: the page opened first in a new process (extracts loaded, nothing cached);
    ``cold``: the page opened after the overview in one process (extracts already loaded,
    the page's own figures not yet computed); ``warm``: a rerun with nothing changed;
    ``establishment``: the rerun after choosing an establishment.
    """
    from streamlit.testing.v1 import AppTest

    os.environ["EQUALITY_MONITOR_DATA"] = str(paths.root)
    results = {}
    pages = sorted(p.name for p in (REPOSITORY / "pages").glob("*.py"))
    for name in pages:
        fresh = subprocess.run(
            [sys.executable, __file__, "--data", str(paths.root), "--fresh-page", name],
            cwd=REPOSITORY,
            check=True,
            capture_output=True,
            text=True,
        )
        fresh_seconds = float(fresh.stdout.strip().splitlines()[-1])
        at = AppTest.from_file(str(REPOSITORY / "app.py"), default_timeout=600)
        started = time.perf_counter()
        at.run()  # the overview, the default page; the first one also loads the extracts
        cold = time.perf_counter() - started
        if name != "00_overview.py":
            started = time.perf_counter()
            at.switch_page(f"pages/{name}").run()
            cold = time.perf_counter() - started
        started = time.perf_counter()
        at.run()
        warm = time.perf_counter() - started
        result = {
            "fresh_seconds": round(fresh_seconds, 2),
            "cold_seconds": round(cold, 2),
            "warm_seconds": round(warm, 2),
        }
        keys = {element.key for element in at.selectbox}
        if "establishment" in keys:
            # What an analyst does most: pick an establishment (new figures to compute).
            establishments = data.load_validated(paths, "establishments")
            code = str(
                establishments.loc[establishments["function"] == "Category B local", "code"].iloc[0]
            )
            started = time.perf_counter()
            at.selectbox(key="establishment").set_value(code).run()
            result["establishment_seconds"] = round(time.perf_counter() - started, 2)
        result["errors"] = [str(e.value)[:200] for e in at.exception]
        results[name] = result
        print(name, results[name], flush=True)
    return {"pages": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/tmp/equality-monitor-national")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--only", choices=["emt", "recovery", "pages"], default=None)
    parser.add_argument("--fresh-page", help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = DataPaths(Path(args.data))
    if args.fresh_page:
        print(fresh_page_time(paths, args.fresh_page))
        return
    results: dict = {}
    if not args.skip_demo:
        results.update(build_demo(paths.root))
        print(results, flush=True)
    for name, step in (("emt", emt_matrix), ("recovery", recovery), ("pages", page_times)):
        if args.only in (None, name):
            results.update(step(paths))
            print({k: v for k, v in results.items() if not k.endswith("_list")}, flush=True)
    results["peak_rss_gib_this_process"] = round(peak_rss_gib(), 2)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(
        json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8"
    )
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    main()
