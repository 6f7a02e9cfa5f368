"""How ``benchmarks/speed.py`` pools several runs of the same filter changes. Not timed."""

from __future__ import annotations

import statistics
import sys

import pytest

from tests.conftest import REPOSITORY

# benchmarks/ is not a package: its modules import each other by name, from its folder.
sys.path.insert(0, str(REPOSITORY / "benchmarks"))

import speed


def _run(seconds: list[float], *, first_draw: float, reruns: list[float], value: str = "A"):
    changes = [
        {
            "page": "01_psed.py",
            "area": "sidebar",
            "kind": "selectbox",
            "key": f"filter{i}",
            "value": value,
            "fresh": True,
            "seconds": s,
            "cpu_seconds": s / 2,
            "errors": [],
        }
        for i, s in enumerate(seconds)
    ]
    changes.append(
        {"page": "01_psed.py", "area": "section", "key": "s", "value": "B", "seconds": 1.0}
    )
    pages = {
        "01_psed.py": {
            "first_draw_seconds": first_draw,
            "first_draw_errors": [],
            "rerun_seconds": reruns,
        }
    }
    return {"pages": pages, "changes": changes, "process_seconds": 9.0}


def test_each_change_is_the_median_of_its_runs() -> None:
    runs = [
        _run([0.1, 0.5], first_draw=2.0, reruns=[0.05]),
        _run([0.3, 0.2], first_draw=1.0, reruns=[0.07]),
        _run([0.2, 0.9], first_draw=3.0, reruns=[0.06]),
    ]
    merged = speed.merged_runs(runs)
    sidebar = [c for c in merged["changes"] if c["area"] == "sidebar"]
    assert [c["seconds"] for c in sidebar] == [0.2, 0.5]
    assert [c["runs"] for c in sidebar] == [[0.1, 0.3, 0.2], [0.5, 0.2, 0.9]]
    assert [c["cpu_seconds"] for c in sidebar] == [0.1, 0.25]
    assert merged["pages"]["01_psed.py"]["first_draw_seconds"] == 2.0
    assert merged["pages"]["01_psed.py"]["rerun_seconds"] == [0.05, 0.07, 0.06]
    summary = speed.filter_summary(merged)
    # The summary is made from the per-change medians, not from every run's times.
    assert summary["median"] == statistics.median([0.2, 0.5])
    assert summary["count"] == 2
    assert speed.merged_runs(runs[:1]) is runs[0]


def test_runs_that_changed_different_values_are_not_pooled() -> None:
    runs = [
        _run([0.1], first_draw=1.0, reruns=[0.05]),
        _run([0.1], first_draw=1.0, reruns=[0.05], value="other"),
    ]
    with pytest.raises(RuntimeError, match="different filters"):
        speed.merged_runs(runs)
    with pytest.raises(RuntimeError, match="different filters"):
        speed.merged_runs([runs[0], _run([0.1, 0.2], first_draw=1.0, reruns=[0.05])])
