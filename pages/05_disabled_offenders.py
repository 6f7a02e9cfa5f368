"""Objective 5: identify and meet the needs of disabled prisoners and offenders."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis, data, findings
from equality_core.measures import MEASURES, measures_for
from equality_ui import loading, objective, panels
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
pack = objective.board_pack(
    choices, title="Objective 5: disabled prisoners and offenders", key="obj5"
)
place = objective.place_words(choices.selection)
period_words = data.period_label(choices.selection.period_kind, choices.selection.period_end)


@st.cache_data(show_spinner="Adjusting for age and establishment…", max_entries=16)
def _adjusted(checksum: str, selection, version: str) -> pd.DataFrame:
    """The Mantel-Haenszel relative rates by age band and establishment."""
    return analysis.adjusted_relative_rates_in(
        loading.extract(EXTRACT),
        selection,
        EXTRACT,
        measures=measures,
        characteristic="disability",
        comparator=NOT_DISABLED,
        stratum="age_band",
        protection=panels.protection(),
    )


COMMUNITY = ("community_terminations", "community_journey")


def _crude_and_adjusted() -> None:
    st.header("Disabled prisoners' outcomes, crude and adjusted")
    crude = objective.matrix(choices.selection, "disability", NOT_DISABLED)
    if crude.empty:
        panels.nothing_to_show("prisoners")
        return
    crude = crude[crude["measure"].isin([m.name for m in measures])]
    panels.show(
        panels.remembered(
            findings.crude_and_adjusted,
            crude,
            _adjusted(loading.checksum(EXTRACT), choices.selection, panels.protection_version()),
            group=DISABLED,
            place=place,
            period=period_words,
            within=objective.within_words(choices.selection),
            measures=MEASURES,
            rule=panels.FLAG_RULE,
        ),
        key="adjusted",
    )


def _in_the_community() -> None:
    st.header("In the community")

    # Probation records have no prison: the prison place filters do not apply to them.
    national = choices.selection
    for column in ("establishment", "region", "function", "estate"):
        national = national.without_place(column)
    # England and Wales, which every user sees, from the national path.
    community = objective.national_matrix(national, "disability", NOT_DISABLED)
    if not community.empty:
        community = community[community["extract"].isin(COMMUNITY)]
    if not community.empty:
        st.caption(
            f"England and Wales, {period_words}{objective.within_words(national)}: people on "
            "probation who are disabled against those who are not."
        )
        panels.table_view(
            community[community["group"].isin([DISABLED, NOT_DISABLED])],
            columns=["measure_label", *panels.RESULT_COLUMNS],
            file_name="disabled-people-on-probation",
            key="community",
            title="Disabled people on probation against those who are not",
            subtitles=(f"England and Wales, {period_words}{objective.within_words(national)}",),
        )
    else:
        panels.nothing_to_show("community records")


objective.sections(
    [
        ("Crude and adjusted", _crude_and_adjusted),
        objective.analysis_section("One outcome in detail", EXTRACT, measures, choices, key="obj5"),
        ("In the community", _in_the_community),
        objective.declaration_section(EXTRACT, choices, key="obj5"),
    ],
    key="obj5",
    pack=pack,
)
panels.methodology_note(
    extra="- **Adjusted relative rate**: Mantel-Haenszel relative rate pooled over strata of age band and establishment, with the Greenland-Robins interval. A crude disparity that vanishes once adjusted is explained by where and at what age disabled prisoners are held; one that remains is not."
)
