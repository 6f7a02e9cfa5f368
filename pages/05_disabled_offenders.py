"""Objective 5: identify and meet the needs of disabled prisoners and offenders."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from equality_core import analysis, data, stats
from equality_core.measures import MEASURES, measures_for
from equality_ui import charts, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("5. Needs of disabled prisoners and offenders")
st.markdown(
    "Identify and meet the needs of disabled prisoners and offenders: their outcomes against "
    "non-disabled prisoners, before and after allowing for age and establishment, so that a "
    "difference explained by who is held where is told apart from one that is not."
)

EXTRACT = "prisoner_periods"
DISABLED, NOT_DISABLED = "Disabled", "Not disabled"
measures = [m for m in measures_for(extract=EXTRACT) if m.kind == "proportion"]
choices = objective.sidebar_filters(
    EXTRACT, measures, default_characteristic="disability", characteristics=["disability"]
)
place = objective.place_words(choices.selection)
period_words = data.period_label(choices.selection.period_kind, choices.selection.period_end)


@st.cache_data(show_spinner="Adjusting for age and establishment…", max_entries=16)
def _adjusted(checksum: str, selection) -> pd.DataFrame:
    records = analysis.select(loading.extract(EXTRACT), selection, EXTRACT)
    if records.empty:
        return pd.DataFrame()
    counts = data.group_counts(
        records,
        measures=measures,
        characteristic="disability",
        by=["age_band", "establishment"],
        include_not_declared=False,
    )
    adjusted = stats.mantel_haenszel_relative_rate(
        counts, strata=["age_band", "establishment"], comparator=NOT_DISABLED, by=["measure"]
    )
    crude = analysis.disparities(
        records,
        measures=measures,
        characteristic="disability",
        comparator=NOT_DISABLED,
        rule=panels.FLAG_RULE,
    )
    crude = crude[crude["group"] == DISABLED][
        [
            "measure",
            "numerator",
            "denominator",
            "rate",
            "comparator_rate",
            "relative_rate",
            "rr_low",
            "rr_high",
            "p_adjusted",
            "flag",
        ]
    ]
    merged = crude.merge(
        adjusted[adjusted["group"] == DISABLED][
            ["measure", "adjusted_relative_rate", "adj_low", "adj_high", "strata_used"]
        ],
        on="measure",
        how="left",
    )
    merged["measure_label"] = merged["measure"].map(lambda m: MEASURES[m].label)
    merged["characteristic"], merged["group"], merged["comparator"] = (
        "disability",
        DISABLED,
        NOT_DISABLED,
    )
    return merged


st.header("Disabled prisoners' outcomes, crude and adjusted")
table = _adjusted(objective.checksum(EXTRACT), choices.selection)
if table.empty:
    panels.nothing_to_show("prisoners")
else:
    table = panels.protected(table, family=("characteristic",))
    drawable = panels.visible(table).dropna(subset=["relative_rate"])
    flagged = drawable[drawable["flag"].astype(str).isin(["higher", "lower"])]
    explained = flagged[(flagged["adj_low"] <= 1) & (flagged["adj_high"] >= 1)]
    title = (
        f"{len(flagged)} of {len(drawable)} outcomes differ significantly for disabled prisoners"
        + (
            f"; {len(explained)} no longer do once age and establishment are allowed for"
            if len(explained)
            else ""
        )
    )
    long = pd.concat(
        [
            drawable.assign(
                series="Crude",
                ratio=drawable["relative_rate"],
                low=drawable["rr_low"],
                high=drawable["rr_high"],
            ),
            drawable.assign(
                series="Adjusted for age and establishment",
                ratio=drawable["adjusted_relative_rate"],
                low=drawable["adj_low"],
                high=drawable["adj_high"],
            ),
        ],
        ignore_index=True,
    ).dropna(subset=["ratio"])
    y = alt.Y("measure_label:N", title=None, sort=None)
    colour = alt.Color(
        "series:N",
        scale=alt.Scale(range=list(charts.TWO_SERIES)),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X(
        "ratio:Q",
        title="Relative rate, disabled against non-disabled (log scale)",
        scale=alt.Scale(type="log"),
    )
    band = (
        alt.Chart(
            pd.DataFrame(
                {"low": [panels.FLAG_RULE.tolerance[0]], "high": [panels.FLAG_RULE.tolerance[1]]}
            )
        )
        .mark_rect(color=charts.CONTEXT, opacity=0.35)
        .encode(x="low:Q", x2="high:Q")
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#3D3D3D").encode(x="x:Q")
    bars = (
        alt.Chart(long)
        .mark_rule(strokeWidth=2)
        .encode(
            x=alt.X("low:Q", scale=alt.Scale(type="log")),
            x2="high:Q",
            y=y,
            yOffset="series:N",
            color=colour,
        )
    )
    points = (
        alt.Chart(long)
        .mark_point(filled=True, size=90)
        .encode(
            x=x,
            y=y,
            yOffset="series:N",
            color=colour,
            shape=alt.Shape("series:N", legend=None),
            tooltip=[
                "measure_label",
                "series",
                alt.Tooltip("ratio:Q", format=".2f"),
                alt.Tooltip("low:Q", format=".2f"),
                alt.Tooltip("high:Q", format=".2f"),
                alt.Tooltip("numerator:Q", format=","),
                alt.Tooltip("denominator:Q", format=","),
            ],
        )
    )
    chart = alt.layer(band, one, bars, points).properties(
        title=alt.Title(
            title,
            subtitle=f"{place}, {period_words}. Adjusted: Mantel-Haenszel, stratified by age band and establishment",
            anchor="start",
        ),
        height=alt.Step(22),
    )
    panels.chart_with_table(
        chart,
        table,
        description="; ".join(
            f"{r.measure_label}: crude {r.relative_rate:.2f}, adjusted {r.adjusted_relative_rate:.2f}"
            for r in drawable.itertuples(index=False)
        )
        + ".",
        columns=[
            "measure_label",
            "numerator",
            "denominator",
            "rate",
            "comparator_rate",
            "relative_rate",
            "rr_low",
            "rr_high",
            "adjusted_relative_rate",
            "adj_low",
            "adj_high",
            "p_adjusted",
            "flag",
        ],
        file_name="disabled-prisoners-adjusted",
        key="adjusted",
    )
    panels.suppression_note(table)

st.header("One outcome in detail")
objective.analysis_block(EXTRACT, measures, choices, key="obj5")

st.header("In the community")
community = []
for extract in ("community_terminations", "community_journey"):
    frame = loading.extract(extract)
    if frame is None:
        continue
    records = analysis.select(
        frame,
        choices.selection.without_place("establishment")
        .without_place("region")
        .without_place("function")
        .without_place("estate"),
        extract,
    )
    if records.empty:
        continue
    community.append(
        analysis.disparities(
            records,
            measures=measures_for(extract=extract),
            characteristic="disability",
            comparator=NOT_DISABLED,
            rule=panels.FLAG_RULE,
        )
    )
if community:
    table = panels.protected(pd.concat(community, ignore_index=True))
    table["measure_label"] = table["measure"].map(lambda m: MEASURES[m].label)
    st.caption(
        f"England and Wales, {period_words}: people on probation who are disabled against those who are not."
    )
    panels.table_view(
        table[table["group"].isin([DISABLED, NOT_DISABLED])],
        columns=[
            "measure_label",
            "group",
            "numerator",
            "denominator",
            "rate",
            "rate_low",
            "rate_high",
            "relative_rate",
            "rr_low",
            "rr_high",
            "p_adjusted",
            "flag",
        ],
        file_name="disabled-people-on-probation",
        key="community",
    )
else:
    panels.nothing_to_show("community records")

objective.declaration_block(EXTRACT, choices, key="obj5")
panels.methodology_note(
    extra="- **Adjusted relative rate**: Mantel-Haenszel relative rate pooled over strata of age band and establishment, with the Greenland-Robins interval. A crude disparity that vanishes once adjusted is explained by where and at what age disabled prisoners are held; one that remains is not."
)
