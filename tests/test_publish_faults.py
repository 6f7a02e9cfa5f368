"""Publishing is crash-consistent: killed or failed at any step, the published set is whole.

A validate run publishes its passing extracts with the unchanged rest as one generation
(equality_core.publish). These tests kill the publish (a BaseException, which no clean-up
catches, as a real kill would skip it) and fail it (an OSError) at every step it takes,
and show that ``validated`` always names one whole generation: exactly the old set or
exactly the new one, never a mix, with a manifest that agrees with its files. The next
run removes whatever the killed one left. One test kills a real process. Others hold the
lock, run two validations at once, and move a folder of the older layout.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from equality_core import publish
from equality_core.cli import main
from equality_core.ingest import sha256_of
from equality_core.paths import DataPaths
from equality_core.validation import read_manifest, validate_all

from .conftest import REPOSITORY
from .hostile.corpus import build_good_set

#: Extracts the second run changes; the rest of the good set is carried over unchanged.
CHANGED = ["establishments", "delivery_plan"]


class Killed(BaseException):
    """Stands for the process being killed at a step: nothing catches it."""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    """The good set, published once (generation one)."""
    return build_good_set(tmp_path_factory.mktemp("publish") / "good")


def _copy(published: DataPaths, target: Path) -> DataPaths:
    shutil.copytree(published.root, target, symlinks=True)
    return DataPaths(target)


def _change_raw(paths: DataPaths) -> dict[str, str]:
    """Valid edits to the changed extracts; returns the checksums the new set will carry."""
    raw = paths.raw
    establishments = pd.read_csv(raw / "establishments.csv", dtype=str, keep_default_na=False)
    establishments.loc[0, "name"] = "HMP Coldwick (renamed)"
    establishments.to_csv(raw / "establishments.csv", index=False)
    plan = pd.read_csv(raw / "delivery_plan.csv", dtype=str, keep_default_na=False)
    plan.loc[0, "status"] = "Complete"
    plan.to_csv(raw / "delivery_plan.csv", index=False)
    return {name: sha256_of(raw / f"{name}.csv") for name in CHANGED}


def _snapshot(paths: DataPaths) -> dict[str, str]:
    return {n: e["source_sha256"] for n, e in read_manifest(paths)["extracts"].items()}


def assert_one_whole_generation(paths: DataPaths, *allowed: dict[str, str]) -> str:
    """``validated`` names a complete generation equal to one of ``allowed``; returns its id."""
    pinned = paths.pinned()
    assert pinned.generation is not None, "validated names a generation"
    assert pinned.generation.parent.resolve() == paths.generations.resolve()
    assert not pinned.generation.name.startswith(".")
    manifest = json.loads((pinned.generation / "manifest.json").read_text(encoding="utf-8"))
    files = {p.stem for p in pinned.generation.glob("*.parquet")}
    assert files == set(manifest["extracts"]), "the manifest lists exactly the files there"
    for name, entry in manifest["extracts"].items():
        rows = pq.ParquetFile(pinned.generation / f"{name}.parquet").metadata.num_rows
        assert rows == entry["rows"], (name, rows, entry["rows"])
    snapshot = {n: e["source_sha256"] for n, e in manifest["extracts"].items()}
    assert snapshot in allowed, "the published set is the old one or the new one, never a mix"
    return pinned.generation.name


def _leftovers(paths: DataPaths) -> list[str]:
    current = paths.pinned().generation
    found = [str(p) for p in paths.generations.glob(".tmp-*")]
    found += [str(p) for p in paths.root.glob(".validated.tmp-*")]
    found += [str(p) for p in paths.reports.glob(".tmp-*")]
    found += [
        str(p)
        for p in paths.generations.iterdir()
        if p.is_dir() and not p.name.startswith(".") and current and p.name > current.name
    ]
    return found


def _steps(published: DataPaths, tmp_path: Path) -> list[str]:
    paths = _copy(published, tmp_path / "record")
    _change_raw(paths)
    seen: list[str] = []
    publish.FAULT_HOOK = seen.append
    try:
        validate_all(paths, CHANGED)
    finally:
        publish.FAULT_HOOK = None
    return seen


@pytest.fixture(scope="module")
def steps(published: DataPaths, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _steps(published, tmp_path_factory.mktemp("steps"))


def test_the_publish_has_the_steps_the_fault_tests_cover(steps: list[str]) -> None:
    assert steps[0] == "begin" and steps[-1] == "prune"
    assert {f"write:{n}" for n in CHANGED} <= set(steps)
    assert {"carry:prisoner_periods", "carry:deaths_in_custody"} <= set(steps)
    assert steps.index("manifest") < steps.index("rename") < steps.index("switch")


def _fault_at(step: str, raise_it: Callable[[], BaseException]) -> Callable[[str], None]:
    def hook(reached: str) -> None:
        if reached == step:
            raise raise_it()

    return hook


def test_a_kill_at_every_step_leaves_one_whole_generation(
    published: DataPaths, steps: list[str], tmp_path: Path
) -> None:
    for number, step in enumerate(steps):
        paths = _copy(published, tmp_path / f"kill-{number}")
        old = _snapshot(paths)
        new = {**old, **_change_raw(paths)}
        publish.FAULT_HOOK = _fault_at(step, lambda: Killed())
        try:
            with pytest.raises(Killed):
                validate_all(paths, CHANGED)
        finally:
            publish.FAULT_HOOK = None
        published_now = assert_one_whole_generation(paths, old, new)
        # The next run first puts things right: what the killed run left goes, and the
        # published set is untouched.
        publish.recover(paths)
        assert not _leftovers(paths), (step, _leftovers(paths))
        assert assert_one_whole_generation(paths, old, new) == published_now
        if step in ("manifest", "switch", "prune"):
            outcomes = validate_all(paths, CHANGED)
            assert all(o.success and o.published for o in outcomes), step
            assert_one_whole_generation(paths, new)
            for outcome in outcomes:
                report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
                assert report["published"] is True


def test_a_failure_at_every_step_leaves_the_old_generation_or_the_new(
    published: DataPaths, steps: list[str], tmp_path: Path
) -> None:
    for number, step in enumerate(steps):
        paths = _copy(published, tmp_path / f"fail-{number}")
        old = _snapshot(paths)
        new = {**old, **_change_raw(paths)}
        publish.FAULT_HOOK = _fault_at(step, lambda: OSError(errno.ENOSPC, "No space left"))
        try:
            outcomes = validate_all(paths, CHANGED)
        finally:
            publish.FAULT_HOOK = None
        after_switch = steps.index(step) > steps.index("switch")
        assert_one_whole_generation(paths, new if after_switch else old)
        assert not _leftovers(paths), (step, _leftovers(paths))
        for outcome in outcomes:
            # Every extract has its report, pass or fail, whatever the failure was.
            assert outcome.report_path is not None and outcome.report_path.exists()
            if not after_switch:
                assert not outcome.published and "No space left" in outcome.error, step


def test_a_real_process_killed_mid_publish(published: DataPaths, tmp_path: Path) -> None:
    paths = _copy(published, tmp_path / "data")
    old = _snapshot(paths)
    new = {**old, **_change_raw(paths)}
    script = (
        "import os, sys\n"
        "from equality_core import publish\n"
        "from equality_core.cli import main\n"
        "publish.FAULT_HOOK = lambda step: os._exit(137) if step == 'switch' else None\n"
        "sys.exit(main(['validate', '--data', sys.argv[1], *sys.argv[2:]]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(paths.root), *CHANGED],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 137, result.stderr[-2000:]
    assert_one_whole_generation(paths, old)
    assert _leftovers(paths), "the killed run left its new generation and link behind"
    outcomes = validate_all(paths, CHANGED)
    assert all(o.published for o in outcomes)
    assert not _leftovers(paths)
    assert_one_whole_generation(paths, new)


def test_a_second_run_waits_for_the_lock_and_loses_no_update(
    published: DataPaths, tmp_path: Path
) -> None:
    paths = _copy(published, tmp_path / "data")
    new = _change_raw(paths)
    inside = threading.Event()
    finish = threading.Event()

    def hook(step: str) -> None:
        # Widen the first run's window between reading the old manifest and writing the new.
        if step == "manifest" and threading.current_thread().name == "first":
            inside.set()
            finish.wait(10)

    outcomes: dict[str, list] = {}

    def run(name: str, extracts: list[str]) -> None:
        outcomes[name] = validate_all(paths, extracts)

    publish.FAULT_HOOK = hook
    try:
        first = threading.Thread(target=run, args=("first", ["delivery_plan"]), name="first")
        first.start()
        assert inside.wait(60)
        second = threading.Thread(target=run, args=("second", ["establishments"]), name="second")
        second.start()
        second.join(0.5)
        assert second.is_alive(), "the second run waits while the first holds the lock"
        finish.set()
        first.join(60)
        second.join(120)
    finally:
        publish.FAULT_HOOK = None
        finish.set()
    manifest = read_manifest(paths)
    assert manifest["extracts"]["delivery_plan"]["source_sha256"] == new["delivery_plan"]
    assert manifest["extracts"]["establishments"]["source_sha256"] == new["establishments"]
    assert manifest["previous_generation"] == outcomes["first"][0].generation


def test_a_held_lock_gives_exit_code_2_and_says_so(
    published: DataPaths, tmp_path: Path, capsys
) -> None:
    paths = _copy(published, tmp_path / "data")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with publish.data_folder_lock(paths):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        code = main(["validate", "--data", str(paths.root), "--lock-timeout", "0.2"])
    finally:
        release.set()
        holder.join(10)
    assert code == 2
    assert "another validate run holds the lock" in capsys.readouterr().err


def test_leftovers_of_a_killed_run_are_removed(published: DataPaths, tmp_path: Path) -> None:
    paths = _copy(published, tmp_path / "data")
    (paths.generations / ".tmp-20990101T000000000000Z-abcdef").mkdir()
    (paths.generations / ".tmp-20990101T000000000000Z-abcdef" / "x.parquet").write_bytes(b"x")
    orphan = paths.generations / "20990101T000000000000Z-fedcba"
    shutil.copytree(paths.pinned().generation, orphan)
    os.symlink("generations/nowhere", paths.root / ".validated.tmp-20990101T000000000000Z-1")
    (paths.reports / ".tmp-prisoner_periods-x.json.1234").write_text("{", encoding="utf-8")
    before = assert_one_whole_generation(paths, _snapshot(paths))
    assert len(_leftovers(paths)) == 4
    validate_all(paths, ["delivery_plan"])
    assert not _leftovers(paths)
    assert not orphan.exists()
    assert paths.pinned().generation.name != before


def test_a_folder_of_the_older_layout_is_moved_into_a_generation(
    published: DataPaths, tmp_path: Path
) -> None:
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(published.raw, paths.raw)
    # The older layout: validated/ a plain folder of Parquet files and a manifest.
    shutil.copytree(published.pinned().generation, paths.pointer)
    old = _snapshot(paths)
    outcomes = validate_all(paths, ["delivery_plan"])
    assert outcomes[0].published
    assert paths.pointer.is_symlink()
    assert_one_whole_generation(paths, old)  # delivery_plan's raw file did not change
    kept = [p for p in paths.generations.iterdir() if not p.name.startswith(".")]
    assert len(kept) == 2, "the old folder is kept as the previous generation"


def test_an_interrupted_move_of_the_older_layout_is_restored(
    published: DataPaths, tmp_path: Path
) -> None:
    paths = _copy(published, tmp_path / "data")
    current = paths.pinned().generation.name
    paths.pointer.unlink()  # killed between moving the folder and making the link
    (paths.generations / ".migrating").write_text(current, encoding="utf-8")
    publish.recover(paths)
    assert paths.pinned().generation.name == current
    assert not (paths.generations / ".migrating").exists()


def test_the_manifest_names_its_generation_and_keeps_keys_it_does_not_know(
    published: DataPaths, tmp_path: Path
) -> None:
    paths = _copy(published, tmp_path / "data")
    manifest_path = paths.pinned().generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    # A key this version does not know (a later version's record, say) survives.
    manifest["retention_policy"] = {"reports_days": 90, "set_by": "a later version"}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    before = paths.pinned().generation.name
    outcomes = validate_all(paths, ["delivery_plan"])
    after = read_manifest(paths)
    assert after["retention_policy"] == {"reports_days": 90, "set_by": "a later version"}
    assert after["generation"] == outcomes[0].generation == paths.pinned().generation.name
    assert after["previous_generation"] == before
    assert after["published_at"] and set(after["extracts"]) == set(manifest["extracts"])


def test_old_generations_are_pruned_beyond_a_few(published: DataPaths, tmp_path: Path) -> None:
    paths = _copy(published, tmp_path / "data")
    for _ in range(publish.KEEP_PREVIOUS_GENERATIONS + 2):
        validate_all(paths, ["delivery_plan"])
    kept = sorted(p.name for p in paths.generations.iterdir() if not p.name.startswith("."))
    assert len(kept) == publish.KEEP_PREVIOUS_GENERATIONS + 1
    assert kept[-1] == paths.pinned().generation.name


def test_unchanged_extracts_are_carried_without_copying(
    published: DataPaths, tmp_path: Path
) -> None:
    paths = _copy(published, tmp_path / "data")
    before = paths.pinned().generation / "deaths_in_custody.parquet"
    validate_all(paths, ["delivery_plan"])
    after = paths.pinned().generation / "deaths_in_custody.parquet"
    assert before != after and before.read_bytes() == after.read_bytes()
    assert os.stat(before).st_ino == os.stat(after).st_ino, "a hard link, not a copy"
