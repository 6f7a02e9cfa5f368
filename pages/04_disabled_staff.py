"""Objective 4: close the engagement gap between disabled and non-disabled staff."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from equality_core import analysis, stats
from equality_core.analysis import Selection
from equality_core.measures import measures_for
from equality_ui import charts, filters, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("4. Engagement of disabled staff")
st.markdown(
    "Close the engagement gap between disabled and non-disabled staff: the People Survey "
    "engagement index, bullying and harassment, discrimination, and reasonable adjustments: "
    "how many are asked for and how long they take to put in place."
)

DISABLED, NOT_DISABLED = "Disabled", "Not disabled"
survey = loading.require("staff_survey", "the engagement gap")
establishments = loading.extract("establishments")
with st.sidebar:
    st.header("Filters")
    years = sorted(survey["period"].astype(str).unique())
    kind, year = filters.period_filter(years, financial_years_only=True)
    places = filters.place_filters(
        survey, establishments, columns=("region", "establishment", "function")
    )
    filters.rule_caption()
selection = Selection(kind, year, places)
place = objective.place_words(selection)

frame = survey[survey["characteristic"] == "disability"]
for column, value in places:
    frame = frame[frame[column] == value]
pooled = analysis.pooled_means(frame, by=["period"])
pooled = pooled[pooled["group"].isin([DISABLED, NOT_DISABLED])]
wide = pooled.pivot(index="period", columns="group", values=["mean", "sd", "respondents"]).dropna()
st.header("Engagement index")
if wide.empty or year not in wide.index:
    panels.nothing_to_show("survey results for disabled and non-disabled staff")
else:
    gap = stats.mean_difference(
        mean_a=wide[("mean", DISABLED)].to_numpy(),
        sd_a=wide[("sd", DISABLED)].to_numpy(),
        n_a=wide[("respondents", DISABLED)].to_numpy(),
        mean_b=wide[("mean", NOT_DISABLED)].to_numpy(),
        sd_b=wide[("sd", NOT_DISABLED)].to_numpy(),
        n_b=wide[("respondents", NOT_DISABLED)].to_numpy(),
    )
    gap.insert(0, "period", wide.index.to_numpy())
    enough = (wide[("respondents", DISABLED)] >= panels.DISCLOSURE_RULE.survey_minimum) & (
        wide[("respondents", NOT_DISABLED)] >= panels.DISCLOSURE_RULE.survey_minimum
    )
    gap = gap[enough.to_numpy()]
    current = gap[gap["period"] == year]
    if current.empty:
        panels.nothing_to_show("groups of at least 10 respondents")
    else:
        row = current.iloc[0]
        previous = gap[gap["period"] < year].tail(1)
        change = ""
        if len(previous):
            delta = row["difference"] - previous.iloc[0]["difference"]
            change = f", {'narrower' if abs(row['difference']) < abs(previous.iloc[0]['difference']) else 'wider'} than {previous.iloc[0]['period']} ({delta:+.1f})"
        significant = row["p_value"] < panels.FLAG_RULE.alpha
        c1, c2, c3 = st.columns(3)
        c1.metric("Engagement, disabled staff", f"{wide.loc[year, ('mean', DISABLED)]:.1f}")
        c2.metric("Engagement, non-disabled staff", f"{wide.loc[year, ('mean', NOT_DISABLED)]:.1f}")
        c3.metric(
            "Gap (points)",
            f"{row['difference']:+.1f}",
            delta=f"{delta:+.1f} since last year" if len(previous) else None,
            delta_color="inverse" if row["difference"] < 0 else "normal",
        )
        title = (
            f"Disabled staff's engagement is {abs(row['difference']):.1f} points "
            f"{'lower' if row['difference'] < 0 else 'higher'} in {year}{change}"
            if significant
            else f"No significant engagement gap in {year}"
        )
        gap["label"] = "Disabled minus non-disabled"
        line = (
            alt.Chart(gap)
            .mark_line(point=True, color=charts.FOCUS)
            .encode(
                x=alt.X("period:O", title=None),
                y=alt.Y("difference:Q", title="Gap in engagement index (points)"),
                tooltip=[
                    "period",
                    alt.Tooltip("difference:Q", format="+.1f"),
                    alt.Tooltip("low:Q", format="+.1f"),
                    alt.Tooltip("high:Q", format="+.1f"),
                    alt.Tooltip("p_value:Q", format=".3g"),
                ],
            )
        )
        band = (
            alt.Chart(gap)
            .mark_area(opacity=0.2, color=charts.FOCUS)
            .encode(x="period:O", y="low:Q", y2="high:Q")
        )
        zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#3D3D3D").encode(y="y:Q")
        chart = alt.layer(band, line, zero).properties(
            title=alt.Title(
                title,
                subtitle=f"{place}. Welch 95% intervals from respondents and reported spread",
                anchor="start",
            ),
            height=280,
        )
        panels.chart_with_table(
            chart,
            gap,
            description="Engagement gap by year: "
            + "; ".join(
                f"{r.period}: {r.difference:+.1f} ({r.low:+.1f} to {r.high:+.1f})"
                for r in gap.itertuples(index=False)
            )
            + ".",
            columns=["period", "difference", "low", "high", "p_value", "dof"],
            file_name="engagement-gap",
            key="engagement",
        )

st.header("Bullying, harassment and discrimination")
this_year = frame[frame["period"] == year]
summary = analysis.survey_summary(
    this_year, columns=("pct_bullying_harassment", "pct_discrimination")
)
if summary.empty:
    panels.nothing_to_show("survey results")
else:
    parts = []
    for column, words in (
        ("pct_bullying_harassment", "Bullying or harassment"),
        ("pct_discrimination", "Discrimination"),
    ):
        part = summary[["characteristic", "group", "respondents"]].copy()
        part["measure"] = words
        part["numerator"] = np.rint(summary[column] * summary["respondents"] / 100).astype("int64")
        part["denominator"] = summary["respondents"].astype("int64")
        parts.append(part)
    counts = pd.concat(parts, ignore_index=True)
    table = stats.disparity_table(
        counts, comparator={"disability": NOT_DISABLED}, rule=panels.FLAG_RULE
    )
    table = panels.protected(table)
    drawable = panels.visible(table)
    for measure, rows in drawable.groupby("measure", sort=False):
        flagged = rows[rows["flag"].astype(str).isin(["higher", "lower"])]
        title = (
            f"{measure}: disabled staff report it {flagged.iloc[0]['relative_rate']:.1f} times as often"
            if len(flagged)
            else f"{measure}: no significant difference between disabled and non-disabled staff"
        )
        chart = charts.rates_chart(
            rows, title=title, subtitle=f"Share of respondents, {place}, {year}", kind="proportion"
        )
        panels.chart_with_table(
            chart,
            table[table["measure"] == measure],
            description=analysis.describe_rates(rows, kind="proportion"),
            columns=[
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
            file_name=f"survey-{measure.lower().replace(' ', '-')}",
            key=f"survey-{measure}",
        )
    st.caption(
        "Counts are respondents times the reported percentage, rounded; groups under 10 respondents are not shown."
    )

st.header("Reasonable adjustments")
staff = loading.require("staff_periods", "reasonable adjustments")
records = analysis.select(staff, selection, "staff_periods")
adjustment_measures = [m for m in measures_for(extract="staff_periods") if m.objective == 4]
if records.empty:
    panels.nothing_to_show("staff")
else:
    table = analysis.disparities(
        records,
        measures=adjustment_measures,
        characteristic="disability",
        comparator=NOT_DISABLED,
        rule=panels.FLAG_RULE,
    )
    table = panels.protected(table)
    table["measure_label"] = table["measure"].map({m.name: m.label for m in adjustment_measures})
    panels.table_view(
        table,
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
        file_name="reasonable-adjustments",
        key="adjustments",
    )
    days = records.dropna(subset=["adjustment_days"])
    disabled_days = days.loc[days["disability"] == DISABLED, "adjustment_days"].to_numpy()
    other_days = days.loc[days["disability"] == NOT_DISABLED, "adjustment_days"].to_numpy()
    if min(len(disabled_days), len(other_days)) >= panels.FLAG_RULE.min_denominator:
        result = stats.compare_medians(disabled_days, other_days)
        c1, c2, c3 = st.columns(3)
        c1.metric("Median days to put in place, disabled staff", f"{result.median_a:.0f}")
        c2.metric("Median days, non-disabled staff", f"{result.median_b:.0f}")
        c3.metric("Mann-Whitney p-value", f"{result.p_value:.3g}")
        bins = pd.cut(
            days["adjustment_days"],
            [0, 14, 30, 60, 90, 730],
            labels=["Up to 14", "15 to 30", "31 to 60", "61 to 90", "Over 90"],
        )
        shares = (
            days.assign(band=bins)
            .groupby(["disability", "band"], observed=False)
            .size()
            .rename("numerator")
            .reset_index()
        )
        shares = shares[shares["disability"].isin([DISABLED, NOT_DISABLED])]
        shares["denominator"] = shares.groupby("disability", observed=True)["numerator"].transform(
            "sum"
        )
        shares = shares.rename(columns={"disability": "group"}).assign(
            measure=shares["band"].astype(str), characteristic="disability"
        )
        shares["group"] = shares["group"].astype(str)
        shares = panels.protected(shares, family=("group",), derived_columns=())
        shares["share"] = shares["numerator"] / shares["denominator"]
        chart = (
            alt.Chart(panels.visible(shares))
            .mark_bar()
            .encode(
                x=alt.X("band:N", title="Days to put the adjustment in place", sort=None),
                y=alt.Y("share:Q", title="Share of adjustments", axis=alt.Axis(format=".0%")),
                xOffset="group:N",
                color=alt.Color(
                    "group:N",
                    scale=alt.Scale(range=list(charts.TWO_SERIES)),
                    legend=alt.Legend(title=None, orient="bottom"),
                ),
                tooltip=[
                    "group",
                    "band",
                    alt.Tooltip("numerator:Q", title="Adjustments"),
                    alt.Tooltip("share:Q", format=".0%"),
                ],
            )
            .properties(
                title=alt.Title(
                    f"Half of disabled staff's adjustments took {result.median_a:.0f} days or more",
                    subtitle=f"{place}, {year}",
                    anchor="start",
                ),
                height=260,
            )
        )
        panels.chart_with_table(
            chart,
            shares,
            description="; ".join(
                f"{r.group}, {r.band}: {r.share:.0%}"
                for r in panels.visible(shares).itertuples(index=False)
            ),
            columns=["group", "band", "numerator", "denominator", "share"],
            file_name="adjustment-days",
            key="days",
        )
    else:
        st.caption("Too few adjustments in place to compare how long they took.")

panels.methodology_note(
    extra="- **Engagement gap**: difference in mean engagement index (disabled minus non-disabled) with a Welch interval from respondents and the reported standard deviation; **days to adjust**: medians compared with the Mann-Whitney test."
)
