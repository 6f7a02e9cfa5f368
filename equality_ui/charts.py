"""Altair charts in the Government Analysis Function's accessible palette.

Every chart takes a result table that has already been through disclosure control
(suppressed rows are dropped before plotting, and the caller says so beside the chart),
carries a title that states the finding, draws its intervals, never encodes meaning by
colour alone (flags also have a shape and words) and never uses red against green.
Pages call these builders; they hold no chart code of their own.

Every chart carries its tables as named data sets at its top (:func:`with_named_data`),
as Altair itself writes them, but made a column at a time: the specification is Altair's,
in a third of the time.

Streamlit fits a whole chart (title, axes and legend included) into a fixed height, so
charts of fixed height keep their legends at the side, where they do not eat into the
plot; charts sized by a step per category grow with their content.
"""

from __future__ import annotations

import functools
import hashlib
import json
import textwrap
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import altair as alt
import numpy as np
import pandas as pd
from altair.utils.core import infer_vegalite_type_for_pandas, sanitize_pandas_dataframe

from equality_core.schema import APPRAISAL_MARKINGS, CHARACTERISTICS, STAFF_GRADES

#: Analysis Function categorical palette, in order.
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
TWO_SERIES = ("#12436D", "#F46A25")
FOCUS, CONTEXT = "#12436D", "#BFBFBF"
SEQUENTIAL = ("#12436D", "#2073BC", "#6BACE6")
TEXT = "#3D3D3D"
#: Chart titles: GOV.UK's text colour, 19.6:1 on white.
TITLE_TEXT = "#0B0C0C"

#: Each flag has a shape and a word as well as a colour.
FLAG_SHAPES = {
    "higher": "triangle-up",
    "lower": "triangle-down",
    "within band": "cross",
    "no difference": "circle",
    "too few": "square",
    "comparator": "diamond",
}
FOREST_FLAGS = ["higher", "lower", "within band", "no difference", "too few"]
FLAG_SYMBOLS = {
    "higher": "▲ higher",
    "lower": "▼ lower",
    "within band": "✚ within band",
    "no difference": "● no difference",
    "too few": "■ too few",
    "comparator": "◆ comparator",
}
#: Colours of flags by what they mean for the person, the same on every page: adverse
#: orange, favourable dark blue, neutral dark grey (never red against green).
DIRECTION_COLOURS = {"adverse": "#F46A25", "favourable": "#12436D", "neutral": "#3D3D3D"}
#: Appraisal markings in order, best first (for stacked bars).
MARKINGS = [m for m in APPRAISAL_MARKINGS if m != "Not marked"]
#: Characters per line of a chart title before it wraps, so that a title fits a chart
#: in half the page's width and is never cut short.
TITLE_WIDTH = 56

THEME = "equality_monitor"


@alt.theme.register(THEME, enable=True)
def accessible_theme() -> alt.theme.ThemeConfig:
    """Text colours every chart shares: at least 4.5:1 on white (WCAG 2.2 AA, 1.4.3).

    Streamlit's chart theme draws axis labels, axis titles and legends in a light grey
    (#808495, 3.7:1 on white). A theme's configuration sits under each chart's own (Altair
    merges them key by key), so a chart's ``configure_axis(labelFontSize=...)``, as
    presentation mode's, keeps these colours; Streamlit merges its own theme under both.
    Enabled on import, so every chart drawn or exported by this process has it. It sets
    no sizes: like the theme "none", which Streamlit uses in place of Altair's default.
    """
    # A new dictionary for each part: Altair merges a chart's configuration into these.
    return alt.theme.ThemeConfig(
        config={
            "axis": {"labelColor": TEXT, "titleColor": TEXT},
            "legend": {"labelColor": TEXT, "titleColor": TEXT},
            "header": {"labelColor": TEXT, "titleColor": TEXT},
            "title": {"color": TITLE_TEXT, "subtitleColor": TEXT},
        }
    )


_P = ParamSpec("_P")
_C = TypeVar("_C", bound=alt.TopLevelMixin)

#: Column types whose values Altair gives as objects, a missing value as null (text,
#: pandas' "str" and "string", has a path of its own in :func:`_column_values`).
_OBJECT_TYPES = frozenset(
    {"category", "boolean", "object"}
    | {f"{sign}Int{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)}
    | {"Float32", "Float64"}
)


def _native(value: object) -> object:
    """A value held in an object column as plain Python (as ``DataFrame.to_dict`` boxes it)."""
    if isinstance(value, (np.number, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _column_values(column: pd.Series) -> list:
    """A column's values as Altair's own conversion gives them, made a column at a time.

    The same values as ``sanitize_pandas_dataframe`` then ``to_dict(orient="records")``:
    numbers and booleans as Python's, a missing or infinite number as null. Column types
    rare in charts (dates, durations) go through Altair's conversion itself.
    """
    kind = str(column.dtype)
    if isinstance(column.dtype, pd.StringDtype):
        # Text: Python's strings and None for a missing value, made in one pass.
        return column.to_numpy(dtype=object, na_value=None).tolist()
    if kind in _OBJECT_TYPES:
        values = column.astype(object)
        out = [_native(value) for value in values.tolist()]
        for row in np.flatnonzero(values.isna().to_numpy()):
            out[row] = None
        return out
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biu":
        return column.tolist()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        numbers = column.to_numpy()
        out = numbers.tolist()
        for row in np.flatnonzero(~np.isfinite(numbers)):
            out[row] = None
        return out
    frame = sanitize_pandas_dataframe(column.to_frame())
    return [row[column.name] for row in frame.to_dict(orient="records")]


def data_values(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as a chart's inline data: the values Altair would make of it.

    Altair copies the table and rewrites it column by column before reading it row by
    row; this reads each column once, which is several times faster on a chart's table.
    """
    names = list(frame.columns)
    if not names:
        return [{} for _ in range(len(frame))]
    columns = [_column_values(frame[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def dataset_name(values: list[dict]) -> str:
    """The name Altair gives a data set it gathers at the top of a chart (a digest of it)."""
    if values == [{}]:
        return "empty"
    text = json.dumps(values, sort_keys=True, default=str)
    return "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _field_type(column: pd.Series) -> str:
    """The Vega-Lite type Altair infers for a column named without one.

    Altair infers it from the table when the chart is written out, which a named data set
    does not allow. (An ordered category's order, which Altair would add as a sort, is
    not kept: no chart names one without a type.)
    """
    inferred = infer_vegalite_type_for_pandas(column)
    return inferred[0] if isinstance(inferred, tuple) else inferred


def _plain(frame: object) -> bool:
    """A table whose data Altair can inline: flat, with text column names."""
    return (
        isinstance(frame, pd.DataFrame)
        and not isinstance(frame.index, pd.MultiIndex)
        and not isinstance(frame.columns, pd.MultiIndex)
        and all(isinstance(name, str) for name in frame.columns)
    )


class _NamedDatasets(dict):
    """Data sets made by :func:`with_named_data`: values already as Python's, ready for JSON."""


def with_named_data(chart: _C) -> _C:
    """The chart with each layer's table replaced by a named data set held at its top.

    The specification is the one Altair makes (Altair too gathers inline data into named
    data sets at the top level, under the same names), made faster: Altair copies each
    table and converts it cell by cell, and compares layers' tables by printing them,
    which took two thirds of the time to draw a chart. Charts over Altair's row limit
    raise its error, as before; with another data transformer enabled, nothing changes.
    Changes the chart (and its layers) in place, and returns it.
    """
    if alt.data_transformers.active != "default":
        return chart
    max_rows = alt.data_transformers.options.get("max_rows", 5000)
    datasets: dict[str, list[dict]] = {}
    names: dict[int, str] = {}

    def name_data(view: alt.TopLevelMixin) -> None:
        data = getattr(view, "data", alt.Undefined)
        if _plain(data):
            if id(data) not in names:
                if max_rows is not None and len(data) > max_rows:
                    # Altair's own error (its check of a table's type and length, made
                    # for every table, cost more than naming the data set).
                    alt.utils.data.limit_rows(data, max_rows=max_rows)
                values = data_values(data)
                names[id(data)] = dataset_name(values)
                datasets[names[id(data)]] = values
            view.data = alt.NamedData(name=names[id(data)])
        layers = getattr(view, "layer", alt.Undefined)
        for layer in [] if layers is alt.Undefined else layers:
            name_data(layer)

    name_data(chart)
    if datasets:
        held = getattr(chart, "datasets", alt.Undefined)
        chart.datasets = _NamedDatasets({**({} if held is alt.Undefined else held), **datasets})
    return chart


def specification(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite specification, unvalidated: ``chart.to_dict(validate=False)``.

    Altair walks a chart's data sets value by value to turn NumPy's numbers into
    Python's, which took longer than the rest of the chart; the data sets
    :func:`with_named_data` makes hold Python's values already, so they are left out of
    that walk and put back after it (as Altair puts back those it gathers). Validation is left to the tests,
    which validate every chart the pages draw.
    """
    held = getattr(chart, "datasets", alt.Undefined)
    if not isinstance(held, _NamedDatasets):
        return chart.to_dict(validate=False)
    spec = chart.to_dict(validate=False, ignore=["datasets"])
    spec["datasets"] = {**spec.get("datasets", {}), **held}
    return spec


def _layer(*layers: alt.Chart, **properties: object) -> alt.LayerChart:
    """``alt.layer(*layers).properties(**properties)``, made without its slow steps.

    Altair moves a table every layer shares to the top after naming each layer by a
    digest of its printed table (a name these charts never use), and ``properties``
    validates and copies the whole chart again; here the shared table goes to the top
    directly and the properties are given at once. The specification is the same.
    """
    shared = layers[0].data if layers else alt.Undefined
    if isinstance(shared, pd.DataFrame) and all(layer.data is shared for layer in layers):
        bare = [layer.copy(deep=False) for layer in layers]
        for layer in bare:
            layer.data = alt.Undefined
        if all(_plain_layer(layer) for layer in bare):
            return _layer_chart(bare, data=shared, **properties)
        return alt.layer(*bare, data=shared, **properties)
    if layers and all(_plain_layer(layer) for layer in layers):
        # Layers with tables of their own: Altair leaves each table on its layer.
        return _layer_chart(list(layers), **properties)
    return alt.layer(*layers, **properties)


#: What ``alt.LayerChart`` moves from its layers to the top, or merges across them.
_LIFTED = ("params", "height", "width", "view")


def _plain_layer(layer: object) -> bool:
    """A unit chart with nothing ``alt.LayerChart`` would move, merge or rename.

    (A table shared by every layer is lifted by :func:`_layer` itself.)
    """
    return type(layer) is alt.Chart and all(layer._get(name) is alt.Undefined for name in _LIFTED)


class _PlainLayerChart(alt.LayerChart):
    """``alt.LayerChart`` of plain layers (:func:`_plain_layer`), made without its searches.

    For such layers Altair's constructor only deep-copies each layer twice, looking for
    parameters to merge and properties to lift that are not there: about a quarter of
    the time to build a chart. Every copy of a chart goes through its constructor too
    (``to_dict`` makes one), so a plain ``alt.LayerChart`` paid that search again for
    each specification. The layers are this module's own, made for this chart alone, so
    they are held as they are. The specification is the same (a test compares them).
    """

    def __init__(self, *args: object, **properties: object) -> None:
        alt.TopLevelLayerSpec.__init__(self, *args, **properties)


def _layer_chart(layers: list[alt.Chart], **properties: object) -> alt.LayerChart:
    """``alt.LayerChart(layer=layers, **properties)`` for plain layers (:func:`_plain_layer`)."""
    return _PlainLayerChart(layer=list(layers), **properties)


def _named_data(build: Callable[_P, _C]) -> Callable[_P, _C]:
    """A chart builder whose charts carry their tables as named data sets (:func:`with_named_data`)."""

    @functools.wraps(build)
    def built(*args: _P.args, **kwargs: _P.kwargs) -> _C:
        # Altair validates each part (scale, axis, legend) as it is made, a fifth of the
        # time to build a chart; the tests validate the whole specification instead.
        # (Altair turns the same switch off while it copies a chart.)
        with alt.utils.schemapi.debug_mode(False):
            return with_named_data(build(*args, **kwargs))

    return built


def heading(title: str, subtitle: str = "") -> alt.Title:
    """A chart title that states the finding, wrapped onto lines rather than truncated."""
    lines = textwrap.wrap(title, TITLE_WIDTH) or [""]
    sub = textwrap.wrap(subtitle, int(TITLE_WIDTH * 1.3)) if subtitle else []
    return alt.Title(lines, subtitle=sub or None, anchor="start", subtitleColor=TEXT)


def short_group(characteristic: str, group: str) -> str:
    """The short chart label of a group (the table gives the full harmonised wording)."""
    return CHARACTERISTICS[characteristic].short_label(group)


def _with_labels(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["label"] = [
        short_group(c, g) for c, g in zip(out["characteristic"], out["group"], strict=True)
    ]
    return out


#: How event rates are shown unless a chart says otherwise: per 100 person-periods.
EVENTS_PER_100 = (100.0, "Per 100 prisoner-quarters")


def _rate_format(kind: str, per: tuple[float, str] | None) -> tuple[float, str, str, str]:
    """Scale, tooltip format, axis format and axis title for a rate of this kind."""
    if kind == "proportion":
        return 1.0, ".1%", ".1~%", "Rate"
    scale, words = per or EVENTS_PER_100
    return scale, ".2f", ".2~f", words


def _series_colour(data: pd.DataFrame) -> tuple[alt.Color | alt.ColorValue, dict]:
    """Two-series colours and a vertical offset when ``series`` holds more than one value."""
    if "series" in data.columns and data["series"].nunique() > 1:
        colour = alt.Color(
            "series:N",
            scale=alt.Scale(range=list(TWO_SERIES)),
            legend=alt.Legend(title=None, orient="bottom"),
        )
        return colour, {"yOffset": alt.YOffset("series:N")}
    return alt.ColorValue(FOCUS), {}


def _log_domain(low: pd.Series, high: pd.Series) -> list[float]:
    """A log-scale domain that holds every interval and 0.5 to 2, with no wasted decades."""
    lows = pd.to_numeric(low, errors="coerce").replace(0, np.nan)
    highs = pd.to_numeric(high, errors="coerce").replace(np.inf, np.nan)
    bottom = min(0.5, float(lows.min()) / 1.1) if lows.notna().any() else 0.5
    top = max(2.0, float(highs.max()) * 1.1) if highs.notna().any() else 2.0
    return [max(bottom, 0.02), min(top, 50.0)]


def _reference_layers(tolerance: tuple[float, float], scale: alt.Scale) -> list[alt.Chart]:
    """The shaded tolerance band and the line at 1 behind a forest plot."""
    band = (
        alt.Chart(pd.DataFrame({"low": [tolerance[0]], "high": [tolerance[1]]}))
        .mark_rect(color=CONTEXT, opacity=0.35)
        .encode(x=alt.X("low:Q", scale=scale), x2=alt.X2("high:Q"))
    )
    one = (
        alt.Chart(pd.DataFrame({"x": [1.0]}))
        .mark_rule(color=TEXT)
        .encode(x=alt.X("x:Q", scale=scale))
    )
    return [band, one]


@_named_data
def forest_plot(
    table: pd.DataFrame,
    *,
    title: str,
    subtitle: str,
    tolerance: tuple[float, float],
    step: int = 30,
) -> alt.LayerChart:
    """Relative rate of each group against the comparator, with its 95% interval.

    ``table`` may hold a ``series`` column (for example an establishment and England and Wales)
    drawn in the two-series colours, side by side. The tolerance band is shaded; a
    log scale makes 0.5 and 2 equally far from 1.
    """
    data = _with_labels(table[table["flag"].astype(str) != "comparator"])
    data = data.dropna(subset=["relative_rate"])
    if "flag_words" not in data.columns:
        data["flag_words"] = data["flag"].astype(str).map(FLAG_SYMBOLS)
    colour, offset = _series_colour(data)
    scale = alt.Scale(type="log", domain=_log_domain(data["rr_low"], data["rr_high"]), nice=False)
    x = alt.X(
        "relative_rate:Q",
        title="Relative rate (1 = same rate as comparator; log scale)",
        scale=scale,
    )
    y = alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        *([alt.Tooltip("series:N", title="Population")] if offset else []),
        alt.Tooltip("numerator:Q", title="Numerator", format=","),
        alt.Tooltip("denominator:Q", title="Denominator", format=","),
        alt.Tooltip("relative_rate:Q", title="Relative rate", format=".2f"),
        alt.Tooltip("rr_low:Q", title="95% interval from", format=".2f"),
        alt.Tooltip("rr_high:Q", title="95% interval to", format=".2f"),
        alt.Tooltip("p_adjusted:Q", title="Adjusted p-value", format=".3g"),
        alt.Tooltip("flag_words:N", title="Flag"),
    ]
    whiskers = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2, clip=True)
        .encode(
            x=alt.X("rr_low:Q", scale=scale), x2=alt.X2("rr_high:Q"), y=y, color=colour, **offset
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=110, opacity=1, clip=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=alt.Shape(
                "flag:N",
                # The comparator is the line at 1, not a point: its shape is not listed.
                scale=alt.Scale(domain=FOREST_FLAGS, range=[FLAG_SHAPES[f] for f in FOREST_FLAGS]),
                legend=alt.Legend(title="Flag", orient="bottom", columns=2),
            ),
            tooltip=tooltip,
            **offset,
        )
    )
    return _layer(
        *_reference_layers(tolerance, scale),
        whiskers,
        points,
        title=heading(title, subtitle),
        height=alt.Step(step - 2 if offset else step),
    )


@_named_data
def adjusted_forest_plot(
    table: pd.DataFrame, *, title: str, subtitle: str, tolerance: tuple[float, float]
) -> alt.LayerChart:
    """Crude and adjusted relative rates of each measure side by side, with intervals.

    ``table`` has one row per measure and series (``Crude`` or ``Adjusted ...``) with
    ``measure_label``, ``ratio``, ``low`` and ``high``. Series differ by colour and shape.
    """
    data = table.dropna(subset=["ratio"])
    scale = alt.Scale(type="log", domain=_log_domain(data["low"], data["high"]), nice=False)
    y = alt.Y("measure_label:N", title=None, sort=None, axis=alt.Axis(labelLimit=260))
    colour = alt.Color(
        "series:N",
        scale=alt.Scale(range=list(TWO_SERIES)),
        legend=alt.Legend(title=None, orient="bottom", labelLimit=400),
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2, clip=True)
        .encode(
            x=alt.X("low:Q", scale=scale),
            x2=alt.X2("high:Q"),
            y=y,
            yOffset=alt.YOffset("series:N"),
            color=colour,
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=90, clip=True)
        .encode(
            x=alt.X("ratio:Q", title="Relative rate (1 = same rate; log scale)", scale=scale),
            y=y,
            yOffset=alt.YOffset("series:N"),
            color=colour,
            shape=alt.Shape("series:N", scale=alt.Scale(range=["circle", "square"]), legend=None),
            tooltip=[
                alt.Tooltip("measure_label:N", title="Measure"),
                alt.Tooltip("series:N", title="Estimate"),
                alt.Tooltip("ratio:Q", title="Relative rate", format=".2f"),
                alt.Tooltip("low:Q", title="95% interval from", format=".2f"),
                alt.Tooltip("high:Q", title="95% interval to", format=".2f"),
            ],
        )
    )
    return _layer(
        *_reference_layers(tolerance, scale),
        whiskers,
        points,
        title=heading(title, subtitle),
        height=alt.Step(20),
    )


@_named_data
def rates_chart(
    table: pd.DataFrame,
    *,
    title: str,
    subtitle: str,
    kind: str,
    per: tuple[float, str] | None = None,
) -> alt.LayerChart:
    """Rate of each group with its 95% interval; the axis starts at zero.

    Event rates are drawn per 100 person-periods unless ``per`` gives another
    ``(multiplier, axis title)``, such as ``(4000, "Per 1,000 prisoner-years")``.
    """
    data = _with_labels(table.dropna(subset=["rate"]))
    if "flag_words" not in data.columns:
        data["flag_words"] = (
            data["flag"]
            .astype("string")
            .fillna("not declared")
            .map(lambda f: FLAG_SYMBOLS.get(f, f))
        )
    scale, tip_format, axis_format, axis_title = _rate_format(kind, per)
    data["shown_rate"] = data["rate"] * scale
    data["shown_low"] = data["rate_low"] * scale
    data["shown_high"] = data["rate_high"] * scale
    colour, offset = _series_colour(data)
    y = alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        *([alt.Tooltip("series:N", title="Population")] if offset else []),
        alt.Tooltip("numerator:Q", title="Numerator", format=","),
        alt.Tooltip("denominator:Q", title="Denominator", format=","),
        alt.Tooltip("shown_rate:Q", title="Rate", format=tip_format),
        alt.Tooltip("shown_low:Q", title="95% interval from", format=tip_format),
        alt.Tooltip("shown_high:Q", title="95% interval to", format=tip_format),
        alt.Tooltip("flag_words:N", title="Flag"),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X(
                "shown_rate:Q",
                title=axis_title,
                axis=alt.Axis(format=axis_format),
                scale=alt.Scale(zero=True),
            ),
            y=y,
            color=colour,
            tooltip=tooltip,
            **offset,
        )
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(color=TEXT, strokeWidth=1.5)
        .encode(x=alt.X("shown_low:Q"), x2=alt.X2("shown_high:Q"), y=y, **offset)
    )
    return _layer(
        bars, whiskers, title=heading(title, subtitle), height=alt.Step(26 if offset else 28)
    )


@_named_data
def trend_chart(table: pd.DataFrame, *, title: str, subtitle: str, kind: str) -> alt.LayerChart:
    """Rate of (at most four) groups over time, each with its 95% interval as a band."""
    data = _with_labels(table.dropna(subset=["rate"]))
    scale, tip_format, axis_format, axis_title = _rate_format(kind, None)
    for column in ("rate", "rate_low", "rate_high"):
        data[f"shown_{column}"] = data[column] * scale
    groups = list(dict.fromkeys(data["label"]))[:4]
    colour = alt.Color(
        "label:N",
        scale=alt.Scale(domain=groups, range=list(PALETTE[: len(groups)])),
        legend=alt.Legend(title=None, orient="right", symbolType="stroke", symbolStrokeWidth=2),
    )
    x = alt.X("period:O", title=None, axis=alt.Axis(labelAngle=-45, labelOverlap="greedy"))
    base = alt.Chart(data[data["label"].isin(groups)])
    # The band is coloured through ``fill`` with no legend of its own, so that the legend
    # shows the lines (solid symbols), not the faint bands.
    band = base.mark_area(opacity=0.12).encode(
        x=x,
        y=alt.Y("shown_rate_low:Q"),
        y2=alt.Y2("shown_rate_high:Q"),
        fill=alt.Fill(
            "label:N",
            scale=alt.Scale(domain=groups, range=list(PALETTE[: len(groups)])),
            legend=None,
        ),
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y(
            "shown_rate:Q",
            title=axis_title,
            axis=alt.Axis(format=axis_format),
            scale=alt.Scale(zero=True),
        ),
        color=colour,
        # Line style as well as colour tells the groups apart; one legend shows both.
        strokeDash=alt.StrokeDash(
            "label:N",
            scale=alt.Scale(domain=groups),
            legend=alt.Legend(title=None, orient="right", symbolType="stroke", symbolStrokeWidth=2),
        ),
        tooltip=[
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("numerator:Q", title="Numerator", format=","),
            alt.Tooltip("denominator:Q", title="Denominator", format=","),
            alt.Tooltip("shown_rate:Q", title="Rate", format=tip_format),
            alt.Tooltip("shown_rate_low:Q", title="95% interval from", format=tip_format),
            alt.Tooltip("shown_rate_high:Q", title="95% interval to", format=tip_format),
        ],
    )
    return _layer(
        band,
        line,
        resolve=alt.Resolve(legend=alt.LegendResolveMap(fill="independent")),
        title=heading(title, subtitle),
        height=340,
    )


@_named_data
def funnel_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, highlight: str | None, unit: str
) -> alt.LayerChart:
    """Each unit's rate against its denominator, with 95% and 99.8% control limits."""
    data = table.copy()
    data["highlighted"] = data[unit].astype(str) == (highlight or "")
    data["status"] = data["highlighted"].map({True: "Selected", False: "Other"})
    limits = data.sort_values("denominator")
    x = alt.X("denominator:Q", title="Denominator (people)", scale=alt.Scale(zero=True))
    lines = [
        alt.Chart(limits)
        .mark_line(color=TEXT, strokeDash=dash, strokeWidth=1)
        .encode(x=x, y=alt.Y(f"{column}:Q"))
        for column, dash in (
            ("lower_95", [4, 3]),
            ("upper_95", [4, 3]),
            ("lower_998", [1, 0]),
            ("upper_998", [1, 0]),
        )
    ]
    centre = (
        alt.Chart(limits)
        .mark_rule(color=TEXT, strokeWidth=1)
        .encode(y=alt.Y("mean(national_rate):Q"))
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("rate:Q", title="Rate", axis=alt.Axis(format=".1~%")),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=["Selected", "Other"], range=[FOCUS, CONTEXT]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            size=alt.Size(
                "status:N",
                scale=alt.Scale(domain=["Selected", "Other"], range=[220, 50]),
                legend=None,
            ),
            shape=alt.Shape(
                "status:N",
                scale=alt.Scale(domain=["Selected", "Other"], range=["diamond", "circle"]),
                legend=None,
            ),
            order=alt.Order("highlighted:Q"),
            tooltip=[
                alt.Tooltip("name:N", title="Name"),
                alt.Tooltip(f"{unit}:N", title="Code"),
                alt.Tooltip("numerator:Q", title="Numerator", format=","),
                alt.Tooltip("denominator:Q", title="Denominator", format=","),
                alt.Tooltip("rate:Q", title="Rate", format=".1%"),
                alt.Tooltip("position:N", title="Position"),
            ],
        )
    )
    return _layer(*lines, centre, points, title=heading(title, subtitle), height=340)


@_named_data
def matrix_chart(table: pd.DataFrame, *, title: str, subtitle: str) -> alt.LayerChart:
    """The Equality Monitoring Tool matrix: measure by group, cell = relative rate and flag."""
    data = _with_labels(table)
    data["flag"] = data["flag"].astype("string").fillna("not declared")
    data["cell"] = [
        "[c]"
        if f == "[c]"
        else ("ref." if f == "comparator" else ("" if pd.isna(r) else f"{r:.2f}"))
        + {"higher": " ▲", "lower": " ▼"}.get(f, "")
        for r, f in zip(data["relative_rate"], data["flag"], strict=True)
    ]
    data["interval"] = [
        "" if pd.isna(low) else f"{low:.2f} to {high:.2f}"
        for low, high in zip(data["rr_low"], data["rr_high"], strict=True)
    ]
    if "flag_words" not in data.columns:
        data["flag_words"] = data["flag"].map(lambda f: FLAG_SYMBOLS.get(f, f))
    if "meaning" not in data.columns:
        data["meaning"] = data["flag"]
    # A flag's colour says what it means for the person, as everywhere; other cells are
    # white or grey, and every cell also carries its words (▲/▼ and the tooltip).
    domain = [
        "adverse",
        "favourable",
        "neutral",
        "within band",
        "no difference",
        "too few",
        "comparator",
        "[c]",
    ]
    colours = [
        DIRECTION_COLOURS["adverse"],
        DIRECTION_COLOURS["favourable"],
        DIRECTION_COLOURS["neutral"],
        "#F2F2F2",
        "#FFFFFF",
        "#E6E6E6",
        "#BFBFBF",
        "#E6E6E6",
    ]
    base = alt.Chart(data).encode(
        x=alt.X("label:N", title=None, sort=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("measure_label:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
    )
    cells = base.mark_rect(stroke=CONTEXT).encode(
        color=alt.Color(
            "meaning:N",
            scale=alt.Scale(domain=domain, range=colours),
            legend=alt.Legend(title="Cell", orient="bottom", columns=4),
        ),
        tooltip=[
            alt.Tooltip("measure_label:N", title="Measure"),
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("numerator:Q", title="Numerator", format=","),
            alt.Tooltip("denominator:Q", title="Denominator", format=","),
            alt.Tooltip("cell:N", title="Relative rate"),
            alt.Tooltip("interval:N", title="95% interval"),
            alt.Tooltip("flag_words:N", title="Flag"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("cell:N"),
        color=alt.ColorValue(
            **alt.condition(
                alt.FieldOneOfPredicate(field="meaning", oneOf=["favourable", "neutral"]),
                alt.value("#FFFFFF"),
                alt.value("#0B0C0C"),
            )
        ),
    )
    return _layer(cells, text, title=heading(title, subtitle), height=alt.Step(30))


@_named_data
def flags_chart(table: pd.DataFrame, *, title: str, subtitle: str) -> alt.Chart:
    """Number of groups flagged higher and lower in each period (two series, two dashes)."""
    long = table.melt(
        id_vars="period", value_vars=["higher", "lower"], var_name="flag", value_name="groups"
    )
    long["groups"] = long["groups"].astype("int64")
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=-45, labelOverlap="greedy")),
            y=alt.Y(
                "groups:Q",
                title="Groups flagged",
                scale=alt.Scale(zero=True),
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            color=alt.Color(
                "flag:N",
                scale=alt.Scale(domain=["higher", "lower"], range=list(TWO_SERIES)),
                legend=alt.Legend(title=None, orient="right"),
            ),
            strokeDash=alt.StrokeDash(
                "flag:N", scale=alt.Scale(domain=["higher", "lower"], range=[[1, 0], [5, 3]])
            ),
            shape=alt.Shape(
                "flag:N",
                scale=alt.Scale(domain=["higher", "lower"], range=["triangle-up", "triangle-down"]),
            ),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("flag:N", title="Flag"),
                alt.Tooltip("groups:Q", title="Groups flagged"),
            ],
        )
        .properties(title=heading(title, subtitle), height=320)
    )


@_named_data
def share_by_year_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, y_title: str
) -> alt.LayerChart:
    """A share per year with its 95% interval, on an axis from 0 to 100%.

    ``table`` has ``year``, ``share``, ``low``, ``high`` and the counts for the tooltip.
    """
    # Each field's type as Altair reads it from the table (the data go by name).
    tooltip = [
        alt.Tooltip(field=c, type=_field_type(table[c]), title=c.replace("_", " ").capitalize())
        for c in table.columns
        if c not in ("share", "low", "high")
    ] + [alt.Tooltip("share:Q", title="Share", format=".1%")]
    bars = (
        alt.Chart(table)
        .mark_bar(color=FOCUS)
        .encode(
            x=alt.X("year:O", title=None),
            y=alt.Y(
                "share:Q",
                title=y_title,
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=tooltip,
        )
    )
    whiskers = (
        alt.Chart(table)
        .mark_rule(color=TEXT)
        .encode(x=alt.X("year:O"), y=alt.Y("low:Q"), y2=alt.Y2("high:Q"))
    )
    return _layer(bars, whiskers, title=heading(title, subtitle), height=320)


@_named_data
def representation_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, group_label: str, benchmark: float | None
) -> alt.LayerChart:
    """One group's share of staff in each grade, with intervals and the benchmark as a line."""
    order = ["All grades", *STAFF_GRADES]
    data = table.assign(grade=table["grade"].astype(str))
    y = alt.Y("grade:N", sort=order, title=None)
    bars = (
        alt.Chart(data)
        .mark_bar(color=FOCUS)
        .encode(
            x=alt.X(
                "share:Q",
                title=f"Share of staff who declared who are {group_label}",
                axis=alt.Axis(format=".1~%"),
                scale=alt.Scale(zero=True),
            ),
            y=y,
            tooltip=[
                alt.Tooltip("grade:N", title="Grade"),
                alt.Tooltip("count:Q", title="Staff in group", format=","),
                alt.Tooltip("total:Q", title="Staff who declared", format=","),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("share_low:Q", title="95% interval from", format=".1%"),
                alt.Tooltip("share_high:Q", title="95% interval to", format=".1%"),
                alt.Tooltip("benchmark_share:Q", title="Benchmark", format=".1%"),
            ],
        )
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(color=TEXT)
        .encode(x=alt.X("share_low:Q"), x2=alt.X2("share_high:Q"), y=y)
    )
    layers: list[alt.Chart] = [bars, whiskers]
    if "suppressed" in data.columns and data["suppressed"].any():
        # A hidden grade keeps its row, marked [c], so it is never silently missing.
        hidden = data[data["suppressed"].astype(bool)].assign(x=0.0, text="[c]")
        layers.append(
            alt.Chart(hidden)
            .mark_text(align="left", dx=4, color=TEXT, fontSize=12)
            .encode(x=alt.X("x:Q"), y=y, text=alt.Text("text:N"))
        )
    if benchmark is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [benchmark]}))
            .mark_rule(strokeDash=[5, 3], color=PALETTE[3], strokeWidth=2)
            .encode(x=alt.X("x:Q"))
        )
    return _layer(*layers, title=heading(title, subtitle), height=alt.Step(24))


@_named_data
def distribution_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, categories: list[str], category: str
) -> alt.Chart:
    """Each group's distribution over ordered categories, as 100% stacked bars.

    ``table`` has ``label``, ``group``, the ``category`` column, ``numerator`` and
    ``share``; categories are stacked in the order given (best first for markings).
    """
    data = table.copy()
    data["order"] = data[category].map({c: i for i, c in enumerate(categories)})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", stack="normalize", title="Share", axis=alt.Axis(format=".0%")),
            y=alt.Y("label:N", title=None, sort=None),
            color=alt.Color(
                f"{category}:N",
                scale=alt.Scale(domain=categories, range=list(PALETTE[: len(categories)])),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("group:N", title="Group"),
                alt.Tooltip(f"{category}:N", title=category.replace("_", " ").capitalize()),
                alt.Tooltip("numerator:Q", title="Count", format=","),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(title=heading(title, subtitle), height=alt.Step(28))
    )


@_named_data
def difference_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, y_title: str
) -> alt.LayerChart:
    """A difference in means over time with its 95% interval as a band, and the zero line."""
    line = (
        alt.Chart(table)
        .mark_line(point=True, color=FOCUS)
        .encode(
            x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0, labelOverlap="greedy")),
            y=alt.Y("difference:Q", title=y_title),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("difference:Q", title="Difference", format="+.1f"),
                alt.Tooltip("low:Q", title="95% interval from", format="+.1f"),
                alt.Tooltip("high:Q", title="95% interval to", format="+.1f"),
                alt.Tooltip("p_value:Q", title="p-value (Welch)", format=".3g"),
            ],
        )
    )
    band = (
        alt.Chart(table)
        .mark_area(opacity=0.2, color=FOCUS)
        .encode(x=alt.X("period:O"), y=alt.Y("low:Q"), y2=alt.Y2("high:Q"))
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color=TEXT).encode(y=alt.Y("y:Q"))
    return _layer(band, line, zero, title=heading(title, subtitle), height=360)


@_named_data
def grouped_bars_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, x: str, x_title: str
) -> alt.Chart:
    """Two groups' shares side by side over ordered bands (for example days to adjust)."""
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=x_title, sort=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("share:Q", title="Share", axis=alt.Axis(format=".0%")),
            xOffset=alt.XOffset("group:N"),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(range=list(TWO_SERIES)),
                legend=alt.Legend(title=None, orient="right"),
            ),
            tooltip=[
                alt.Tooltip("group:N", title="Group"),
                alt.Tooltip(f"{x}:N", title=x_title),
                alt.Tooltip("numerator:Q", title="Count", format=","),
                alt.Tooltip("share:Q", title="Share", format=".0%"),
            ],
        )
        .properties(title=heading(title, subtitle), height=320)
    )


@_named_data
def declaration_chart(table: pd.DataFrame, *, title: str, target: float) -> alt.LayerChart:
    """Declaration rate of each characteristic with its interval and the target line.

    Whether a bar meets the target is told by colour and by the legend's words, and the
    dashed target line makes it readable without colour.
    """
    y = alt.Y("label:N", title=None, sort=None)
    bars = (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X(
                "declaration_rate:Q",
                title="Share of records with a declared value",
                axis=alt.Axis(format=".0%", values=[i / 10 for i in range(11)]),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=y,
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=[f"Meets the {target:.0%} target", f"Below the {target:.0%} target"],
                    range=list(TWO_SERIES),
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Characteristic"),
                alt.Tooltip("declared:Q", title="Declared", format=","),
                alt.Tooltip("records:Q", title="Records", format=","),
                alt.Tooltip("declaration_rate:Q", title="Declaration rate", format=".1%"),
                alt.Tooltip("status:N", title="Target"),
            ],
        )
    )
    whiskers = (
        alt.Chart(table)
        .mark_rule(color=TEXT)
        .encode(x=alt.X("rate_low:Q"), x2=alt.X2("rate_high:Q"), y=y)
    )
    line = (
        alt.Chart(pd.DataFrame({"x": [target]}))
        .mark_rule(strokeDash=[4, 3], color="#0B0C0C")
        .encode(x=alt.X("x:Q"))
    )
    return _layer(
        bars,
        whiskers,
        line,
        title=heading(title, f"Dashed line: the {target:.0%} target"),
        height=alt.Step(26),
    )
