"""The page-level analyses: selections, pooling of survey figures and words for titles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from equality_core import analysis, data
from equality_core.analysis import Selection
from equality_core.paths import DataPaths


def test_pooled_means_equal_the_mean_and_sd_of_every_respondent() -> None:
    """Independent reference: pool raw values and take numpy's mean and standard deviation."""
    rng = np.random.default_rng(7)
    rows, everyone = [], {"Disabled": [], "Not disabled": []}
    for unit in range(6):
        for group, centre in (("Disabled", 55.0), ("Not disabled", 61.0)):
            values = rng.normal(centre + unit, 15, size=int(rng.integers(5, 60)))
            everyone[group].extend(values)
            rows.append(
                {
                    "establishment": f"U{unit}",
                    "characteristic": "disability",
                    "group": group,
                    "respondents": len(values),
                    "engagement_index": values.mean(),
                    "engagement_sd": values.std(ddof=1),
                }
            )
    pooled = analysis.pooled_means(pd.DataFrame(rows)).set_index("group")
    for group, values in everyone.items():
        assert pooled.loc[group, "respondents"] == len(values)
        assert np.isclose(pooled.loc[group, "mean"], np.mean(values))
        assert np.isclose(pooled.loc[group, "sd"], np.std(values, ddof=1))


def test_survey_summary_weights_by_respondents() -> None:
    frame = pd.DataFrame(
        {
            "characteristic": ["sex", "sex", "sex"],
            "group": ["Male", "Male", "Female"],
            "respondents": [100, 300, 50],
            "pct_feeling_unsafe": [10.0, 30.0, 20.0],
        }
    )
    summary = analysis.survey_summary(frame, columns=("pct_feeling_unsafe",)).set_index("group")
    assert summary.loc["Male", "respondents"] == 400
    assert np.isclose(summary.loc["Male", "pct_feeling_unsafe"], (1000 + 9000) / 400)


def test_staff_selection_uses_the_latest_complete_financial_year(small_demo: DataPaths) -> None:
    assert analysis.periods_of(Selection("rolling", "2025-Q4"), "staff_periods") == ["2024-25"]
    assert analysis.periods_of(Selection("rolling", "2026-Q1"), "staff_periods") == ["2025-26"]
    staff = data.load_validated(small_demo, "staff_periods")
    chosen = analysis.select(staff, Selection("rolling", "2025-Q4"), "staff_periods")
    assert set(chosen["period"].astype(str)) == {"2024-25"}


def test_place_and_within_filters_narrow_the_records(small_demo: DataPaths) -> None:
    prisoners = data.load_validated(small_demo, "prisoner_periods")
    code = str(prisoners["establishment"].iloc[0])
    everyone = analysis.select(prisoners, Selection("quarter", "2025-Q4"), "prisoner_periods")
    here = analysis.select(
        prisoners,
        Selection("quarter", "2025-Q4", (("establishment", code),), ("age_band", "18-20")),
        "prisoner_periods",
    )
    assert 0 < len(here) < len(everyone)
    assert set(here["establishment"].astype(str)) == {code}
    assert set(here["age_band"].astype(str)) == {"18-20"}
    expected = (
        (prisoners["period"] == "2025-Q4")
        & (prisoners["establishment"] == code)
        & (prisoners["age_band"] == "18-20")
    ).sum()
    assert len(here) == expected
