"""The statistics find what the demo generator planted, at national scale, and little else.

Builds the national demo in memory (about 20 seconds, no validation) and runs the flag
rule over every measure and characteristic for the latest twelve months.
"""

from __future__ import annotations

import pandas as pd
import pytest

from equality_core.demo import generate_demo
from equality_core.recovery import latest_selection, record_extracts, recovery_table
from equality_core.schema import CHARACTERISTICS, EXTRACTS
from tests.conftest import DEMO_SEED

pytestmark = pytest.mark.slow


def _as_loaded(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame as the validated loader would give it (text columns as categoricals)."""
    out = frame.copy()
    for column in EXTRACTS[name].column_names:
        if column in CHARACTERISTICS or column in ("period", "establishment", "division"):
            out[column] = out[column].astype(str).astype("category")
    return out


@pytest.fixture(scope="module")
def recovery() -> pd.DataFrame:
    demo = generate_demo(scale="national", seed=DEMO_SEED)
    frames = {name: _as_loaded(demo.frames[name], name) for name in record_extracts()}
    return recovery_table(frames, demo.planted, selection=latest_selection(frames))


def test_every_planted_disparity_is_flagged_in_its_direction(recovery: pd.DataFrame) -> None:
    planted = recovery[recovery["planted"] != ""]
    missed = planted[planted["verdict"] != "found"]
    assert len(planted) >= 15
    assert missed.empty, missed.to_string()


def test_unplanted_flags_are_rare(recovery: pd.DataFrame) -> None:
    """No more false discoveries than the 5% rate allows among the groups flagged."""
    flagged = recovery[recovery["flag"].isin(["higher", "lower"])]
    unplanted = flagged[flagged["verdict"] == "unplanted"]
    assert len(unplanted) <= max(1, round(0.05 * len(flagged))), unplanted.to_string()
