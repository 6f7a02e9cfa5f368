"""Table views read as people read figures: %, separators, whole counts, sensible places."""

from __future__ import annotations

import numpy as np
import pandas as pd

from equality_core import disclosure
from equality_ui.panels import as_display_text, format_value


def test_each_kind_of_figure_reads_as_it_should() -> None:
    assert format_value("numerator", 31.0) == "31"
    assert format_value("denominator", 4758.0) == "4,758"
    assert format_value("rate", 0.12345) == "12.3%"
    assert format_value("rate", 0.12345, event_rates=True) == "12.3 per 100"
    assert format_value("relative_rate", 1.6666) == "1.67"
    assert format_value("p_adjusted", 0.012345) == "0.0123"
    assert format_value("p_adjusted", 1e-9) == "<0.0001"
    assert format_value("difference", -6.34) == "-6.3"
    assert format_value("under_represented", np.True_) == "Yes"
    assert format_value("rate", "[c]") == "[c]"


def test_a_protected_table_shows_c_x_and_formatted_numbers() -> None:
    table = pd.DataFrame(
        {
            "group": ["White", "Black", "Not stated"],
            "numerator": [539.0, np.nan, 14.0],
            "denominator": [4758.0, np.nan, 106.0],
            "rate": [0.1133, np.nan, 0.132],
            "relative_rate": [1.0, np.nan, np.nan],
            "suppressed": [False, True, False],
        }
    )
    shown = as_display_text(disclosure.for_display(table))
    assert shown["denominator"].tolist() == ["4,758", "[c]", "106"]
    assert shown["rate"].tolist() == ["11.3%", "[c]", "13.2%"]
    assert shown["relative_rate"].tolist() == ["1.00", "[c]", "[x]"]


def test_interval_ends_read_as_the_figure_they_bound() -> None:
    """Shares by year (equality analyses) with bare 'low' and 'high' read as percentages;
    a gap in engagement and its interval keep their sign."""
    shares = as_display_text(
        pd.DataFrame({"year": [2024], "share": [0.9], "low": [0.85], "high": [0.94]})
    )
    assert shares.loc[0, ["share", "low", "high"]].tolist() == ["90.0%", "85.0%", "94.0%"]
    gap = as_display_text(pd.DataFrame({"difference": [-6.34], "low": [-8.1], "high": [1.25]}))
    assert gap.loc[0].tolist() == ["-6.3", "-8.1", "+1.2"]
