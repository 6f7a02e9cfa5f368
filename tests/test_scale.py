"""Growth with scale: the streamed demo and validation a chunk of whole periods at a time.

The five-times-national demo writes its record-level extracts a period at a time, and
validation reads a large Parquet file a chunk of whole periods at a time. These tests run
both at a small size: the small scale's data must not change, the streamed generator must
keep the contract's layout and its planted mechanisms, and validating in chunks must
find exactly what validating the whole frame finds (same failures, same words, same
sample rows) and publish the same table. No timings: those are in benchmarks/scale.py.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from equality_core import demo as demo_module
from equality_core import validation
from equality_core.demo import SCALES, generate_demo, write_raw
from equality_core.ingest import ROW_NUMBER, sha256_of
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS, EXTRACTS
from equality_core.validation import ValidationSettings, validate_all

from .conftest import DEMO_SEED, REPOSITORY

BUNDLED = DataPaths(REPOSITORY / "data")
#: Chunks small enough that the bundled prisoner extract (about 4,000 rows a quarter over
#: eight quarters) is checked in four chunks, and the whole-frame path for comparison.
CHUNKED = ValidationSettings(chunk_rows=9_000)
WHOLE = ValidationSettings(chunk_rows=10_000_000)
RECORD_LEVEL = ("prisoner_periods", "community_terminations", "community_journey", "staff_periods")


# --- The generator -----------------------------------------------------------------------


def test_the_small_scale_still_makes_the_bundled_raw_files(tmp_path: Path) -> None:
    """data/ was built from the small scale: the same seed must give the same bytes."""
    marker = json.loads(BUNDLED.demo_marker.read_text(encoding="utf-8"))
    assert marker["scale"] == "small" and marker["seed"] == DEMO_SEED
    written = write_raw(generate_demo(scale="small", seed=DEMO_SEED), tmp_path)
    assert {p.name: sha256_of(p) for p in written} == marker["files"]


def test_the_five_times_national_scale_keeps_establishments_realistic() -> None:
    national, large = SCALES["national"], SCALES["national-x5"]
    assert large.streamed and not national.streamed and not SCALES["small"].streamed
    assert large.prisoners == 5 * national.prisoners
    assert large.terminations_per_quarter == 5 * national.terminations_per_quarter
    # Five times the establishments of each kind, so each holds what one holds nationally.
    assert large.prisons == {f: 5 * n for f, n in national.prisons.items()}
    assert large.prisoners / sum(large.prisons.values()) == pytest.approx(
        national.prisoners / sum(national.prisons.values())
    )
    assert sum(large.prisons.values()) + large.headquarters_units <= 1_000  # ROW_BOUNDS


#: A streamed scale at a small size (the five-times-national scale's way of writing).
TINY = dataclasses.replace(
    SCALES["small"],
    prisoners=1_500,
    quarters=4,
    staff=600,
    terminations_per_quarter=800,
    sentenced_per_quarter=600,
    delivery_units=2,
    streamed=True,
)


def _write_tiny(raw: Path, workers: int = 1, progress=None) -> dict[str, pd.DataFrame]:
    """Write the tiny streamed scale into ``raw``; returns the frames held in memory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SCALES, "tiny-streamed", TINY)
        demo = generate_demo(scale="tiny-streamed", seed=DEMO_SEED)
        write_raw(demo, raw, workers=workers, progress=progress)
    return demo.frames


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny streamed scale, written to a raw folder."""
    raw = tmp_path_factory.mktemp("streamed") / "raw"
    frames = _write_tiny(raw)
    assert set(frames) == {"establishments", "benchmarks", "equality_analyses", "delivery_plan"}, (
        "a streamed scale holds only the reference tables in memory"
    )
    return raw


def test_a_streamed_scale_writes_every_extract_with_the_contract_types(streamed: Path) -> None:
    for name in EXTRACTS:
        path = next(streamed.glob(f"{name}.*"))
        if path.suffix == ".parquet":
            schema = pq.read_schema(path)
            bundled = pq.read_schema(BUNDLED.raw / path.name)
            assert schema.names == list(EXTRACTS[name].column_names), name
            # The same Arrow types as the small scale's files (a wider dictionary index
            # only where there are more establishments or divisions).
            for field in schema:
                other = bundled.field(field.name).type
                same = field.type == other or (
                    str(field.type).startswith("dictionary") and str(other).startswith("dictionary")
                )
                assert same, (name, field.name, field.type, other)


def test_a_streamed_scale_writes_a_row_group_per_period_in_order(streamed: Path) -> None:
    for name in RECORD_LEVEL:
        parquet = pq.ParquetFile(streamed / f"{name}.parquet")
        periods = []
        for group in range(parquet.metadata.num_row_groups):
            column = parquet.read_row_group(group, columns=["period"]).column(0).to_pylist()
            assert len(set(column)) == 1, (name, group)
            periods.append(column[0])
        assert periods == sorted(periods) and len(set(periods)) == len(periods), name
        assert parquet.metadata.num_row_groups > 1, name


def test_a_streamed_scale_is_the_same_from_the_same_seed(streamed: Path, tmp_path: Path) -> None:
    _write_tiny(tmp_path / "raw")
    for path in sorted(streamed.iterdir()):
        assert sha256_of(tmp_path / "raw" / path.name) == sha256_of(path), path.name


def _with_categories(frame: pd.DataFrame, quarters: list[str]) -> pd.DataFrame:
    """The categories the generator gives its frames (a file keeps only those present)."""
    for column in frame.columns:
        if column in CHARACTERISTICS:
            frame[column] = pd.Categorical(
                frame[column].astype(str), categories=CHARACTERISTICS[column].allowed_values
            )
    frame["period"] = pd.Categorical(frame["period"].astype(str), categories=quarters)
    return frame


def test_counts_made_a_quarter_at_a_time_are_the_counts_of_the_whole_extract(
    streamed: Path,
) -> None:
    prisoners = pd.read_parquet(streamed / "prisoner_periods.parquet")
    quarters = sorted(prisoners["period"].astype(str).unique())
    for column in ("incentive_level", "accommodation_on_release", "employment_six_weeks"):
        prisoners[column] = prisoners[column].astype(str)
    whole = demo_module._counts(_with_categories(prisoners, quarters))
    streamed_counts = pd.read_parquet(streamed / "counts.parquet")
    pd.testing.assert_frame_equal(streamed_counts, whole, check_dtype=False)


def test_deaths_made_a_quarter_at_a_time_are_prisoners_numbered_once(streamed: Path) -> None:
    deaths = pd.read_parquet(streamed / "deaths_in_custody.parquet")
    prisoners = pd.read_parquet(streamed / "prisoner_periods.parquet")
    assert list(deaths["death_id"]) == [f"D{i:06d}" for i in range(1, len(deaths) + 1)]
    columns = ["period", "establishment", "age_band", "sex", "ethnic_group"]
    known = set(map(tuple, prisoners[columns].astype(str).to_numpy()))
    assert all(tuple(row) in known for row in deaths[columns].astype(str).to_numpy())


def test_terminations_are_numbered_once_across_quarters(streamed: Path) -> None:
    terminations = pd.read_parquet(streamed / "community_terminations.parquet")
    expected = [f"T{i:08d}" for i in range(1, len(terminations) + 1)]
    assert list(terminations["termination_id"]) == expected
    # Two delivery units in each division at this scale.
    assert terminations["division"].astype(str).str.fullmatch(r".+ [12]").all()


def test_the_streamed_generator_keeps_the_planted_mechanisms(streamed: Path) -> None:
    """The strongest planted effects show in their direction at this small size."""
    staff = pd.read_parquet(streamed / "staff_periods.parquet")
    asked = staff.groupby(staff["disability"].astype(str))["reasonable_adjustment_requested"]
    rate = asked.mean()
    assert rate["Disabled"] > 5 * rate["Not disabled"]
    prisoners = pd.read_parquet(streamed / "prisoner_periods.parquet")
    force = prisoners.groupby(prisoners["ethnic_group"].astype(str))["use_of_force_incidents"]
    means = force.mean()
    assert means["Black, Black British, Black Welsh, Caribbean or African"] > means["White"]


# --- Validation in chunks ---------------------------------------------------------------


def _folder(tmp_path: Path, label: str, names: list[str]) -> DataPaths:
    paths = DataPaths(tmp_path / label)
    paths.raw.mkdir(parents=True)
    for name in ("establishments", *names):
        source = next(BUNDLED.raw.glob(f"{name}.*"))
        shutil.copy(source, paths.raw / source.name)
    return paths


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A raw frame whose values can be edited (categoricals as text)."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


def _corrupt_prisoners(path: Path) -> None:
    """Bad values planted in single quarters of the (unsorted) prisoner extract."""
    frame = _plain(pd.read_parquet(path))
    frame["complaints"] = frame["complaints"].astype(object)
    quarters = sorted(frame["period"].unique())
    first = frame.index[frame["period"] == quarters[1]]
    later = frame.index[frame["period"] == quarters[6]]
    frame.loc[first[10], "ethnic_group"] = "BAME"
    frame.loc[later[20], "ethnic_group"] = "BAME"
    frame.loc[later[30], "complaints"] = -2
    frame.loc[first[40], "complaints"] = "three"
    frame.loc[later[50], "sex"] = "Ma\u200ble"
    frame.loc[first[60], "religion"] = "  muslim "
    frame.loc[later[70], "establishment"] = "ZZZ"
    frame.loc[first[80], "period"] = None
    frame["complaints"] = frame["complaints"].astype(str)
    duplicated = frame.loc[[first[90], later[90]]]
    pd.concat([frame, duplicated], ignore_index=True).to_parquet(path, index=False)


def _corrupt_terminations(path: Path) -> None:
    """A key shared across quarters far apart: only the whole extract shows it."""
    frame = _plain(pd.read_parquet(path))
    last = len(frame) - 1
    frame.loc[last, "termination_id"] = frame.loc[3, "termination_id"]
    frame.loc[last // 2, "termination_id"] = frame.loc[3, "termination_id"]
    frame.loc[100, "termination_id"] = None
    frame.loc[200, "sex"] = None
    frame.to_parquet(path, index=False, row_group_size=3_000)


def _validate_both(
    tmp_path: Path, names: list[str], corrupt: dict[str, Callable[[Path], None]]
) -> tuple[dict, dict]:
    outcomes = []
    for label, settings in (("whole", WHOLE), ("chunked", CHUNKED)):
        paths = _folder(tmp_path, label, names)
        for name, edit in corrupt.items():
            edit(paths.raw / f"{name}.parquet")
        outcomes.append({o.extract: o for o in validate_all(paths, settings=settings)})
    return outcomes[0], outcomes[1]


def test_chunks_find_the_failures_the_whole_frame_finds(tmp_path: Path, monkeypatch) -> None:
    checked_sizes: list[int] = []
    original = validation._SuiteRun.check

    def spy(self, chunk: pd.DataFrame) -> None:
        checked_sizes.append(len(chunk))
        original(self, chunk)

    monkeypatch.setattr(validation._SuiteRun, "check", spy)
    names = ["prisoner_periods", "community_terminations"]
    whole, chunked = _validate_both(
        tmp_path,
        names,
        {"prisoner_periods": _corrupt_prisoners, "community_terminations": _corrupt_terminations},
    )
    rows = sum(whole[n].rows for n in names) + whole["establishments"].rows
    # The whole path checks each extract in one piece; the chunked path never more than
    # a chunk (each quarter here is smaller than a chunk).
    assert max(checked_sizes) > CHUNKED.chunk_rows
    chunked_sizes = checked_sizes[len(names) + 1 :]
    assert sum(chunked_sizes) == rows and max(chunked_sizes) <= CHUNKED.chunk_rows
    assert len(chunked_sizes) >= 6  # establishments whole, the two extracts in chunks
    for name in names:
        a, b = whole[name], chunked[name]
        assert not a.success and not b.success and not a.unusable
        assert [f.as_dict() for f in b.failures] == [f.as_dict() for f in a.failures], name
        assert b.notes == a.notes and b.rows == a.rows and b.rules_checked == a.rules_checked
    failures = {f.column: f for f in chunked["prisoner_periods"].failures}
    assert failures["ethnic_group"].unexpected_count == 2
    assert failures["person_id, period, establishment"].unexpected_count == 4
    (shared,) = [f for f in chunked["community_terminations"].failures if "unique" in f.rule]
    assert shared.unexpected_count == 3
    assert shared.sample_rows[-1][ROW_NUMBER] == whole["community_terminations"].rows


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled record-level extracts published twice: read whole, and in chunks."""
    root = tmp_path_factory.mktemp("published")
    for label, settings in (("whole", WHOLE), ("chunked", CHUNKED)):
        paths = _folder(root, label, [*RECORD_LEVEL, "deaths_in_custody"])
        outcomes = validate_all(paths, settings=settings)
        assert all(o.published for o in outcomes), [o.summary() for o in outcomes]
    return root


def test_chunks_publish_the_table_the_whole_frame_publishes(published: Path) -> None:
    whole, chunked = DataPaths(published / "whole"), DataPaths(published / "chunked")
    for name in ["establishments", *RECORD_LEVEL]:
        a = pq.read_table(whole.validated_file(name))
        b = pq.read_table(chunked.validated_file(name))
        assert b.schema.equals(a.schema, check_metadata=True), name
        if name == "prisoner_periods":  # its file is not in period order: chunks reorder it
            order = [("person_id", "ascending"), ("period", "ascending")]
            a, b = a.sort_by(order), b.sort_by(order)
        assert b.equals(a), name
        assert json.loads(chunked.manifest.read_text())["extracts"][name]["rows"] == a.num_rows
    assert not list(chunked.generations.glob(".tmp-*")), "the stage is removed after the run"


def _copies(published: Path, tmp_path: Path) -> list[tuple[DataPaths, ValidationSettings]]:
    pairs = []
    for label, settings in (("whole", WHOLE), ("chunked", CHUNKED)):
        shutil.copytree(published / label, tmp_path / label, symlinks=True)
        pairs.append((DataPaths(tmp_path / label), settings))
    return pairs


def test_chunks_check_the_shrink_as_the_whole_frame(published: Path, tmp_path: Path) -> None:
    """A new prisoner extract, against the published one, refused for the same reasons."""
    results = []
    for paths, settings in _copies(published, tmp_path):
        path = paths.raw / "prisoner_periods.parquet"
        frame = pd.read_parquet(path)
        quarters = sorted(frame["period"].astype(str).unique())
        keep = frame["period"].astype(str) != quarters[3]
        keep &= frame["establishment"].astype(str) != sorted(frame["establishment"].astype(str))[0]
        frame[keep].to_parquet(path, index=False)
        results.append(validate_all(paths, ["prisoner_periods"], settings=settings)[0])
    whole, chunked = results
    assert not chunked.published and not chunked.unusable
    assert [f.as_dict() for f in chunked.failures] == [f.as_dict() for f in whole.failures]
    rules = {f.column: f.description for f in chunked.failures}
    assert "(inside the range)" in rules["period"]
    assert "no longer covered" in rules["establishment"]


def test_chunks_check_references_across_the_set_as_the_whole_frame(
    published: Path, tmp_path: Path
) -> None:
    """A prisoner extract that passes its own rules but not the set that would be published.

    Establishment B becomes XYZ in a new establishments list and in the new prisoner
    extract (shrinks accepted); the list is then refused because the published deaths
    still use B, so the prisoners' XYZ is in no establishments that would be published.
    Checked in chunks, the prisoner extract must be refused from its summary with the
    words and sample rows the whole frame gives.
    """
    results = []
    for paths, settings in _copies(published, tmp_path):
        establishments = pd.read_csv(paths.raw / "establishments.csv", dtype=str)
        deaths = pd.read_parquet(paths.validated_file("deaths_in_custody"))
        gone = sorted(deaths["establishment"].astype(str))[0]
        assert "XYZ" not in set(establishments["code"])
        renamed = establishments["code"] == gone
        establishments.loc[renamed, ["code", "name"]] = ["XYZ", "HMP Newbuild"]
        establishments.to_csv(paths.raw / "establishments.csv", index=False)
        frame = _plain(pd.read_parquet(paths.raw / "prisoner_periods.parquet"))
        frame.loc[frame["establishment"] == gone, "establishment"] = "XYZ"
        frame.to_parquet(paths.raw / "prisoner_periods.parquet", index=False)
        outcomes = validate_all(
            paths,
            ["establishments", "prisoner_periods"],
            settings=dataclasses.replace(settings, accept_shrink=True),
        )
        results.append({o.extract: o for o in outcomes})
    whole, chunked = results
    for name in ("establishments", "prisoner_periods"):
        assert not chunked[name].published and not chunked[name].unusable
        failures = [f.as_dict() for f in chunked[name].failures]
        assert failures == [f.as_dict() for f in whole[name].failures], name
    (failure,) = chunked["prisoner_periods"].failures
    assert "not in establishments: XYZ" in failure.description
    assert [row["establishment"] for row in failure.sample_rows] == ["XYZ"] * 5


def test_chunks_are_whole_periods_with_rows_in_file_order(tmp_path: Path) -> None:
    from equality_core.ingest import ReadLimits, open_parquet_chunks

    path = tmp_path / "prisoner_periods.parquet"
    frame = _plain(pd.read_parquet(BUNDLED.raw / "prisoner_periods.parquet"))
    frame.loc[5, "period"] = None
    frame.to_parquet(path, index=False, row_group_size=7_000)
    extract = EXTRACTS["prisoner_periods"]
    assert open_parquet_chunks(path, extract, ReadLimits(), chunk_rows=len(frame)) is None
    with open_parquet_chunks(path, extract, ReadLimits(), chunk_rows=9_000) as chunks:
        count = chunks.plan(9_000)
        seen: list[set] = []
        rows = []
        for chunk in chunks.chunks():
            periods = set(chunk.frame["period"].dropna())
            assert not any(periods & other for other in seen), "a period is in one chunk"
            seen.append(periods)
            lines = chunk.frame[ROW_NUMBER].to_numpy()
            assert (np.diff(lines) > 0).all(), "rows keep their order in the file"
            rows.append(lines)
    assert count == len(seen) > 2
    assert sorted(np.concatenate(rows)) == list(range(1, len(frame) + 1))
    assert chunk.frame["period"].isna().any(), "rows with no period come last"


def test_a_streamed_scale_made_in_two_processes_writes_the_same_files(
    streamed: Path, tmp_path: Path
) -> None:
    """Prisoners' extracts made in a process of their own: the same bytes, every file, and
    the process's progress reaches the caller."""
    said: list[str] = []
    raw = tmp_path / "raw"
    _write_tiny(raw, workers=2, progress=said.append)
    assert sorted(p.name for p in raw.iterdir()) == sorted(p.name for p in streamed.iterdir())
    for path in streamed.iterdir():
        assert sha256_of(raw / path.name) == sha256_of(path), path.name
    assert any(line.startswith("wrote prisoner_periods.parquet") for line in said)
    assert any(line.startswith("wrote community_terminations.parquet") for line in said)
