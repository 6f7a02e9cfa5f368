"""Drawings and table views made once per content: a changed figure is drawn anew, the
same figures are not, and the browser receives what it would without the caches."""

from __future__ import annotations

import dataclasses

import pandas as pd
from streamlit.testing.v1 import AppTest  # noqa: TID251

from equality_core.findings import Finding
from equality_ui import panels


def _finding(numerator: int = 40) -> Finding:
    table = pd.DataFrame(
        {
            "characteristic": ["sex", "sex"],
            "group": ["Female", "Male"],
            "numerator": [numerator, 90],
            "denominator": [400, 600],
            "rate": [numerator / 400, 0.15],
            "rate_low": [numerator / 400 - 0.02, 0.13],
            "rate_high": [numerator / 400 + 0.02, 0.17],
            "flag": pd.array(["lower", "comparator"], dtype="string"),
            "suppressed": [False, False],
        }
    )
    return Finding(
        key="rates-test",
        chart="rates",
        headline="Women are adjudicated less often than men",
        subtitle="The 12 months to March 2025",
        description="Bars of the rate of each group.",
        table=table,
        columns=("group", "numerator", "denominator", "rate"),
        drawn=table,
        options={"kind": "proportion"},
    )


def test_the_same_figures_are_drawn_once_and_a_changed_figure_anew() -> None:
    first = panels.drawing_of(_finding())
    assert panels.drawing_of(_finding()) is first
    changed = panels.drawing_of(_finding(numerator=41))
    assert changed is not first
    assert changed.spec["datasets"] != first.spec["datasets"]


def test_a_table_just_computed_and_its_cached_copy_are_drawn_once() -> None:
    """Streamlit's cache returns copies, held otherwise in memory: the same figures."""
    computed = _finding(numerator=42)
    computed.drawn["shown"] = computed.drawn["rate"] * 100  # a block of its own
    copied = dataclasses.replace(computed, drawn=computed.drawn.copy())  # blocks joined
    assert panels.drawing_of(copied) is panels.drawing_of(computed)


def test_the_drawing_key_reads_what_the_chart_is_drawn_from() -> None:
    base = _finding()
    for change in (
        {"headline": "Another headline"},
        {"subtitle": "Another period"},
        {"options": {"kind": "event"}},
        {"drawn": base.drawn.assign(rate_high=base.drawn["rate_high"] + 0.01)},
        {"drawn": base.drawn.assign(group=["Female", "male"])},
        {"drawn": base.drawn.assign(numerator=base.drawn["numerator"].astype(float))},
        {"drawn": base.drawn.set_axis([1, 0])},
    ):
        assert panels._finding_key(dataclasses.replace(base, **change)) != panels._finding_key(
            base
        ), change


def test_a_table_view_is_made_anew_when_a_shown_figure_changes() -> None:
    table = _finding().table
    names = panels._COLUMN_TITLES
    shown = panels._display_text(table, ["group", "numerator"], names, False)
    assert list(shown.columns) == ["Group", "Numerator"]
    assert panels._display_text(table.copy(), ["group", "numerator"], names, False) is shown
    hidden = table.assign(suppressed=[True, False], numerator=[float("nan"), 90.0])
    again = panels._display_text(hidden, ["group", "numerator"], names, False)
    assert list(again["Numerator"]) == ["[c]", "90"]


def test_the_browser_receives_the_chart_it_would_without_the_cache() -> None:
    """Arrow data sets made with the drawing hold the rows Streamlit would send itself,
    under the same names, with the same specification and everything else alike."""
    import pyarrow as pa

    drawing = panels.drawing_of(_finding())

    def draw(spec: dict) -> None:
        import streamlit as st  # noqa: TID251

        st.vega_lite_chart(spec=spec, width="stretch", alt="A chart")

    sent = []
    for spec in (drawing.spec, {**drawing.spec, "datasets": drawing.screen_datasets}):
        at = AppTest.from_function(draw, args=(spec,)).run()
        assert not at.exception
        sent.append(at.get("vega_lite_chart")[0].proto)
    streamlits, ours = sent
    rows = [
        {
            named.name: pa.ipc.open_stream(named.data.data).read_all().to_pylist()
            for named in proto.datasets
        }
        for proto in sent
    ]
    assert rows[0] == rows[1] and rows[0]
    for proto in sent:
        del proto.datasets[:]
    assert ours.SerializeToString() == streamlits.SerializeToString()


def _disparities(black_numerator: int = 2524) -> pd.DataFrame:
    from equality_core import analysis

    counts = pd.DataFrame(
        {
            "measure": "use_of_force",
            "characteristic": "ethnic_group",
            "group": ["White", "Black, Black British, Black Welsh, Caribbean or African"],
            "numerator": [7200, black_numerator],
            "denominator": [10000, 4000],
        }
    )
    return analysis.protected_disparity_table(counts, protection=None, kind="proportion")


def _view(place: str = "HMP Caldwick", **rule: float):
    from equality_core import findings, stats
    from equality_core.measures import MEASURES

    return findings.View(
        MEASURES["use_of_force"],
        "ethnic_group",
        place,
        "Twelve months to 2025-Q4",
        rule=stats.FlagRule(**rule),
    )


def _same_finding(a: Finding, b: Finding) -> bool:
    return all(
        (getattr(a, f.name).equals(getattr(b, f.name)))
        if isinstance(getattr(a, f.name), pd.DataFrame)
        else getattr(a, f.name) == getattr(b, f.name)
        for f in dataclasses.fields(Finding)
    )


def test_a_finding_is_built_once_per_content_of_its_arguments(monkeypatch) -> None:
    from equality_core import findings

    built = []

    def relative_rates(*args, **kwargs) -> Finding:
        built.append(args)
        return findings.relative_rates(*args, **kwargs)

    monkeypatch.setattr(panels, "_REMEMBERED", panels.OrderedDict())
    table = _disparities()
    first = panels.remembered(relative_rates, table, None, _view())
    # The same content in new objects (as a cache hands back a copy): built once, and
    # each caller gets a copy of the same finding.
    again = panels.remembered(relative_rates, table.copy(), None, _view())
    assert len(built) == 1
    assert again is not first and _same_finding(again, first)
    assert _same_finding(first, findings.relative_rates(table, None, _view()))
    # Any change of content is a new finding, as building it gives.
    changes = [
        (_disparities(2100), None, _view()),
        (table, None, _view(place="HMP Birchwood")),
        (table, None, _view(alpha=0.01)),
        (table, table, _view()),
    ]
    for number, args in enumerate(changes, start=2):
        other = panels.remembered(relative_rates, *args)
        assert len(built) == number
        assert _same_finding(other, findings.relative_rates(*args))
    assert not _same_finding(
        panels.remembered(relative_rates, _disparities(2100), None, _view()), first
    )
    # Another builder given the same arguments is not confused with this one.
    assert panels.remembered(findings.rates, table, None, _view()).chart == "rates"


def test_a_table_of_another_type_is_another_content(monkeypatch) -> None:
    calls = []

    def build(table: pd.DataFrame) -> Finding:
        calls.append(table)
        return _finding(int(table["n"].iloc[0]))

    monkeypatch.setattr(panels, "_REMEMBERED", panels.OrderedDict())
    panels.remembered(build, pd.DataFrame({"n": [1]}))
    panels.remembered(build, pd.DataFrame({"n": [1]}))
    panels.remembered(build, pd.DataFrame({"n": ["1"]}))
    panels.remembered(build, pd.DataFrame({"n": [1.0]}))
    assert len(calls) == 3


def test_arguments_that_cannot_be_digested_are_built_from_every_time(monkeypatch) -> None:
    calls = []

    def build(values: object) -> Finding:
        calls.append(values)
        return _finding()

    monkeypatch.setattr(panels, "_REMEMBERED", panels.OrderedDict())
    for _ in range(2):
        panels.remembered(build, {1, 2})  # a set: no content digest
        panels.remembered(build, lambda: 1)
    assert len(calls) == 4
    assert not panels._REMEMBERED


def test_a_remembered_finding_draws_as_one_built_anew(monkeypatch) -> None:
    import gc

    monkeypatch.setattr(panels, "_REMEMBERED", panels.OrderedDict())
    monkeypatch.setattr(panels, "_REMEMBERED_KEPT", 2)
    for _ in range(2):  # built, then read back
        kept = panels.remembered(_finding, 41)
        assert panels._REMEMBERED_KEYS[id(kept)] == panels._finding_key(_finding(41))
        assert panels.drawing_of(kept) == panels.drawing_of(_finding(41))
    panels.remembered(_finding, 42)
    panels.remembered(_finding, 43)  # the first is dropped
    assert len(panels._REMEMBERED) == 2
    assert all(isinstance(held, bytes) for held, _ in panels._REMEMBERED.values())
    # A finding's drawing key goes with it.
    handed = id(kept)
    del kept
    gc.collect()
    assert handed not in panels._REMEMBERED_KEYS
