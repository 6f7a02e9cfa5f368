"""Differencing attacks on a data folder: how often each family still recovers a hidden count.

Usage::

    python benchmarks/differencing.py --data /tmp/eqm-national-h3 [--ends 4] [--units 30]

Runs the four attack families of issue 7 (:mod:`equality_core.differencing`) against the
views of the data folder, protected by its own disclosure configuration ("after", the cell
key method) and by suppression alone ("before", the old method's primary rule: the same
rows hidden, nothing perturbed), and prints a table per family: cases, before and after
recovery rates, the guess-only baseline, after minus baseline in percentage points and
PASS/FAIL against the 10-point bar. The national demo is sampled (the latest ``--ends``
rolling periods; ``--units`` establishments for the attacks that open one page each).
Figures are also written as JSON (``--out``). Not a test: it reports.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from equality_core import data, differencing  # noqa: E402
from equality_core.paths import DataPaths  # noqa: E402

OUT = REPOSITORY / "benchmarks" / "out" / "differencing.json"


def percent(value: float) -> str:
    return "-" if pd.isna(value) else f"{100 * value:.1f}%"


def points(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:+.1f}"


def family_table(family: str, runs: dict[str, differencing.AttackResult], seconds: float) -> str:
    after, before = runs[differencing.CELL_KEY], runs[differencing.SUPPRESSION_ONLY]
    margin = 100 * (after.recovery_rate - after.baseline_rate)
    clamped = 100 * (after.clamped_recovery_rate - after.baseline_rate)
    verdict = "PASS" if after.n_cases and margin <= 100 * differencing.BAR else "FAIL"
    lines = [
        f"{family}: {differencing.FAMILIES[family]}  ({seconds:.0f} s, {after.views:,} views)",
        "  | cases | before (suppression only) | after (cell key) | baseline | after - baseline | bar |",
        "  | ---: | ---: | ---: | ---: | ---: | --- |",
        f"  | {after.n_cases:,} | {percent(before.recovery_rate)} of {before.n_cases:,} "
        f"| {percent(after.recovery_rate)} ({after.recoveries}) "
        f"| {percent(after.baseline_rate)} (always {after.baseline_guess}) "
        f"| {points(margin)} points | {verdict} |",
        f"  hidden counts of 1 to 4 in the views: {after.hidden_small:,}; "
        f"an attacker clamping into 1-4: {percent(after.clamped_recovery_rate)} "
        f"({points(clamped)} points, "
        f"{'PASS' if clamped <= 100 * differencing.BAR else 'FAIL'})",
    ]
    if differencing.SUPPRESSION_UNTESTED in runs:
        untested = runs[differencing.SUPPRESSION_UNTESTED]
        pinned = before.cases[before.cases["allowed"] == 1] if before.n_cases else before.cases
        lines.append(
            f"  before = previous release (hidden groups tested, then hidden): pinned down "
            f"{len(pinned):,} counts, {percent(pinned['recovered'].mean())} right; current "
            f"code without noise (hidden groups untested): "
            f"{percent(untested.recovery_rate)} of {untested.n_cases:,}"
        )
    by_quantity = after.cases.groupby("quantity")["recovered"].agg(["size", "mean"])
    lines.append(
        "  after, by count: "
        + "; ".join(
            f"{q} {int(r['size'])} ({percent(r['mean'])})" for q, r in by_quantity.iterrows()
        )
    )
    if after.note:
        lines.append(f"  {after.note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a data folder (validated)")
    parser.add_argument("--ends", type=int, default=4, help="latest rolling periods (0: all)")
    parser.add_argument("--units", type=int, default=30, help="establishments sampled (0: all)")
    parser.add_argument(
        "--characteristics",
        default="ethnic_group,religion,disability,transgender",
        help="comma-separated characteristics",
    )
    parser.add_argument("--families", default=",".join(differencing.FAMILIES))
    parser.add_argument("--combine", choices=("first", "mean"), default="first")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    paths = DataPaths(args.data)
    frames = differencing.load_frames(paths)
    config = data.disclosure_config(paths)
    loaded = time.perf_counter() - started
    plan = differencing.AuditPlan(
        characteristics=tuple(args.characteristics.split(",")),
        ends=args.ends or None,
        units=args.units or None,
        combine=args.combine,
    )
    print(f"{args.data}: loaded in {loaded:.0f} s; protection: {config.describe()}")
    print(f"plan: {plan}\n")
    results, seconds = {}, {}
    for family in args.families.split(","):
        begun = time.perf_counter()
        results[family] = differencing.ATTACKS[family](frames, config=config, plan=plan)
        seconds[family] = time.perf_counter() - begun
        print(family_table(family, results[family], seconds[family]), "\n", flush=True)
    table = differencing.summary(results)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{total:.0f} s in all, {peak:.1f} GiB peak resident memory")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "data": str(args.data),
                "plan": repr(plan),
                "protection": config.describe(),
                "seconds": {k: round(v, 1) for k, v in seconds.items()} | {"all": round(total, 1)},
                "peak_gib": round(peak, 2),
                "summary": json.loads(table.to_json(orient="records")),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0 if bool(table["passed"].all()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
