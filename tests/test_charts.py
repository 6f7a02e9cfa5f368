"""Charts are drawn from named data sets made without Altair's slow steps, and the
specification is the one Altair makes itself: the same marks, encodings, titles and values.
"""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit import dataframe_util  # noqa: TID251
from streamlit.testing.v1 import AppTest  # noqa: TID251

from equality_core.findings import Finding
from equality_ui import charts, panels
from tests.conftest import REPOSITORY, each_section

pytestmark = pytest.mark.xdist_group("apptest")

OBJECTIVE_PAGES = [
    "pages/01_psed.py",
    "pages/02_offenders.py",
    "pages/03_workforce.py",
    "pages/04_disabled_staff.py",
    "pages/05_disabled_offenders.py",
]


@pytest.fixture(scope="module")
def drawn() -> list[Finding]:
    """Every finding the objective pages draw as a chart on the bundled small demo."""
    patch = pytest.MonkeyPatch()
    patch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))
    found: list[Finding] = []
    show = panels.show

    def collecting(finding: Finding, *, key: str) -> None:
        found.append(finding)
        show(finding, key=key)

    patch.setattr(panels, "show", collecting)
    try:
        for page in OBJECTIVE_PAGES:
            at = AppTest.from_file(str(REPOSITORY / "app.py"), default_timeout=120)
            at.switch_page(page).run()
            assert not at.exception, [e.value for e in at.exception]
            for _ in each_section(at, table_views=False):  # a page computes its open section
                pass
    finally:
        patch.undo()
    return [finding for finding in found if finding.empty is None]


def _altair_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make charts as Altair alone makes them: tables inline, layers by ``alt.layer``."""
    monkeypatch.setattr(charts, "with_named_data", lambda chart: chart)
    monkeypatch.setattr(
        charts, "_layer", lambda *layers, **properties: alt.layer(*layers).properties(**properties)
    )


def _every_column_type() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "int64": np.array([1, 2, 3], dtype="int64"),
            "int32": np.array([2015, 2016, 2017], dtype="int32"),
            "float": [0.5, np.nan, np.inf],
            "whole_float": [1.0, 2.0, -np.inf],
            "bool": [True, False, True],
            "nullable_int": pd.array([4, None, 6], dtype="Int64"),
            "nullable_float": pd.array([0.25, None, 0.75], dtype="Float64"),
            "nullable_bool": pd.array([True, None, False], dtype="boolean"),
            "text": pd.array(["a", None, "c"], dtype="str"),
            "string": pd.array(["x", "y", None], dtype="string"),
            "object": pd.Series(["p", None, 3], dtype=object),
            "numpy_in_object": pd.Series(
                [np.int64(7), np.float64(0.5), np.bool_(True)], dtype=object
            ),
            "category": pd.Categorical(["low", None, "high"]),
            "date": pd.to_datetime(["2024-04-01", None, "2025-03-31"]),
        }
    )


def test_data_values_are_the_values_altair_makes() -> None:
    table = _every_column_type()
    ours = charts.data_values(table)
    altairs = alt.utils.data.to_values(table)["values"]
    # As JSON, so that 1 and 1.0, or None and NaN, would differ.
    assert json.dumps(ours, sort_keys=True) == json.dumps(altairs, sort_keys=True)
    spec = alt.Chart(table).mark_point().to_dict(validate=False)
    assert list(spec["datasets"]) == [charts.dataset_name(ours)]


def test_a_table_without_columns_or_rows() -> None:
    for table in (pd.DataFrame(index=range(2)), pd.DataFrame({"x": pd.Series([], dtype=float)})):
        spec = alt.Chart(table).mark_point().to_dict(validate=False)
        named = charts.with_named_data(alt.Chart(table).mark_point())
        assert charts.specification(named) == spec


def test_every_chart_the_pages_draw_is_the_one_altair_makes(
    drawn: list[Finding], monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = {finding.chart for finding in drawn}
    assert len(kinds) >= 12, kinds
    ours = [panels.Drawing.of(panels.chart_of(finding)) for finding in drawn]
    _altair_own(monkeypatch)
    for finding, drawing in zip(drawn, ours, strict=True):
        own = panels.chart_of(finding)
        assert drawing.spec == own.to_dict(validate=False), finding.chart
        # Altair gathers a chart's tables into named data sets, as ours are.
        assert drawing.spec["datasets"], finding.chart


def test_layers_altair_would_change_are_layered_by_altair() -> None:
    """Layers sharing a table, with a size or with tables of their own: alt.layer's chart."""
    table = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 0.25, 0.75]})
    other = table.assign(y=table["y"] * 2)

    def cases() -> list[tuple[alt.Chart, ...]]:
        base = alt.Chart(table).mark_point().encode(x="x:Q", y="y:Q")
        return [
            (base, alt.Chart(table).mark_line().encode(x="x:Q", y="y:Q")),
            (base, alt.Chart(table).mark_rule().encode(y="mean(y):Q").properties(height=200)),
            (base, alt.Chart(other).mark_line().encode(x="x:Q", y="y:Q")),
        ]

    for ours, altairs in zip(cases(), cases(), strict=True):
        expected = alt.layer(*altairs).properties(title="A title").to_dict(validate=False)
        assert charts._layer(*ours, title="A title").to_dict(validate=False) == expected


def _read(arrow: bytes) -> pa.Table:
    return pa.ipc.open_stream(arrow).read_all()


def test_the_browser_gets_the_values_streamlit_would_send(drawn: list[Finding]) -> None:
    """Each chart's data sets, sent as Arrow made from their columns, read back as the rows
    Streamlit's own conversion (through a pandas table) would send."""
    columns_typed_directly = 0
    for finding in drawn:
        drawing = panels.Drawing.of(panels.chart_of(finding))
        for name, values in drawing.spec["datasets"].items():
            ours = _read(drawing.screen_datasets[name])
            streamlits = _read(dataframe_util.convert_anything_to_arrow_bytes(values))
            shown = [c for c in streamlits.column_names if not c.startswith("__index_level")]
            assert ours.column_names == shown, finding.chart
            assert ours.num_rows == len(values) == streamlits.num_rows
            assert ours.to_pylist() == streamlits.select(shown).to_pylist(), finding.chart
            columns_typed_directly += ours.schema.metadata is None
    assert columns_typed_directly, "no data set went straight into Arrow"


def test_data_sets_arrow_cannot_type_by_column_go_the_pandas_way() -> None:
    for values in ([{"x": 1, "y": "a"}, {"x": "b", "y": "c"}], [{}], []):
        assert panels.screen_dataset(values) == dataframe_util.convert_anything_to_arrow_bytes(
            values
        )
    typed = _read(panels.screen_dataset([{"x": 1, "y": None}, {"x": None, "y": 0.5}]))
    assert typed.to_pylist() == [{"x": 1, "y": None}, {"x": None, "y": 0.5}]


def test_grouped_bars_are_the_chart_altair_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pd.DataFrame(
        {
            "band": ["0 to 30", "31 to 90", "0 to 30", "31 to 90"],
            "group": ["Disabled", "Disabled", "Not disabled", "Not disabled"],
            "numerator": [12, 30, 25, 40],
            "share": [0.3, 0.7, 0.4, 0.6],
        }
    )

    def draw() -> alt.TopLevelMixin:
        return charts.grouped_bars_chart(
            table, title="Days to adjust", subtitle="A year", x="band", x_title="Days"
        )

    ours = charts.specification(draw())
    _altair_own(monkeypatch)
    assert ours == draw().to_dict(validate=False)


def test_a_chart_with_its_data_sets_validates_and_exports(drawn: list[Finding]) -> None:
    """The chart object keeps its data: slides and board packs export it whole."""
    for finding in drawn[:6]:
        chart = panels.chart_of(finding)
        assert chart.to_dict() == charts.specification(chart)


def test_charts_over_altairs_row_limit_still_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(alt.data_transformers.options, "max_rows", 2)
    table = pd.DataFrame({"x": [1, 2, 3]})
    with pytest.raises(alt.MaxRowsError):
        charts.with_named_data(alt.Chart(table).mark_point())
