"""The statistics find what the demo generator planted, at national scale, and little else.

Builds the national demo in memory (about 20 seconds, no validation) and runs the flag
rule over every measure and characteristic for the latest twelve months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equality_core import analysis, cellkey, data, stats
from equality_core.demo import generate_demo
from equality_core.measures import MEASURES
from equality_core.recovery import latest_selection, record_extracts, recovery_table
from equality_core.schema import CHARACTERISTICS, EXTRACTS
from tests.conftest import DEMO_SEED

pytestmark = pytest.mark.slow
PROTECTION = cellkey.demo_config()


def _as_loaded(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame as the validated loader would give it (categoricals, record keys)."""
    out = frame.copy()
    for column in EXTRACTS[name].column_names:
        if column in CHARACTERISTICS or column in ("period", "establishment", "division"):
            out[column] = out[column].astype(str).astype("category")
    out[cellkey.RECORD_KEY] = cellkey.record_keys(
        out[cellkey.IDENTIFIERS[name]], secret=PROTECTION.secret
    )
    return out


@pytest.fixture(scope="module")
def national() -> tuple[dict[str, pd.DataFrame], dict]:
    demo = generate_demo(scale="national", seed=DEMO_SEED)
    frames = {name: _as_loaded(demo.frames[name], name) for name in record_extracts()}
    return frames, demo.planted


@pytest.fixture(scope="module")
def recovery(national) -> pd.DataFrame:
    frames, planted = national
    # The flags the dashboard shows: made from counts perturbed by the cell key method.
    return recovery_table(
        frames, planted, selection=latest_selection(frames), protection=PROTECTION
    )


def test_every_planted_disparity_is_flagged_in_its_direction(recovery: pd.DataFrame) -> None:
    planted = recovery[recovery["planted"] != ""]
    missed = planted[planted["verdict"] != "found"]
    assert len(planted) >= 15
    assert missed.empty, missed.to_string()


def test_unplanted_flags_are_rare(recovery: pd.DataFrame) -> None:
    """No more unplanted flags than the false-discovery rate allows.

    Benjamini-Hochberg works within a family (one measure and characteristic), so in a
    family with nothing planted the chance of any flag is at most alpha = 5%. Over the
    families with nothing planted we expect at most 0.05 x families false flags; allow
    three standard deviations of a Poisson count above that.
    """
    families = recovery.groupby(["measure", "characteristic"])["planted"].apply(
        lambda p: (p != "").any()
    )
    expected = 0.05 * int((~families).sum())
    unplanted = recovery[recovery["verdict"] == "unplanted"]
    assert len(unplanted) <= expected + 3 * expected**0.5, unplanted.to_string()


def test_adjusting_for_age_tells_a_confounded_difference_from_a_planted_one(national) -> None:
    """Mantel-Haenszel by age band and establishment removes what age mix explains, only.

    Disabled prisoners are older and older prisoners are less often employed after
    release, so the crude relative rate of employment is low, but age for age it is 1.
    The disparities planted on disability itself survive the adjustment.
    """
    frames, planted = national
    records = analysis.select(
        frames["prisoner_periods"], latest_selection(frames), "prisoner_periods"
    )
    confounded = {e["measure"] for e in planted["confounded"] if e["group"] == "Disabled"}
    direct = {
        e["measure"]: e["multiplier"]
        for e in planted["relative_rates"]
        if e["group"] == "Disabled" and MEASURES[e["measure"]].extract == "prisoner_periods"
    }
    assert confounded and len(direct) >= 3
    counts = data.group_counts(
        records,
        measures=[*confounded, *direct],
        characteristic="disability",
        by=["age_band", "establishment"],
        include_not_declared=False,
    )
    adjusted = stats.mantel_haenszel_relative_rate(
        counts, strata=["age_band", "establishment"], comparator="Not disabled", by=["measure"]
    )
    disabled = adjusted[adjusted["group"] == "Disabled"].set_index("measure")
    for measure in confounded:
        row = disabled.loc[measure]
        assert row["crude_relative_rate"] < 0.8, row
        assert row["adj_low"] <= 1 <= row["adj_high"], row
    for measure, multiplier in direct.items():
        row = disabled.loc[measure]
        assert not row["adj_low"] <= 1 <= row["adj_high"], row
        assert (row["adjusted_relative_rate"] > 1) == (multiplier > 1), row
        assert abs(np.log(row["adjusted_relative_rate"] / row["crude_relative_rate"])) < 0.05
