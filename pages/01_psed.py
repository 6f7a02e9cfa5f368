"""Objective 1: embed the Public Sector Equality Duty and reduce disproportionate outcomes."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from equality_core import analysis, data, stats
from equality_core.analysis import Selection
from equality_core.schema import CHARACTERISTICS
from equality_ui import charts, filters, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("1. Public Sector Equality Duty and disproportionate outcomes")
st.markdown(
    "Embed the Public Sector Equality Duty and reduce inappropriately disproportionate outcomes: "
    "the Equality Monitoring Tool view of every outcome for every group, how the number of flags "
    "has moved, equality analysis of national policies, and the Equality Delivery Plan."
)

MATRIX_EXTRACTS = (
    "prisoner_periods",
    "community_terminations",
    "community_journey",
    "staff_periods",
)

prisoners = loading.require("prisoner_periods", "the Equality Monitoring Tool matrix")
establishments = loading.extract("establishments")
with st.sidebar:
    st.header("Filters")
    periods = [str(p) for p in prisoners["period"].cat.categories]
    kind, end = filters.period_filter(periods)
    places = filters.place_filters(
        prisoners, establishments, columns=analysis.PLACE_COLUMNS["prisoner_periods"]
    )
    characteristic = filters.characteristic_filter(list(CHARACTERISTICS))
    comparator = filters.comparator_filter(characteristic)
    filters.rule_caption()
selection = Selection(kind, end, places)


@st.cache_data(show_spinner="Building the matrix…", max_entries=32)
def _matrix(
    checksums: tuple[str, ...], selection: Selection, characteristic: str, comparator: str | None
) -> pd.DataFrame:
    frames = {name: loading.extract(name) for name in MATRIX_EXTRACTS}
    # Community records have no establishment: with a prison filter they are left out.
    if selection.places:
        frames = {k: v for k, v in frames.items() if k in ("prisoner_periods", "staff_periods")}
    return analysis.emt_matrix(
        frames,
        selection=selection,
        characteristic=characteristic,
        comparator=comparator,
        rule=panels.FLAG_RULE,
    )


@st.cache_data(show_spinner="Counting flags over time…", max_entries=16)
def _flags(checksum: str, characteristic: str, selection: Selection) -> pd.DataFrame:
    return analysis.flags_over_time(
        loading.extract("prisoner_periods"),
        extract="prisoner_periods",
        characteristic=characteristic,
        selection=selection,
        rule=panels.FLAG_RULE,
    )


checksums = tuple(
    loading.manifest()["extracts"].get(n, {}).get("source_sha256", "") for n in MATRIX_EXTRACTS
)
matrix = _matrix(checksums, selection, characteristic, comparator)
place = objective.place_words(selection)
period_words = data.period_label(kind, end)
label = CHARACTERISTICS[characteristic].label

st.header("Equality Monitoring Tool")
if matrix.empty:
    panels.nothing_to_show("records")
else:
    protected = panels.protected(matrix)
    counts = analysis.flag_counts(protected)
    title = (
        f"{counts['higher'] + counts['lower']} disproportionate outcome(s) by {label.lower()}: "
        f"{counts['higher']} higher, {counts['lower']} lower"
    )
    declared = protected[protected["group"].isin(CHARACTERISTICS[characteristic].groups)]
    st.subheader(title)
    chart = charts.matrix_chart(
        declared,
        title=title,
        subtitle=f"{place}, {period_words}. Cell: relative rate against the comparator; ▲ higher, ▼ lower",
    )
    description = (
        "Flagged cells: "
        + (
            "; ".join(
                f"{r.measure_label}, {r.group}: {r.relative_rate:.2f} ({r.flag})"
                for r in declared.itertuples(index=False)
                if r.flag in ("higher", "lower")
            )
            or "none"
        )
        + "."
    )
    panels.chart_with_table(
        chart,
        declared,
        description=description,
        columns=[
            "measure_label",
            "group",
            "numerator",
            "denominator",
            "rate",
            "comparator",
            "relative_rate",
            "rr_low",
            "rr_high",
            "p_adjusted",
            "flag",
        ],
        file_name=f"equality-monitoring-tool-{characteristic}",
        key="matrix",
    )
    panels.suppression_note(declared)
    if selection.places:
        st.caption(
            "Community measures are for probation regions, so they are left out when a prison filter is set."
        )

st.header("Flags over time")
flags_table = _flags(
    objective.checksum("prisoner_periods"), characteristic, Selection(kind, end, places)
)
if flags_table.empty:
    panels.nothing_to_show("periods")
else:
    long = flags_table.melt(
        "period", value_vars=["higher", "lower"], var_name="flag", value_name="groups"
    )
    last = flags_table.iloc[-1]
    first = flags_table.iloc[0]
    total_last, total_first = (
        int(last["higher"] + last["lower"]),
        int(first["higher"] + first["lower"]),
    )
    title = f"{total_last} flag(s) in {last['period']}, against {total_first} in {first['period']}"
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(
                "groups:Q",
                title="Groups flagged (prisoner measures, each quarter)",
                scale=alt.Scale(zero=True),
            ),
            color=alt.Color(
                "flag:N",
                scale=alt.Scale(domain=["higher", "lower"], range=list(charts.TWO_SERIES)),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            strokeDash=alt.StrokeDash("flag:N", legend=None),
            tooltip=["period", "flag", "groups"],
        )
        .properties(
            title=alt.Title(title, subtitle=f"{label} · {place} · per quarter", anchor="start"),
            height=280,
        )
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        "Number of groups flagged higher and lower each quarter: "
        + "; ".join(
            f"{r.period}: {r.higher} higher, {r.lower} lower"
            for r in flags_table.itertuples(index=False)
        )
        + "."
    )

col1, col2 = st.columns(2)
with col1:
    st.header("Equality analysis of national policies")
    analyses = loading.extract("equality_analyses")
    if analyses is None or analyses.empty:
        panels.nothing_to_show("policies")
    else:
        frame = analyses.assign(year=pd.to_datetime(analyses["date"]).dt.year)
        by_year = (
            frame.groupby("year")
            .agg(
                policies=("policy_id", "size"),
                completed=("analysis_completed", "sum"),
                assured=("quality_assured", "sum"),
            )
            .reset_index()
        )
        low, high = stats.wilson_interval(
            by_year["completed"].to_numpy(), by_year["policies"].to_numpy()
        )
        by_year["completion_rate"], by_year["low"], by_year["high"] = (
            by_year["completed"] / by_year["policies"],
            low,
            high,
        )
        latest = by_year.iloc[-1]
        title = f"{latest['completion_rate']:.0%} of policies issued in {int(latest['year'])} had an equality analysis"
        bars = (
            alt.Chart(by_year)
            .mark_bar(color=charts.FOCUS)
            .encode(
                x=alt.X("year:O", title=None),
                y=alt.Y(
                    "completion_rate:Q",
                    title="Share with an equality analysis",
                    axis=alt.Axis(format=".0%"),
                    scale=alt.Scale(domain=[0, 1]),
                ),
                tooltip=[
                    "year",
                    "policies",
                    "completed",
                    "assured",
                    alt.Tooltip("completion_rate:Q", format=".1%"),
                ],
            )
        )
        whiskers = (
            alt.Chart(by_year).mark_rule(color="#3D3D3D").encode(x="year:O", y="low:Q", y2="high:Q")
        )
        st.altair_chart(
            alt.layer(bars, whiskers).properties(
                title=alt.Title(title, subtitle="95% intervals", anchor="start"), height=260
            ),
            width="stretch",
        )
        st.caption(
            "Completion by year: "
            + "; ".join(
                f"{int(r.year)}: {r.completion_rate:.0%} of {r.policies}"
                for r in by_year.itertuples(index=False)
            )
            + "."
        )
with col2:
    st.header("Equality Delivery Plan")
    plan = loading.extract("delivery_plan")
    if plan is None or plan.empty:
        panels.nothing_to_show("actions")
    else:
        today = pd.Timestamp(dt.date.today())
        tracker = plan.copy()
        tracker["overdue"] = (pd.to_datetime(tracker["due_date"]) < today) & (
            tracker["status"] != "Complete"
        )
        tracker = tracker.sort_values(["overdue", "due_date"], ascending=[False, True])
        overdue = int(tracker["overdue"].sum())
        st.markdown(
            f"**{overdue} of {len(tracker)} actions are overdue**; overdue actions are listed first."
        )
        theme = (
            st.segmented_control(
                "Theme",
                ["All", *sorted(tracker["theme"].astype(str).unique())],
                default="All",
                key="theme",
                bind="query-params",
            )
            or "All"
        )
        if theme != "All":
            tracker = tracker[tracker["theme"] == theme]
        tracker["Overdue"] = tracker["overdue"].map({True: "Overdue", False: ""})
        st.dataframe(
            tracker[
                ["action_id", "theme", "objective", "aim", "owner", "due_date", "status", "Overdue"]
            ].rename(
                columns={
                    "action_id": "Action",
                    "theme": "Theme",
                    "objective": "Objective",
                    "aim": "What we want to achieve",
                    "owner": "Owner",
                    "due_date": "Due",
                    "status": "Status",
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={"Due": st.column_config.DateColumn(format="D MMM YYYY")},
        )

panels.methodology_note()
