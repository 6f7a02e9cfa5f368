"""Objective 2: disparities in offenders' experience of, and access to, services."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis
from equality_core.analysis import Selection
from equality_core.measures import measures_for
from equality_core.schema import CHARACTERISTICS, DEATH_CLASSIFICATIONS
from equality_ui import charts, filters, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("2. Offenders' outcomes and access to services")
st.markdown(
    "Understand and address disparities in offenders' experience of, and access to, services: "
    "adjudications, segregation, use of force, incentive levels, release on temporary licence, "
    "complaints, programmes and resettlement in custody; deaths in custody and prisoners' "
    "perceptions in inspection surveys; completions, sentencing, risk, breach and recall in the "
    "community."
)

SETTINGS = {
    "In custody": "prisoner_periods",
    "Community: orders and licences ended": "community_terminations",
    "Community: sentencing, risk, breach and recall": "community_journey",
}
EXTRACT_CUSTODY = "prisoner_periods"
PERCEPTIONS = {
    "pct_treated_with_respect": "Treated with respect by most staff",
    "pct_easy_to_see_health": "Easy to see health services",
    "pct_feeling_unsafe": "Feel unsafe",
}
DEATHS_PER = (analysis.PER_1000_PRISONER_YEARS, "Deaths per 1,000 prisoner-years")

setting = (
    st.segmented_control(
        "Setting", list(SETTINGS), default="In custody", key="setting", bind="query-params"
    )
    or "In custody"
)
extract = SETTINGS[setting]
measures = measures_for(extract=extract)
choices = objective.sidebar_filters(extract, measures)
objective.analysis_block(extract, measures, choices, key="obj2")
objective.declaration_block(extract, choices, key="obj2")


@st.cache_data(show_spinner="Counting deaths in custody…", max_entries=16)
def _deaths(
    checksums: tuple[str, str],
    selection: Selection,
    characteristic: str,
    comparator: str | None,
    version: str,
) -> pd.DataFrame:
    deaths = analysis.select(loading.extract("deaths_in_custody"), selection, "deaths_in_custody")
    prisoners = analysis.select(loading.extract(EXTRACT_CUSTODY), selection, EXTRACT_CUSTODY)
    return analysis.deaths_disparities(
        deaths,
        prisoners,
        characteristic=characteristic,
        protection=panels.protection(),
        comparator=comparator,
        rule=panels.FLAG_RULE,
    )


@st.cache_data(show_spinner="Summarising the surveys…", max_entries=16)
def _perceptions(
    checksum: str, selection: Selection, characteristic: str, comparator: str | None, version: str
) -> pd.DataFrame:
    survey = loading.extract("prisoner_survey")
    in_period = survey["period"].isin(analysis.periods_of(selection, "prisoner_survey"))
    chosen = survey[
        in_period.to_numpy()
        & analysis.place_mask(survey, selection.without_within())
        & (survey["characteristic"] == characteristic).to_numpy()
    ]
    return analysis.survey_disparities(
        chosen,
        columns=list(PERCEPTIONS),
        protection=panels.protection(),
        comparator=comparator,
        characteristic=characteristic,
        rule=panels.FLAG_RULE,
    )


if extract == EXTRACT_CUSTODY:
    selection = choices.selection
    characteristic = choices.characteristic
    label = CHARACTERISTICS[characteristic].label.lower()
    place = objective.place_words(selection)
    period = choices.focus_label

    st.divider()
    st.header("Deaths in custody")
    deaths = loading.extract("deaths_in_custody")
    if deaths is None:
        panels.nothing_to_show("deaths in custody records")
    elif characteristic not in deaths.columns or not selection.applies_to(deaths):
        st.info(
            f"Deaths in custody are recorded by age band, sex, ethnic group, religion and "
            f"disability only, so they cannot be shown by {label} or within it.",
            icon=":material/info:",
        )
    else:
        checksums = (loading.checksum("deaths_in_custody"), loading.checksum(EXTRACT_CUSTODY))
        table = _deaths(
            checksums, selection, characteristic, choices.comparator, panels.protection_version()
        )
        kind = filters.bound_select(
            "Deaths", [analysis.ALL_DEATHS, *DEATH_CLASSIFICATIONS], key="death_classification"
        )
        shown = table[table["measure"] == kind]
        drawable = panels.visible(shown)
        finding = analysis.finding_sentence(
            drawable, label=f"{kind} in custody", characteristic=characteristic, place=place
        )
        for column in ("rate", "rate_low", "rate_high"):
            shown = shown.assign(**{f"{column}_per_1000": shown[column] * DEATHS_PER[0]})
        panels.chart_with_table(
            charts.rates_chart(
                drawable,
                title=finding,
                subtitle=f"{kind} per 1,000 prisoner-years by {label}: {place}, {period}",
                kind="event",
                per=DEATHS_PER,
            ),
            shown,
            description=f"{kind} per 1,000 prisoner-years, with 95% intervals: "
            + "; ".join(
                f"{r.group} {r.rate * DEATHS_PER[0]:.2f} ({r.rate_low * DEATHS_PER[0]:.2f} to "
                f"{r.rate_high * DEATHS_PER[0]:.2f})"
                for r in drawable.dropna(subset=["rate"]).itertuples(index=False)
            )
            + ".",
            columns=[
                "group",
                "numerator",
                "denominator",
                "rate_per_1000",
                "rate_low_per_1000",
                "rate_high_per_1000",
                *panels.RESULT_COLUMNS[6:],
            ],
            titles={
                "numerator": "Deaths",
                "denominator": "Prisoner-quarters held",
                "rate_per_1000": "Deaths per 1,000 prisoner-years",
                "rate_low_per_1000": "95% interval from",
                "rate_high_per_1000": "95% interval to",
            },
            file_name=f"deaths-in-custody-{characteristic}",
            key="deaths",
        )
        panels.suppression_note(shown)
        st.caption(
            "Deaths are few, so most groups' counts are small: deaths of 1 to 4 people show as "
            "[c], and every count is perturbed slightly (cell key method). The exposure is the "
            "prisoner-quarters each group was held in the same period and place; relative rates "
            "use the exact conditional (Poisson) method."
        )

    st.header("Perceptions in inspection surveys")
    if loading.extract("prisoner_survey") is None:
        panels.nothing_to_show("survey results")
    else:
        survey_sum = loading.checksum("prisoner_survey")
        table = _perceptions(
            survey_sum, selection, characteristic, choices.comparator, panels.protection_version()
        )
        if table.empty:
            panels.nothing_to_show(f"survey results by {label} for these filters")
        else:
            if selection.within is not None:
                st.caption(
                    "Survey results arrive aggregated by one characteristic at a time, so "
                    "'look within' does not apply to them."
                )
            perception = filters.bound_select(
                "Survey question",
                list(PERCEPTIONS),
                key="perception",
                format_func=PERCEPTIONS.__getitem__,
            )
            shown = table[table["measure"] == perception]
            drawable = panels.visible(shown)
            words = PERCEPTIONS[perception]
            panels.chart_with_table(
                charts.rates_chart(
                    drawable,
                    title=analysis.finding_sentence(
                        drawable, label=words, characteristic=characteristic, place=place
                    ),
                    subtitle=f"Share of respondents, by {label}: {place}, surveys in {period}",
                    kind="proportion",
                ),
                shown,
                description=analysis.describe_rates(drawable, kind="proportion"),
                columns=panels.RESULT_COLUMNS,
                titles=panels.SURVEY_TITLES,
                file_name=f"prisoner-survey-{perception}-{characteristic}",
                key="survey",
            )
            st.caption(
                "Respondents who said so are rebuilt from each establishment's reported "
                "percentage and its respondents; groups with fewer than 10 respondents are not "
                "shown."
            )

panels.methodology_note()
