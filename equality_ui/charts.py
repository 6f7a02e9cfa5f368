"""Altair charts in the Government Analysis Function's accessible palette.

Every chart takes a result table that has already been through disclosure control
(suppressed rows are dropped before plotting, and the caller says so beside the chart),
carries a title that states the finding, draws its intervals, never encodes meaning by
colour alone (flags also have a shape and words) and never uses red against green.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from equality_core.schema import CHARACTERISTICS

#: Analysis Function categorical palette, in order.
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
TWO_SERIES = ("#12436D", "#F46A25")
FOCUS, CONTEXT = "#12436D", "#BFBFBF"
SEQUENTIAL = ("#12436D", "#2073BC", "#6BACE6")

#: Each flag has a shape and a word as well as a colour.
FLAG_SHAPES = {
    "higher": "triangle-up",
    "lower": "triangle-down",
    "no difference": "circle",
    "too few": "square",
    "comparator": "diamond",
}
FLAG_COLOURS = {
    "higher": "#12436D",
    "lower": "#F46A25",
    "no difference": "#3D3D3D",
    "too few": "#BFBFBF",
    "comparator": "#28A197",
}
FLAG_SYMBOLS = {
    "higher": "▲ higher",
    "lower": "▼ lower",
    "no difference": "● no difference",
    "too few": "■ too few",
    "comparator": "◆ comparator",
}


def short_group(characteristic: str, group: str) -> str:
    """The short chart label of a group (the table gives the full harmonised wording)."""
    return CHARACTERISTICS[characteristic].short_label(group)


def _with_labels(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["label"] = [
        short_group(c, g) for c, g in zip(out["characteristic"], out["group"], strict=True)
    ]
    return out


def _percent(kind: str) -> str:
    return ".1%" if kind == "proportion" else ".2f"


def forest_plot(
    table: pd.DataFrame, *, title: str, subtitle: str, tolerance: tuple[float, float]
) -> alt.LayerChart:
    """Relative rate of each group against the comparator, with its 95% interval.

    ``table`` may hold a ``series`` column (for example "Establishment" and "National")
    drawn in the two-series colours, side by side. The tolerance band is shaded; a
    log scale makes 0.5 and 2 equally far from 1.
    """
    data = _with_labels(table[table["flag"].astype(str) != "comparator"])
    data = data.dropna(subset=["relative_rate"])
    data["flag_words"] = data["flag"].astype(str).map(FLAG_SYMBOLS)
    series = "series" in data.columns and data["series"].nunique() > 1
    log_scale = alt.Scale(type="log", domainMid=1)
    x = alt.X(
        "relative_rate:Q",
        title="Relative rate (1 = same rate as comparator; log scale)",
        scale=log_scale,
    )
    y = alt.Y("label:N", title=None, sort=None)
    colour = (
        alt.Color(
            "series:N", scale=alt.Scale(range=list(TWO_SERIES)), legend=alt.Legend(title=None)
        )
        if series
        else alt.value(FOCUS)
    )
    offset = {"yOffset": alt.YOffset("series:N")} if series else {}
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        *([alt.Tooltip("series:N", title="Population")] if series else []),
        alt.Tooltip("numerator:Q", title="Numerator", format=","),
        alt.Tooltip("denominator:Q", title="Denominator", format=","),
        alt.Tooltip("relative_rate:Q", title="Relative rate", format=".2f"),
        alt.Tooltip("rr_low:Q", title="95% interval from", format=".2f"),
        alt.Tooltip("rr_high:Q", title="95% interval to", format=".2f"),
        alt.Tooltip("p_adjusted:Q", title="Adjusted p-value", format=".3g"),
        alt.Tooltip("flag_words:N", title="Flag"),
    ]
    band = (
        alt.Chart(pd.DataFrame({"low": [tolerance[0]], "high": [tolerance[1]]}))
        .mark_rect(color=CONTEXT, opacity=0.35)
        .encode(x="low:Q", x2="high:Q")
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#3D3D3D").encode(x="x:Q")
    bars = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(x=alt.X("rr_low:Q", scale=log_scale), x2="rr_high:Q", y=y, color=colour, **offset)
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=110, opacity=1)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=alt.Shape(
                "flag:N",
                scale=alt.Scale(domain=list(FLAG_SHAPES), range=list(FLAG_SHAPES.values())),
                legend=alt.Legend(title="Flag"),
            ),
            tooltip=tooltip,
            **offset,
        )
    )
    return alt.layer(band, one, bars, points).properties(
        title=alt.Title(title, subtitle=subtitle, anchor="start"),
        height=alt.Step(28 if series else 30),
    )


def rates_chart(table: pd.DataFrame, *, title: str, subtitle: str, kind: str) -> alt.LayerChart:
    """Rate of each group with its 95% interval; the axis starts at zero."""
    data = _with_labels(table.dropna(subset=["rate"]))
    data["flag_words"] = (
        data["flag"].astype("string").fillna("not declared").map(lambda f: FLAG_SYMBOLS.get(f, f))
    )
    scale = 100 if kind == "event" else 1
    data["shown_rate"] = data["rate"] * scale
    data["shown_low"] = data["rate_low"] * scale
    data["shown_high"] = data["rate_high"] * scale
    fmt = ".1%" if kind == "proportion" else ".1f"
    axis_title = "Rate" if kind == "proportion" else "Per 100 prisoner-quarters"
    series = "series" in data.columns and data["series"].nunique() > 1
    colour = (
        alt.Color(
            "series:N", scale=alt.Scale(range=list(TWO_SERIES)), legend=alt.Legend(title=None)
        )
        if series
        else alt.value(FOCUS)
    )
    offset = {"yOffset": alt.YOffset("series:N")} if series else {}
    y = alt.Y("label:N", title=None, sort=None)
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        *([alt.Tooltip("series:N", title="Population")] if series else []),
        alt.Tooltip("numerator:Q", title="Numerator", format=","),
        alt.Tooltip("denominator:Q", title="Denominator", format=","),
        alt.Tooltip("shown_rate:Q", title="Rate", format=fmt),
        alt.Tooltip("shown_low:Q", title="95% interval from", format=fmt),
        alt.Tooltip("shown_high:Q", title="95% interval to", format=fmt),
        alt.Tooltip("flag_words:N", title="Flag"),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X(
                "shown_rate:Q",
                title=axis_title,
                axis=alt.Axis(format=".0%" if kind == "proportion" else ".1f"),
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
        .mark_rule(color="#3D3D3D", strokeWidth=1.5)
        .encode(x="shown_low:Q", x2="shown_high:Q", y=y, **offset)
    )
    return alt.layer(bars, whiskers).properties(
        title=alt.Title(title, subtitle=subtitle, anchor="start"),
        height=alt.Step(26 if series else 28),
    )


def trend_chart(table: pd.DataFrame, *, title: str, subtitle: str, kind: str) -> alt.LayerChart:
    """Rate of (at most four) groups over time, each with its 95% interval as a band."""
    data = _with_labels(table.dropna(subset=["rate"]))
    scale = 100 if kind == "event" else 1
    for column in ("rate", "rate_low", "rate_high"):
        data[f"shown_{column}"] = data[column] * scale
    fmt = ".1%" if kind == "proportion" else ".1f"
    groups = list(dict.fromkeys(data["label"]))[:4]
    colour = alt.Color(
        "label:N",
        scale=alt.Scale(domain=groups, range=list(PALETTE[: len(groups)])),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X("period:O", title=None, axis=alt.Axis(labelAngle=-45))
    base = alt.Chart(data[data["label"].isin(groups)])
    band = base.mark_area(opacity=0.15).encode(
        x=x, y="shown_rate_low:Q", y2="shown_rate_high:Q", color=colour
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y(
            "shown_rate:Q",
            title="Rate" if kind == "proportion" else "Per 100 prisoner-quarters",
            axis=alt.Axis(format=".0%" if kind == "proportion" else ".1f"),
            scale=alt.Scale(zero=True),
        ),
        color=colour,
        strokeDash=alt.StrokeDash("label:N", legend=None),
        tooltip=[
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("numerator:Q", title="Numerator", format=","),
            alt.Tooltip("denominator:Q", title="Denominator", format=","),
            alt.Tooltip("shown_rate:Q", title="Rate", format=fmt),
            alt.Tooltip("shown_rate_low:Q", title="95% interval from", format=fmt),
            alt.Tooltip("shown_rate_high:Q", title="95% interval to", format=fmt),
        ],
    )
    return alt.layer(band, line).properties(
        title=alt.Title(title, subtitle=subtitle, anchor="start"), height=300
    )


def funnel_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, highlight: str | None, unit: str
) -> alt.LayerChart:
    """Each unit's rate against its denominator, with 95% and 99.8% control limits."""
    data = table.copy()
    data["highlighted"] = data[unit].astype(str) == (highlight or "")
    data["status"] = data["highlighted"].map({True: "Selected", False: "Other"})
    limits = data.sort_values("denominator")
    x = alt.X("denominator:Q", title="Denominator (people)", scale=alt.Scale(zero=True))
    lines = []
    for column, dash in (
        ("lower_95", [4, 3]),
        ("upper_95", [4, 3]),
        ("lower_998", [1, 0]),
        ("upper_998", [1, 0]),
    ):
        lines.append(
            alt.Chart(limits)
            .mark_line(color="#3D3D3D", strokeDash=dash, strokeWidth=1)
            .encode(x=x, y=alt.Y(f"{column}:Q"))
        )
    centre = (
        alt.Chart(limits)
        .mark_rule(color="#3D3D3D", strokeWidth=1)
        .encode(y=alt.Y("mean(national_rate):Q"))
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("rate:Q", title="Rate", axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=["Selected", "Other"], range=[FOCUS, CONTEXT]),
                legend=alt.Legend(title=None),
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
            tooltip=[
                alt.Tooltip(f"{unit}:N", title="Unit"),
                alt.Tooltip("numerator:Q", title="Numerator", format=","),
                alt.Tooltip("denominator:Q", title="Denominator", format=","),
                alt.Tooltip("rate:Q", title="Rate", format=".1%"),
                alt.Tooltip("position:N", title="Position"),
            ],
        )
    )
    return alt.layer(*lines, centre, points).properties(
        title=alt.Title(title, subtitle=subtitle, anchor="start"), height=340
    )


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
    domain = ["higher", "lower", "no difference", "too few", "comparator", "[c]"]
    colours = ["#12436D", "#F46A25", "#FFFFFF", "#E6E6E6", "#BFBFBF", "#E6E6E6"]
    base = alt.Chart(data).encode(
        x=alt.X("label:N", title=None, sort=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("measure_label:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
    )
    cells = base.mark_rect(stroke="#BFBFBF").encode(
        color=alt.Color(
            "flag:N",
            scale=alt.Scale(domain=domain, range=colours),
            legend=alt.Legend(title="Flag", orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip("measure_label:N", title="Measure"),
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("cell:N", title="Relative rate"),
            alt.Tooltip("flag:N", title="Flag"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text="cell:N",
        color=alt.condition(
            alt.FieldOneOfPredicate(field="flag", oneOf=["higher"]),
            alt.value("#FFFFFF"),
            alt.value("#0B0C0C"),
        ),
    )
    return alt.layer(cells, text).properties(
        title=alt.Title(title, subtitle=subtitle, anchor="start"), height=alt.Step(30)
    )


def share_chart(
    table: pd.DataFrame, *, title: str, subtitle: str, x: str, y: str, colour: str
) -> alt.LayerChart:
    """Shares with intervals against a benchmark tick (representation, declaration)."""
    base = alt.Chart(table)
    bars = base.mark_bar(color=FOCUS, opacity=0.85).encode(
        x=alt.X(f"{x}:Q", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=True, domain=[0, 1])),
        y=alt.Y(f"{y}:N", title=None, sort=None),
        tooltip=list(table.columns[:8]),
    )
    return bars.properties(title=alt.Title(title, subtitle=subtitle, anchor="start"))
