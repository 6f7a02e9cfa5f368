"""Measures' masks: :func:`equality_core.measures.is_in` answers as pandas' ``isin`` does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equality_core.measures import is_in

VALUES = ["Basic", "Standard", None, "Enhanced", "Basic", None, "Standard"]


@pytest.mark.parametrize(
    "wanted",
    [("Basic",), ("Basic", "Enhanced"), ("Unknown",), (), ("Standard", "not a category")],
)
@pytest.mark.parametrize("categorical", [True, False])
def test_is_in_answers_as_isin(wanted, categorical) -> None:
    values = pd.Series(VALUES, index=np.arange(10, 17), name="incentive_level")
    if categorical:
        # An unused category, and the categories in no order of their text.
        values = values.astype(pd.CategoricalDtype(["Standard", "Unused", "Enhanced", "Basic"]))
    found = is_in(values, wanted)
    pd.testing.assert_series_equal(found, values.isin(list(wanted)))


def test_is_in_over_every_code_of_a_large_column() -> None:
    rng = np.random.default_rng(5)
    categories = [f"c{i}" for i in range(40)]
    codes = rng.integers(-1, len(categories), size=10_000)
    values = pd.Series(pd.Categorical.from_codes(codes, categories=categories))
    wanted = ["c3", "c17", "c39", "nothing"]
    pd.testing.assert_series_equal(is_in(values, wanted), values.isin(wanted))
