"""The hostile corpus (tests/hostile/): every bad input is refused clearly or normalised.

Nothing in the corpus may be published wrongly: each case must reach the verdict it
declares, and the table in tests/hostile/README.md must list every case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from equality_core.paths import DataPaths

from .hostile.corpus import CASES, build_good_set, run_case, summary

pytestmark = pytest.mark.xdist_group("hostile")


@pytest.fixture(scope="module")
def good_set(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    return build_good_set(tmp_path_factory.mktemp("hostile") / "good")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_reaches_its_verdict(case, good_set: DataPaths, tmp_path: Path) -> None:
    result = run_case(case, good_set, tmp_path)
    assert result.verdict == case.expect, (result.verdict, result.problems, result.text[:3000])
    assert "Traceback" not in result.text


def test_corpus_covers_every_item_of_the_issue() -> None:
    items = {case.item for case in CASES}
    assert {1, 2, 3, 4, 6, 7, 8, 9, 10} <= items
    assert len({case.id for case in CASES}) == len(CASES), "case ids are unique"


def test_table_lists_every_case() -> None:
    table = (Path(__file__).parent / "hostile" / "README.md").read_text(encoding="utf-8")
    missing = [case.id for case in CASES if f"`{case.id}`" not in table]
    assert not missing, f"run python -m tests.hostile.table to refresh the table: {missing}"


def test_summary_counts() -> None:
    class Fake:
        def __init__(self, verdict):
            self.verdict = verdict

    counts = summary([Fake("refused"), Fake("normalised"), Fake("published wrongly")])
    assert counts == {
        "tried": 3,
        "refused with a clear message": 1,
        "normalised": 1,
        "published wrongly": 1,
        "other": 0,
    }
