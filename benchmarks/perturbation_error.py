"""What the cell key method's noise does to the figures: rates, relative rates and flags.

For every proportion measure of the prisoner, community and staff extracts and every
characteristic, over the latest twelve months, compares the figures shown (perturbed)
with the exact figures, for England and Wales and for each establishment (or probation
region), and prints the error in rates (percentage points), in relative rates (per cent)
and how often the flag differs. Only groups shown under both are compared.

    .venv/bin/python benchmarks/perturbation_error.py --data /tmp/eqm-national
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from equality_core import analysis, data
from equality_core.analysis import Selection
from equality_core.measures import MEASURES
from equality_core.paths import DataPaths
from equality_core.recovery import latest_selection

PLACE = {
    "prisoner_periods": "establishment",
    "staff_periods": "establishment",
    "community_terminations": "probation_region",
}


def _compare(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "characteristic", "group"]
    both = exact.merge(shown, on=keys, suffixes=("_exact", "_shown"))
    both = both[~both["suppressed_shown"] & both["rate_exact"].notna()]
    return pd.DataFrame(
        {
            "rate_error_points": (both["rate_shown"] - both["rate_exact"]).abs() * 100,
            "rate_relative_error_pct": (
                (both["rate_shown"] - both["rate_exact"]).abs() / both["rate_exact"] * 100
            ).where(both["rate_exact"] > 0),
            "rr_error_pct": (
                (both["relative_rate_shown"] / both["relative_rate_exact"] - 1).abs() * 100
            ),
            "flag_differs": (
                both["flag_exact"].astype(str) != both["flag_shown"].astype(str)
            ).where(both["flag_exact"].notna() & (both["flag_exact"] != "comparator")),
            "denominator": both["denominator_exact"],
        }
    )


def _summary(name: str, errors: pd.DataFrame) -> dict[str, object]:
    def q(column: str, p: float) -> float:
        values = errors[column].dropna()
        return float(np.quantile(values, p)) if len(values) else float("nan")

    flags = errors["flag_differs"].dropna().astype(bool)
    return {
        "population": name,
        "groups": len(errors),
        "median group size": int(errors["denominator"].median()) if len(errors) else 0,
        "rate error, median (points)": round(q("rate_error_points", 0.5), 3),
        "rate error, 95th pct (points)": round(q("rate_error_points", 0.95), 3),
        "relative rate error, median (%)": round(q("rr_error_pct", 0.5), 2),
        "relative rate error, 95th pct (%)": round(q("rr_error_pct", 0.95), 2),
        "flags that differ (%)": round(100 * flags.mean(), 2) if len(flags) else float("nan"),
    }


def main() -> int:
    """Print the error table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--establishments", type=int, default=20, help="how many, largest first")
    args = parser.parse_args()
    paths = DataPaths(Path(args.data))
    config = data.disclosure_config(paths)
    started = time.perf_counter()
    frames = {name: data.load_validated(paths, name) for name in PLACE}
    establishments = data.load_validated(paths, "establishments")
    for name in ("prisoner_periods", "staff_periods"):
        frames[name] = data.attach_establishment_attributes(frames[name], establishments)
    latest = latest_selection(frames)
    national, local = [], []
    for extract, frame in frames.items():
        measures = [m for m in MEASURES.values() if m.extract == extract and m.kind == "proportion"]
        unit = PLACE[extract]
        sizes = frame[unit].astype(str).value_counts()
        units = list(sizes.index[: args.establishments])
        for selection, bucket in [(latest, national)] + [
            (Selection(latest.period_kind, latest.period_end, ((unit, u),)), local) for u in units
        ]:
            records = analysis.select(frame, selection, extract)
            for characteristic in analysis.characteristic_options(extract):
                exact = analysis.disparities(
                    records, measures=measures, characteristic=characteristic, protection=None
                )
                shown = analysis.disparities(
                    records, measures=measures, characteristic=characteristic, protection=config
                )
                bucket.append(_compare(exact, shown))
    rows = [
        _summary("England and Wales", pd.concat(national, ignore_index=True)),
        _summary(
            f"One establishment or probation region (the {args.establishments} largest of each)",
            pd.concat(local, ignore_index=True),
        ),
    ]
    table = pd.DataFrame(rows).set_index("population").T
    print(f"ptable {config.ptable.version}, threshold {config.threshold}; {latest}")
    print(table.to_string())
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
