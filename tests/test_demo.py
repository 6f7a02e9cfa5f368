"""The demo generator: deterministic, realistic in proportion, honest about what it planted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from equality_core import data
from equality_core.demo import (
    PLANTED_FILE,
    REAL_PRISON_NAMES,
    generate_demo,
    write_raw,
)
from equality_core.measures import MEASURES
from equality_core.paths import DataPaths
from equality_core.schema import EXTRACTS, NOT_DECLARED_VALUES
from tests.conftest import DEMO_SEED, REPOSITORY

PUBLISHED = REPOSITORY / "tests" / "data" / "published"


@pytest.fixture(scope="module")
def demo():
    return generate_demo(scale="small", seed=DEMO_SEED)


def test_same_seed_same_data_and_another_seed_differs(demo) -> None:
    again = generate_demo(scale="small", seed=DEMO_SEED)
    other = generate_demo(scale="small", seed=DEMO_SEED + 1)
    for name, frame in demo.frames.items():
        pd.testing.assert_frame_equal(frame, again.frames[name], obj=name)
    assert not demo.frames["prisoner_periods"].equals(other.frames["prisoner_periods"])


def test_every_extract_has_the_contract_columns_in_order(demo) -> None:
    assert set(demo.frames) == set(EXTRACTS)
    for name, frame in demo.frames.items():
        assert tuple(frame.columns) == EXTRACTS[name].column_names, name
        assert len(frame) > 0, name


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_demo(scale="county")


def test_establishments_are_fictional_with_real_regions_and_functions(demo) -> None:
    establishments = demo.frames["establishments"]
    assert establishments["code"].is_unique
    for name in establishments["name"]:
        bare = name.split(" ", 1)[1].casefold()
        assert bare not in REAL_PRISON_NAMES, name
    # A sample of real prison names the guard must know, so the test above can fail.
    for real in ("Belmarsh", "Wormwood Scrubs", "Styal", "Parc"):
        assert real.casefold() in REAL_PRISON_NAMES
    prisons = establishments[establishments["function"] != "Headquarters unit"]
    assert prisons["function"].nunique() >= 7


def test_prison_population_is_steady_near_the_target(demo) -> None:
    per_quarter = demo.frames["prisoner_periods"].groupby("period", observed=True).size()
    assert per_quarter.between(3_600, 4_400).all(), per_quarter.to_dict()
    staff = demo.frames["staff_periods"].groupby("period", observed=True).size()
    assert staff.between(1_300, 1_700).all(), staff.to_dict()


def test_prisoner_ethnicity_is_close_to_published_shares(demo) -> None:
    """Shares within 4 points of the published prison population (30 June 2008)."""
    published = pd.read_csv(PUBLISHED / "prison_population_2008.csv")
    ethnicity = published[published["characteristic"] == "ethnicity"].set_index("group")["count"]
    total = ethnicity.sum()
    expected = {
        "White": ethnicity["White"] / total,
        "Black, Black British, Black Welsh, Caribbean or African": ethnicity[
            "Black or Black British"
        ]
        / total,
        "Asian, Asian British or Asian Welsh": ethnicity["Asian or Asian British"] / total,
        "Mixed or Multiple ethnic groups": ethnicity["Mixed"] / total,
    }
    prisoners = demo.frames["prisoner_periods"]
    shares = prisoners["ethnic_group"].astype(str).value_counts(normalize=True)
    for group, share in expected.items():
        assert abs(shares[group] - share) < 0.04, (group, shares[group], share)


def test_every_count_respects_its_denominator(demo) -> None:
    for name, extract in EXTRACTS.items():
        for smaller, larger in extract.not_above:
            frame = demo.frames[name]
            assert (frame[smaller] <= frame[larger]).all(), (name, smaller)


def test_planted_file_is_written_beside_the_data(demo, tmp_path) -> None:
    written = write_raw(demo, tmp_path)
    planted = json.loads((tmp_path / PLANTED_FILE).read_text(encoding="utf-8"))
    assert tmp_path / PLANTED_FILE in written
    assert planted["seed"] == DEMO_SEED
    for effect in planted["relative_rates"]:
        assert effect["measure"] in MEASURES
        assert effect["expected_flag"] in ("higher", "lower")
        assert (effect["multiplier"] > 1) == (effect["expected_flag"] == "higher")
    assert planted["low_declaration"]["establishments"]
    # Record-level extracts as Parquet, reference tables as CSV.
    assert (tmp_path / "prisoner_periods.parquet").exists()
    assert (tmp_path / "establishments.csv").exists()


def test_low_declaration_is_planted_where_the_file_says(demo) -> None:
    low = set(demo.planted["low_declaration"]["establishments"])
    prisoners = demo.frames["prisoner_periods"]
    declared = ~prisoners["disability"].astype(str).isin(NOT_DECLARED_VALUES)
    rate = declared.groupby(prisoners["establishment"].astype(str)).mean()
    assert (rate[list(low)] < 0.8).all(), rate[list(low)]
    assert (rate.drop(list(low)) > 0.8).all(), rate.drop(list(low))


def _observed_ratio(frame: pd.DataFrame, effect: dict) -> tuple[float, int]:
    measure = MEASURES[effect["measure"]]
    population = measure.population(frame).astype(bool)
    numerator = measure.numerator(frame).astype(bool) & population
    table = (
        pd.DataFrame(
            {"group": frame[effect["characteristic"]].astype(str), "x": numerator, "n": population}
        )
        .groupby("group")[["x", "n"]]
        .sum()
    )
    rates = table["x"] / table["n"]
    return rates[effect["group"]] / rates[effect["comparator"]], int(
        table.loc[effect["group"], "n"]
    )


def test_planted_disparities_show_in_the_planted_direction(small_demo: DataPaths) -> None:
    """Each planted effect with enough people shows, crudely, in its direction.

    The full check (every planted effect flagged and few others) runs on the national
    demo in ``benchmarks/recovery.py``; at small scale noise can hide the smallest groups.
    """
    planted = json.loads((small_demo.raw / PLANTED_FILE).read_text(encoding="utf-8"))
    prisoners = data.load_validated(small_demo, "prisoner_periods")
    end = max(prisoners["period"].astype(str))
    people = data.prisoners_over_period(prisoners, data.quarters_in_period("rolling", end))
    frames = {"prisoner_periods": people}
    checked = 0
    for effect in planted["relative_rates"]:
        extract = MEASURES[effect["measure"]].extract
        if extract not in frames:
            frames[extract] = data.load_validated(small_demo, extract)
        ratio, size = _observed_ratio(frames[extract], effect)
        if size < 300:
            continue
        checked += 1
        if effect["expected_flag"] == "higher":
            assert ratio > 1, (effect, ratio)
        else:
            assert ratio < 1, (effect, ratio)
    assert checked >= 10


def test_only_planted_groups_differ_where_nothing_was_planted(demo) -> None:
    """Sex and sexual orientation carry no planted effect: their rates agree closely."""
    prisoners = demo.frames["prisoner_periods"]
    men = prisoners[prisoners["sex"] == "Male"]
    orientation = men["sexual_orientation"].astype(str)
    straight = men[orientation == "Straight or heterosexual"]
    others = men[orientation.isin(["Gay or lesbian", "Bisexual"])]
    for column in ("complaints", "programme_starts"):
        a, b = straight[column].mean(), others[column].mean()
        assert abs(np.log(b / a)) < 0.25, (column, a, b)


def test_the_bundled_demo_is_published_as_one_generation() -> None:
    """data/ holds the generation layout, and its raw files are the ones the demo wrote."""
    from equality_core.ingest import sha256_of

    paths = DataPaths(REPOSITORY / "data")
    assert paths.pointer.is_symlink()
    assert not Path(os.readlink(paths.pointer)).is_absolute(), "the link survives a clone"
    generation = paths.pinned().generation
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generation"] == generation.name
    assert set(manifest["extracts"]) == set(EXTRACTS)
    marker = json.loads(paths.demo_marker.read_text(encoding="utf-8"))
    for name, checksum in marker["files"].items():
        assert sha256_of(paths.raw / name) == checksum, name
    for name, entry in manifest["extracts"].items():
        assert entry["origin"] == "demo"
        assert entry["source_sha256"] == marker["files"][entry["source_file"]], name
