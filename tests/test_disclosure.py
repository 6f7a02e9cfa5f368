"""Disclosure control by the cell key method: the ptable, the keys, the rules and the outputs.

The reference is ONS's own implementation, the ``cell-key-perturbation`` package: the same
microdata, record keys and ptable must give the same cell keys and the same counts.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from equality_core import analysis, cellkey, data, disclosure, spreadsheet
from equality_core.analysis import Selection
from equality_core.paths import DataPaths
from tests.conftest import REPOSITORY

PUBLISHED = REPOSITORY / "tests" / "data" / "published"
CONFIG = cellkey.demo_config()
PTABLE = CONFIG.ptable


def _keyed(rows: list[tuple[str, int, int]], *, measure: str = "use_of_force") -> pd.DataFrame:
    """Counts of a family of groups with cell keys that are fixed but arbitrary."""
    frame = pd.DataFrame(rows, columns=["group", "numerator", "denominator"])
    frame.insert(0, "characteristic", "ethnic_group")
    frame.insert(0, "measure", measure)
    frame["numerator_key"] = (np.arange(len(frame)) * 37 + 11) % 256
    frame["denominator_key"] = (np.arange(len(frame)) * 53 + 7) % 256
    return frame


def _protected(rows, **kwargs) -> pd.DataFrame:
    return analysis.protected_disparity_table(
        _keyed(rows), protection=CONFIG, characteristic="ethnic_group", **kwargs
    ).set_index("group")


# --- The ptable --------------------------------------------------------------------------


def test_the_shipped_ptable_is_the_generator_output() -> None:
    """The CSV in the repository is exactly what the documented generator produces."""
    shipped = pd.read_csv(cellkey.PTABLE_DIR / f"{cellkey.DEFAULT_PTABLE}.csv")
    pd.testing.assert_frame_equal(shipped, cellkey.generate_ptable())
    first = pd.read_csv(cellkey.PTABLE_DIR / "noise2_v1.csv")
    pd.testing.assert_frame_equal(first, cellkey.generate_ptable(noise_counts=cellkey.NOISE2_V1))


def test_the_ptable_keeps_expected_noise_at_zero_and_never_makes_a_count_negative() -> None:
    noise = PTABLE.noise
    counts = np.arange(noise.shape[0])[:, None]
    assert (noise.sum(axis=1) == 0).all()  # expected noise exactly zero, every count
    assert (counts + noise >= 0).all()
    assert (noise[0] == 0).all()  # a true zero stays zero
    assert PTABLE.max_noise == 3
    assert noise[3:].astype(float).var(axis=1) == pytest.approx(1.6875)
    assert (np.abs(noise[1]) <= 1).all() and (np.abs(noise[2]) <= 2).all()
    # Every count with a row shuffles its keys afresh: neighbours do not move together.
    assert (noise[10] != noise[11]).any()


def test_large_counts_reuse_rows_501_to_750_as_ons_does() -> None:
    keys = np.arange(256)
    for count in (751, 1000, 123_456):
        row = (count - 1) % 250 + 501
        expected = count + PTABLE.noise[row, keys]
        assert (PTABLE.perturb(np.full(256, count), keys) == expected).all()


def test_counts_match_the_ons_reference_implementation() -> None:
    """Our cell keys and shown counts equal those of ONS's ``cell-key-perturbation``."""
    reference_module = pytest.importorskip("cell_key_perturbation.create_perturbed_table")
    rng = np.random.default_rng(7)
    size = 40_000
    micro = pd.DataFrame(
        {
            "place": rng.choice(["A", "B", "C", "D"], size, p=[0.7, 0.2, 0.09, 0.01]),
            "group": rng.choice(["x", "y", "z"], size, p=[0.8, 0.15, 0.05]),
            "record_key": cellkey.record_keys(
                pd.Series([f"P{i:06d}" for i in range(size)]), secret=CONFIG.secret
            ),
        }
    )
    ptable = cellkey.generate_ptable()
    reference = reference_module.create_perturbed_table(
        data=micro,
        ptable=ptable,
        geog=[],
        tab_vars=["place", "group"],
        record_key="record_key",
        use_existing_ons_id=False,
        threshold=0,
    ).set_index(["place", "group"])
    ours = micro.groupby(["place", "group"]).agg(
        count=("record_key", "size"), key=("record_key", "sum")
    )
    ours["ckey"] = cellkey.cell_keys(ours["key"])
    ours["shown"] = PTABLE.perturb(ours["count"], ours["ckey"])
    assert len(ours) == len(reference) == 12
    assert (ours["count"] > 750).any() and (ours["count"] < 750).any()
    assert (reference.loc[ours.index, "pre_sdc_count"].to_numpy() == ours["count"]).all()
    reference_ckey = reference.loc[ours.index, "ckey"].to_numpy()
    reference_count = reference.loc[ours.index, "count"].astype(float).to_numpy()
    assert (ours["ckey"].to_numpy() == reference_ckey).all()
    assert (ours["shown"].to_numpy() == reference_count).all()


# --- Record keys and configuration -------------------------------------------------------


def test_record_keys_are_stable_keyed_and_spread_over_the_range() -> None:
    ids = pd.Series([f"A{i}" for i in range(20_000)])
    keys = cellkey.record_keys(ids, secret=CONFIG.secret)
    assert (keys == cellkey.record_keys(ids, secret=CONFIG.secret)).all()
    other = cellkey.record_keys(ids, secret=b"another deployment's secret key")
    assert (keys != other).mean() > 0.9  # another secret, other keys
    counts = np.bincount(keys, minlength=256)
    assert counts.min() > 0 and keys.max() <= 255
    # Uniform over 0..255: chi-square goodness of fit does not reject.
    assert sps.chisquare(counts).pvalue > 0.001


def test_supplied_data_needs_its_own_configuration(tmp_path) -> None:
    with pytest.raises(cellkey.DisclosureConfigError, match=r"disclosure\.toml"):
        cellkey.load_config(tmp_path)
    assert cellkey.load_config(tmp_path, demo=True).secret_version == cellkey.DEMO_SECRET_VERSION
    (tmp_path / cellkey.CONFIG_FILE).write_text(
        'record_key_secret = "a long enough secret of ours"\nrecord_key_version = "2026-11"\n'
        "threshold = 10\n",
        encoding="utf-8",
    )
    config = cellkey.load_config(tmp_path, demo=True)  # a file wins over the demo default
    assert config.threshold == 10 and config.secret_version == "2026-11"
    assert config.secret_fingerprint != cellkey.demo_config().secret_fingerprint
    (tmp_path / cellkey.CONFIG_FILE).write_text(
        'record_key_secret = "a long enough secret of ours"\nrecord_key_version = "x"\n'
        "threshold = 3\n",
        encoding="utf-8",
    )
    with pytest.raises(cellkey.DisclosureConfigError, match="threshold"):
        cellkey.load_config(tmp_path)


# --- The rules -----------------------------------------------------------------------------


def test_a_true_count_of_one_to_four_is_hidden_whatever_the_ptable_makes_of_it() -> None:
    table = _protected([("White", 50, 400), ("Black", 3, 60), ("Asian", 40, 300)])
    black = table.loc["Black"]
    assert black["suppressed"] and black["flag"] == "[c]"
    assert np.isnan(black["numerator"]) and np.isnan(black["rate"])
    assert np.isnan(black["relative_rate"]) and np.isnan(black["p_adjusted"])
    # Perturbation, not secondary suppression: the other groups stay visible.
    assert not table.loc["Asian", "suppressed"] and not table.loc["White", "suppressed"]


def test_a_true_zero_stays_zero_and_is_shown() -> None:
    table = _protected([("White", 50, 400), ("Black", 0, 60)])
    assert table.loc["Black", "numerator"] == 0 and not table.loc["Black", "suppressed"]


def test_a_count_below_the_threshold_after_perturbation_is_hidden() -> None:
    """True 5 with a key whose noise is negative shows as 2, 3 or 4: hidden."""
    key = int(np.flatnonzero(PTABLE.noise[5] < 0)[0])
    counts = _keyed([("White", 50, 400), ("Black", 5, 60)])
    counts.loc[1, "numerator_key"] = key
    shown = disclosure.perturb_counts(counts, protection=CONFIG)
    assert shown.loc[1, "suppressed"]
    key_up = int(np.flatnonzero(PTABLE.noise[5] >= 0)[0])
    counts.loc[1, "numerator_key"] = key_up
    assert not disclosure.perturb_counts(counts, protection=CONFIG).loc[1, "suppressed"]


def test_the_threshold_of_ten_hides_shown_counts_under_ten() -> None:
    ten = cellkey.DisclosureConfig(
        secret=CONFIG.secret, secret_version="t", ptable=PTABLE, threshold=10
    )
    counts = _keyed([("White", 50, 400), ("Black", 7, 60)])
    shown = disclosure.perturb_counts(counts, protection=ten)
    assert shown["suppressed"].tolist() == [False, True]


def test_the_complement_is_held_to_the_same_rule() -> None:
    """57 of 60 with the outcome reveals that 3 did not have it."""
    table = _protected([("White", 50, 400), ("Black", 57, 60), ("Asian", 40, 300)])
    assert table.loc["Black", "suppressed"]


def test_event_totals_are_hidden_when_one_to_four_people_stand_behind_them() -> None:
    counts = _keyed([("White", 300, 900), ("Black", 40, 120)], measure="adjudications_per_100")
    counts["numerator_people"] = [120, 3]  # 40 adjudications, by 3 people
    counts["denominator_people"] = [300, 40]
    shown = disclosure.perturb_counts(
        counts, protection=CONFIG, complement_rows=np.zeros(2, dtype=bool)
    )
    assert shown["suppressed"].tolist() == [False, True]


def test_a_row_without_its_count_of_people_is_held_to_its_own_count() -> None:
    """Counts of two extracts put together, one counting the people behind each count and
    one not (a matrix of prisoners and staff): the rows without a count of people must
    not escape the 1-to-4 rule because the column is missing for them."""
    prisoners = _keyed([("White", 300, 900), ("Black", 40, 120)], measure="adjudications_per_100")
    prisoners["numerator_people"] = [120, 30]
    prisoners["denominator_people"] = [300, 40]
    staff = _keyed([("White", 50, 400), ("Black", 3, 60)], measure="leavers")
    # A key with which the ptable shows the true 3 at or above the threshold.
    lifted = np.flatnonzero(3 + PTABLE.noise[3] >= CONFIG.threshold)
    assert len(lifted), "the ptable must lift some 3s above the threshold for this test"
    staff.loc[1, "numerator_key"] = int(lifted[0])
    together = pd.concat([prisoners, staff], ignore_index=True)
    shown = disclosure.perturb_counts(
        together, protection=CONFIG, complement_rows=np.array([False, False, True, True])
    )
    assert shown["suppressed"].tolist() == [False, False, False, True]
    alone = disclosure.perturb_counts(staff, protection=CONFIG)
    assert alone["suppressed"].tolist() == [False, True]


def test_an_event_numerator_may_exceed_its_exposure() -> None:
    counts = _keyed([("White", 150, 120), ("Black", 90, 60)], measure="adjudications_per_100")
    shown = disclosure.perturb_counts(
        counts, protection=CONFIG, complement_rows=np.zeros(2, dtype=bool)
    )
    assert (shown["numerator"] > shown["denominator"]).all()


def test_a_shown_numerator_never_exceeds_its_shown_denominator() -> None:
    counts = _keyed([("White", n, n) for n in range(5, 300)])
    shown = disclosure.perturb_counts(counts, protection=CONFIG)
    visible = shown[~shown["suppressed"]]
    assert (visible["numerator"] <= visible["denominator"]).all()


def test_a_hidden_comparator_hides_every_ratio_against_it() -> None:
    table = _protected([("White", 2, 40), ("Black", 20, 30), ("Asian", 10, 35)])
    assert table["relative_rate"].isna().all()
    assert set(table["flag"]) == {"[c]"}


def test_hidden_p_values_never_enter_the_benjamini_hochberg_family() -> None:
    rows = [("White", 300, 2000), ("Black", 90, 400), ("Asian", 3, 200), ("Mixed", 40, 150)]
    table = _protected(rows)
    visible = table[~table["suppressed"] & table["p_value"].notna()]
    assert table.loc["Asian", "suppressed"]
    expected = sps.false_discovery_control(visible["p_value"].to_numpy(), method="bh")
    assert np.allclose(visible["p_adjusted"].to_numpy(), expected)


def test_every_figure_shown_is_made_from_the_counts_shown() -> None:
    rows = [("White", 300, 2000), ("Black", 90, 400), ("Mixed", 40, 150)]
    table = _protected(rows)
    for group, row in table.iterrows():
        assert row["rate"] == row["numerator"] / row["denominator"]
        low, high = sps.binomtest(int(row["numerator"]), int(row["denominator"])).proportion_ci(
            method="wilson"
        )
        assert row["rate_low"] == pytest.approx(low) and row["rate_high"] == pytest.approx(high)
        if group != "White":
            white = table.loc["White"]
            shown_ratio = row["rate"] / (white["numerator"] / white["denominator"])
            assert row["relative_rate"] == pytest.approx(shown_ratio)
    # And the shown counts are not the true ones for every group (they were perturbed).
    assert (table["denominator"].to_numpy() != np.array([r[2] for r in rows])).any()


def test_survey_groups_under_ten_respondents_are_hidden() -> None:
    counts = _keyed([("White", 30, 100), ("Black", 5, 9)])
    counts["respondents"] = counts["denominator"]
    shown = disclosure.perturb_counts(counts, protection=CONFIG)
    assert shown["suppressed"].tolist() == [False, True]
    assert np.isnan(shown.loc[1, "respondents"])


def test_those_who_did_not_declare_are_counted_people_too() -> None:
    """A 98% declaration rate of 200 records says that 4 people did not declare."""
    records = pd.DataFrame(
        {
            "disability": ["Disabled"] * 50 + ["Not disabled"] * 146 + ["Not stated"] * 4,
            "sex": ["Female"] * 100 + ["Male"] * 50 + ["Not stated"] * 50,
            cellkey.RECORD_KEY: np.arange(200) % 256,
        }
    )
    table = analysis.declaration(
        records, characteristics=["disability", "sex"], protection=CONFIG
    ).set_index("characteristic")
    assert table.loc["disability", "suppressed"] and not table.loc["sex", "suppressed"]


@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 255)).map(
            lambda t: (min(t[:2]), max(t[:2]), t[2])
        ),
        min_size=2,
        max_size=6,
    )
)
def test_no_small_count_is_ever_shown(groups: list[tuple[int, int, int]]) -> None:
    names = ["White", "Black", "Asian", "Mixed", "Other ethnic group", "Not stated"]
    counts = _keyed([(names[i], x, n) for i, (x, n, _) in enumerate(groups)])
    counts["numerator_key"] = [k for *_, k in groups]
    counts["denominator_key"] = [(k * 7 + 3) % 256 for *_, k in groups]
    table = analysis.protected_disparity_table(
        counts, protection=CONFIG, characteristic="ethnic_group"
    )
    true = counts.set_index("group")
    for _, row in table.iterrows():
        original = true.loc[row["group"]]
        small = (1 <= original["numerator"] <= 4) or (1 <= original["denominator"] <= 4)
        small |= 1 <= original["denominator"] - original["numerator"] <= 4
        if small:
            assert row["suppressed"]
        if not row["suppressed"]:
            assert not 1 <= row["numerator"] <= 4 and not 1 <= row["denominator"] <= 4
            assert row["numerator"] <= row["denominator"]
            if original["numerator"] == 0:
                assert row["numerator"] == 0


# --- Consistency across views ---------------------------------------------------------------


def test_a_quarter_shows_the_same_count_in_the_trend_and_on_its_own(small_demo: DataPaths) -> None:
    prisoners = data.load_validated(small_demo, "prisoner_periods")
    config = data.disclosure_config(small_demo)
    quarter = str(prisoners["period"].cat.categories[-2])
    place = (("establishment", str(prisoners["establishment"].cat.categories[0])),)
    trend = analysis.trend(
        prisoners,
        measure="use_of_force",
        characteristic="ethnic_group",
        selection=Selection("rolling", quarter, place),
        protection=config,
    )
    alone = analysis.disparities(
        analysis.select(prisoners, Selection("quarter", quarter, place), "prisoner_periods"),
        measures=["use_of_force"],
        characteristic="ethnic_group",
        protection=config,
    )
    in_trend = trend[trend["period"] == quarter].set_index("group")
    alone = alone.set_index("group")
    for column in ("numerator", "denominator"):
        pd.testing.assert_series_equal(
            in_trend[column], alone.loc[in_trend.index, column], check_names=False
        )
    assert (in_trend["suppressed"] == alone.loc[in_trend.index, "suppressed"]).all()
    assert in_trend["suppressed"].any() and (~in_trend["suppressed"]).any()


# --- Outputs -------------------------------------------------------------------------------


def _output_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["=SUM(A1:A9)", "+1", "-x", "@cmd", "White"],
            "numerator": [10.0, np.nan, 12.0, 14.0, 20.0],
            "relative_rate": [1.2, np.nan, np.nan, 0.8, 1.0],
            "difference": [-3.0, 1.5, -0.5, 2.0, 0.0],
            "flag": ["higher", "[c]", None, "lower", "comparator"],
            "suppressed": [False, True, False, False, False],
        }
    )


def test_csv_shows_c_and_x_whole_counts_and_defuses_formulas() -> None:
    text = disclosure.to_safe_csv(
        _output_table(), preamble=["Source: test", CONFIG.describe()]
    ).decode("utf-8")
    lines = text.splitlines()
    preamble = list(csv.reader(lines[:2]))
    assert preamble[0] == ["# Source: test"]
    assert preamble[1][0].startswith("# Cell key perturbation") and len(preamble[1]) == 1
    rows = pd.read_csv(io.StringIO("\n".join(lines[2:])), dtype=str)
    assert rows["group"].tolist() == ["'=SUM(A1:A9)", "'+1", "'-x", "'@cmd", "White"]
    assert rows.loc[1, "numerator"] == "[c]" and rows.loc[1, "relative_rate"] == "[c]"
    assert rows.loc[2, "relative_rate"] == "[x]" and rows.loc[2, "flag"] == "[x]"
    assert rows.loc[0, "numerator"] == "10"  # a count is a whole number, not 10.0
    assert rows.loc[0, "difference"] == "-3.0"  # a negative number is left as a number


def test_spreadsheet_shows_c_and_x() -> None:
    workbook = spreadsheet.accessible_workbook(
        _output_table(), title="A table that states its finding", source="Source: test"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook))["Table"]
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "[c]" in values and "[x]" in values
    assert 10 in values and "'=SUM(A1:A9)" in values


def test_published_pava_table_hides_the_three(tmp_path) -> None:
    """The 2019-20 PAVA table showed Mixed prisoners' 3 uses: our rule hides them.

    The table arrived aggregated, so its cells are keyed by their coordinates.
    """
    published = pd.read_csv(PUBLISHED / "pava_by_ethnicity_2019_20.csv")
    frame = published.rename(columns={"deployed": "numerator"})
    frame["numerator"] = pd.to_numeric(frame["numerator"], errors="coerce")
    frame["denominator"] = pd.to_numeric(frame["total"], errors="coerce")
    frame = frame.dropna(subset=["numerator", "denominator"]).reset_index(drop=True)
    frame["measure"] = "pava"
    for part in ("numerator", "denominator"):
        frame[f"{part}_key"] = cellkey.coordinate_keys(
            frame.assign(part=part),
            ["measure", "characteristic", "group", "part"],
            secret=b"k" * 16,
        )
    table = analysis.protected_disparity_table(frame, protection=CONFIG)
    mixed = table[table["group"] == "Mixed"].iloc[0]
    assert mixed["suppressed"] and mixed["flag"] == "[c]"
    shown = table[~table["suppressed"]]
    assert not ((shown["numerator"] >= 1) & (shown["numerator"] <= 4)).any()


def test_coordinate_keys_of_no_rows_are_no_keys() -> None:
    """An empty survey selection (a quarter with no survey) gives no keys, not an error."""
    empty = pd.DataFrame({"period": [], "group": []})
    assert len(cellkey.coordinate_keys(empty, ["period", "group"], secret=CONFIG.secret)) == 0
    rows = pd.DataFrame({"period": ["2025-Q1", None], "group": ["White", "White"]})
    keys = cellkey.coordinate_keys(rows, ["period", "group"], secret=CONFIG.secret)
    assert len(keys) == 2
    assert (keys == cellkey.coordinate_keys(rows, ["period", "group"], secret=CONFIG.secret)).all()


def test_protection_and_display_keep_a_repeated_index_and_the_column_order() -> None:
    counts = _keyed([("White", 120, 1000), ("Black", 2, 300), ("Asian", 25, 240)])
    plain = analysis.protected_disparity_table(
        counts, protection=CONFIG, characteristic="ethnic_group"
    )
    repeated = analysis.protected_disparity_table(
        counts.set_axis([4, 4, 4]), protection=CONFIG, characteristic="ethnic_group"
    )
    assert list(repeated.index) == [4, 4, 4]
    pd.testing.assert_frame_equal(plain, repeated.reset_index(drop=True), check_exact=True)
    shown = disclosure.for_display(repeated)
    assert list(shown.columns) == [c for c in repeated.columns if c != "suppressed"]
    hidden = repeated["suppressed"].to_numpy()
    assert hidden.any()
    assert (shown.loc[hidden, "rate"] == disclosure.SUPPRESSED).all()
