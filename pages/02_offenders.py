"""Objective 2: disparities in offenders' experience of, and access to, services."""

from __future__ import annotations

import streamlit as st

from equality_core import analysis, data
from equality_core.measures import measures_for
from equality_ui import loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("2. Offenders' outcomes and access to services")
st.markdown(
    "Understand and address disparities in offenders' experience of, and access to, services: "
    "adjudications, segregation, use of force, incentive levels, release on temporary licence, "
    "complaints, programmes and resettlement in custody; completions, sentencing, risk, breach "
    "and recall in the community."
)

SETTINGS = {
    "In custody": "prisoner_periods",
    "Community: orders and licences ended": "community_terminations",
    "Community: sentencing, risk, breach and recall": "community_journey",
}
setting = (
    st.segmented_control(
        "Setting", list(SETTINGS), default="In custody", key="setting", bind="query-params"
    )
    or "In custody"
)
extract = SETTINGS[setting]
measures = measures_for(extract=extract)
choices = objective.sidebar_filters(extract, measures)
shown = objective.analysis_block(extract, measures, choices, key="obj2")
objective.declaration_block(extract, choices, key="obj2")

if extract == "prisoner_periods":
    st.divider()
    st.subheader("Deaths in custody")
    deaths = loading.extract("deaths_in_custody")
    if deaths is None:
        panels.nothing_to_show("deaths in custody records")
    else:
        quarters = analysis.periods_of(choices.selection, "deaths_in_custody")
        in_period = deaths[deaths["period"].isin(quarters)]
        for column, value in choices.selection.places:
            if column in in_period.columns:
                in_period = in_period[in_period[column] == value]
        characteristic = (
            choices.characteristic if choices.characteristic in deaths.columns else "ethnic_group"
        )
        counts = (
            in_period.groupby([characteristic, "classification"], observed=False)
            .size()
            .rename("numerator")
            .reset_index()
            .rename(columns={characteristic: "group"})
        )
        counts["denominator"] = counts.groupby("classification", observed=False)[
            "numerator"
        ].transform("sum")
        counts["measure"] = counts.pop("classification").astype(str)
        counts["characteristic"] = characteristic
        counts["group"] = counts["group"].astype(str)
        protected = panels.protected(counts, family=("measure", "characteristic"))
        st.caption(
            f"Deaths by classification and {characteristic.replace('_', ' ')}, "
            f"{data.period_label(choices.selection.period_kind, choices.selection.period_end)}: "
            f"{objective.place_words(choices.selection)}. Small numbers: counts from 1 to 4 "
            "show as [c], and so does any count they could be worked out from."
        )
        panels.table_view(
            protected.rename(columns={"measure": "classification"}),
            columns=["classification", "group", "numerator", "denominator"],
            file_name="deaths-in-custody",
            key="deaths",
        )

    st.subheader("Perceptions in inspection surveys")
    survey = loading.extract("prisoner_survey")
    if survey is None:
        panels.nothing_to_show("survey results")
    else:
        quarters = analysis.periods_of(choices.selection, "prisoner_survey")
        frame = survey[survey["period"].isin(quarters)]
        for column, value in choices.selection.places:
            if column in frame.columns:
                frame = frame[frame[column] == value]
        frame = frame[frame["characteristic"] == choices.characteristic]
        if frame.empty:
            panels.nothing_to_show("survey results for this characteristic")
        else:
            summary = analysis.survey_summary(
                frame,
                columns=(
                    "pct_treated_with_respect",
                    "pct_easy_to_see_health",
                    "pct_feeling_unsafe",
                ),
            )
            protected = panels.protected(summary, family=())
            st.caption(
                "Share of respondents, weighted by respondents across the establishments "
                "surveyed in the period; groups with fewer than 10 respondents are not shown."
            )
            panels.table_view(
                protected,
                columns=[
                    "group",
                    "respondents",
                    "pct_treated_with_respect",
                    "pct_easy_to_see_health",
                    "pct_feeling_unsafe",
                ],
                file_name="prisoner-survey",
                key="survey",
            )

panels.methodology_note()
