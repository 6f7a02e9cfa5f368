"""Objective 2: disparities in offenders' experience of, and access to, services."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis, findings, stats
from equality_core.analysis import Selection
from equality_core.measures import measures_for
from equality_core.schema import CHARACTERISTICS, DEATH_CLASSIFICATIONS
from equality_ui import filters, loading, objective, panels
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
#: Whether more respondents saying so is adverse or favourable for them.
PERCEPTION_DIRECTIONS = {
    "pct_treated_with_respect": "favourable",
    "pct_easy_to_see_health": "favourable",
    "pct_feeling_unsafe": "adverse",
}
DEATHS_PER = (analysis.PER_1000_PRISONER_YEARS, "Deaths per 1,000 prisoner-years")

# The setting decides the extract: measures, places and periods differ between them, so
# filters the new setting does not offer fall back (and a caption says which).
setting = filters.bound_setting("Setting", list(SETTINGS), key="setting", noun="a setting")
extract = SETTINGS[setting]
measures = measures_for(extract=extract)
choices = objective.sidebar_filters(extract, measures, setting=setting)
pack = objective.board_pack(choices, title="Objective 2: offenders' outcomes", key="obj2")


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


selection = choices.selection
characteristic = choices.characteristic
label = CHARACTERISTICS[characteristic].label.lower()
place = objective.place_words(selection)
period = choices.focus_label


def _deaths_in_custody() -> None:
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
        view = findings.View(
            findings.Outcome(f"deaths-{kind}", f"{kind} in custody", "event", "adverse"),
            characteristic,
            place,
            period,
            objective.within_words(selection),
            panels.FLAG_RULE,
        )
        panels.show(
            panels.remembered(
                findings.compared_rates,
                table[table["measure"] == kind],
                view,
                key=f"deaths-in-custody-{characteristic}",
                per=DEATHS_PER,
                titles={
                    "numerator": "Deaths",
                    "denominator": "Prisoner-quarters held",
                    "rate_per": "Deaths per 1,000 prisoner-years",
                    "rate_low_per": "95% interval from",
                    "rate_high_per": "95% interval to",
                },
            ),
            key="deaths",
        )
        st.caption(
            "Deaths are few, so most groups' counts are small: deaths of 1 to 4 people show as "
            "[c], and every count is perturbed slightly (cell key method). The exposure is the "
            "prisoner-quarters each group was held in the same period and place; relative rates "
            "use the exact conditional (Poisson) method."
        )


def _perceptions_in_surveys() -> None:
    st.header("Perceptions in inspection surveys")
    if loading.extract("prisoner_survey") is None:
        panels.nothing_to_show("survey results")
    else:
        survey_sum = loading.checksum("prisoner_survey")
        try:
            table = _perceptions(
                survey_sum,
                selection,
                characteristic,
                choices.comparator,
                panels.protection_version(),
            )
        except stats.ComparatorAbsentError:
            table = None  # surveys hold only the groups reported: never compare with another
        if table is None:
            st.info(
                "The inspection surveys hold no answers from the "
                f"{panels.escape_markdown(str(choices.comparator))} group for these filters, "
                "so they cannot be compared with it: choose another comparator to see them.",
                icon=":material/filter_alt_off:",
            )
        elif table.empty:
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
            view = findings.View(
                findings.Outcome(
                    perception,
                    PERCEPTIONS[perception],
                    "proportion",
                    PERCEPTION_DIRECTIONS[perception],
                ),
                characteristic,
                place,
                f"surveys in {period}",
                "",
                panels.FLAG_RULE,
            )
            panels.show(
                panels.remembered(
                    findings.compared_rates,
                    table[table["measure"] == perception],
                    view,
                    key=f"prisoner-survey-{perception}-{characteristic}",
                    titles=panels.SURVEY_TITLES,
                ),
                key="survey",
            )
            st.caption(
                "Respondents who said so are rebuilt from each establishment's reported "
                "percentage and its respondents; groups with fewer than 10 respondents are not "
                "shown."
            )


parts = [
    objective.analysis_section(
        "Outcomes by group", extract, measures, choices, key="obj2", header=False
    ),
    objective.declaration_section(extract, choices, key="obj2"),
]
if extract == EXTRACT_CUSTODY:
    parts += [
        ("Deaths in custody", _deaths_in_custody),
        ("Perceptions in surveys", _perceptions_in_surveys),
    ]
objective.sections(parts, key="obj2", pack=pack)

panels.methodology_note()
