"""Check the statistics against the demo's planted disparities.

The demo generator lists every difference between groups it planted (``planted.json``),
and the crude differences that follow from them (``confounded``).
:func:`recovery_table` runs the flag rule over every measure and characteristic of the
demo, nationally, for one period, and sorts each flag into *planted and found*, *planted
and missed* and *not planted* (a false discovery). With the Benjamini-Hochberg rule at
5% and the tolerance band, unplanted flags should be rare.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from equality_core import analysis, stats
from equality_core.analysis import Selection
from equality_core.cellkey import DisclosureConfig
from equality_core.data import period_choices
from equality_core.measures import MEASURES
from equality_core.schema import EXTRACTS


def recovery_table(
    frames: Mapping[str, pd.DataFrame],
    planted: dict,
    *,
    selection: Selection,
    protection: DisclosureConfig | None,
    rule: stats.FlagRule = analysis.DEFAULT_RULE,
) -> pd.DataFrame:
    """Every tested group of every measure and characteristic, with its flag and verdict.

    With ``protection``, the flags are those the dashboard shows (made from perturbed
    counts); hidden groups are left out, since nothing is shown for them.

    Columns: measure, characteristic, group, comparator, relative_rate, flag, planted
    (the expected flag or empty) and verdict (``found``, ``missed``, ``unplanted`` or
    ``quiet``). Comparators are those the generator planted against, else the largest
    group.
    """
    # A crude disparity that follows from another planted effect (``confounded``) is
    # expected to be flagged just as a planted one is: the flag rule is crude by design.
    expected = {
        (e["measure"], e["characteristic"], e["group"]): e
        for e in (*planted["relative_rates"], *planted.get("confounded", ()))
    }
    comparators = {(e["measure"], e["characteristic"]): e["comparator"] for e in expected.values()}
    parts = []
    for extract, frame in frames.items():
        measures = [m for m in MEASURES.values() if m.extract == extract]
        if not measures:
            continue
        records = analysis.select(frame, selection, extract)
        for characteristic in analysis.characteristic_options(extract):
            for measure in measures:
                comparator = comparators.get((measure.name, characteristic))
                table = analysis.disparities(
                    records,
                    measures=[measure],
                    characteristic=characteristic,
                    protection=protection,
                    comparator=comparator,
                    rule=rule,
                )
                parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    table = table[table["flag"].notna() & ~table["flag"].isin(["comparator", "[c]"])].copy()
    keys = zip(table["measure"], table["characteristic"], table["group"], strict=True)
    table["planted"] = [expected.get(k, {}).get("expected_flag", "") for k in keys]
    flagged = table["flag"].isin(["higher", "lower"])
    table["verdict"] = "quiet"
    table.loc[(table["planted"] != "") & (table["flag"] == table["planted"]), "verdict"] = "found"
    table.loc[(table["planted"] != "") & (table["flag"] != table["planted"]), "verdict"] = "missed"
    table.loc[(table["planted"] == "") & flagged, "verdict"] = "unplanted"
    return table[
        [
            "measure",
            "characteristic",
            "group",
            "comparator",
            "numerator",
            "denominator",
            "relative_rate",
            "p_adjusted",
            "flag",
            "planted",
            "verdict",
        ]
    ].reset_index(drop=True)


def latest_selection(frames: Mapping[str, pd.DataFrame]) -> Selection:
    """Twelve months to the latest quarter the prisoner extract holds."""
    quarters = frames["prisoner_periods"]["period"].astype(str).unique()
    return Selection("rolling", period_choices(quarters, "rolling")[0])


def record_extracts() -> list[str]:
    """The record-level extracts measures are defined on."""
    return [name for name in EXTRACTS if any(m.extract == name for m in MEASURES.values())]
