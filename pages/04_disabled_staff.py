"""Objective 4: close the engagement gap between disabled and non-disabled staff."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis, findings, stats
from equality_core.analysis import Selection
from equality_core.measures import measures_for
from equality_ui import loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("4. Engagement of disabled staff")
st.markdown(
    "Close the engagement gap between disabled and non-disabled staff: the People Survey "
    "engagement index, bullying and harassment, discrimination, and reasonable adjustments: "
    "how many are asked for and how long they take to put in place."
)

EXTRACT = "staff_periods"
DISABLED, NOT_DISABLED = "Disabled", "Not disabled"
SURVEY_QUESTIONS = {
    "pct_bullying_harassment": "Bullying or harassment",
    "pct_discrimination": "Discrimination",
}
DAY_BANDS = ([0, 14, 30, 60, 90, 730], ["Up to 14", "15 to 30", "31 to 60", "61 to 90", "Over 90"])

measures = [m for m in measures_for(extract=EXTRACT) if m.objective == 4]
choices = objective.sidebar_filters(
    EXTRACT, measures, default_characteristic="disability", characteristics=["disability"]
)
pack = objective.board_pack(choices, title="Objective 4: engagement of disabled staff", key="obj4")
selection = choices.selection
year = analysis.periods_of(selection, EXTRACT)[0]
place = objective.place_words(selection)
survey = loading.extract("staff_survey")


def _survey_rows(frame: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """Survey rows for disabled and non-disabled staff in the chosen place (every year)."""
    chosen = frame[
        analysis.place_mask(frame, selection.without_within())
        & (frame["characteristic"] == "disability").to_numpy()
    ]
    return chosen[chosen["group"].isin([DISABLED, NOT_DISABLED])]


@st.cache_data(show_spinner=False, max_entries=32)
def _survey_table(checksum: str, selection: Selection, version: str) -> pd.DataFrame:
    """Bullying and discrimination by disability in the selection's year and place."""
    rows = _survey_rows(loading.extract("staff_survey"), selection)
    year = analysis.periods_of(selection, EXTRACT)[0]
    return analysis.survey_disparities(
        rows[rows["period"] == year],
        columns=list(SURVEY_QUESTIONS),
        protection=panels.protection(),
        comparator=NOT_DISABLED,
        characteristic="disability",
        rule=panels.FLAG_RULE,
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _adjustment_days(checksum: str, selection: Selection) -> pd.DataFrame:
    records = analysis.select(loading.extract(EXTRACT), selection, EXTRACT)
    return records.dropna(subset=["adjustment_days"])[["disability", "adjustment_days"]]


@st.cache_data(show_spinner=False, max_entries=16)
def _day_bands(checksum: str, selection: Selection, version: str) -> pd.DataFrame:
    """Adjustments put in place by how many days they took, for each group (long form)."""
    records = analysis.select(loading.extract(EXTRACT), selection, EXTRACT)
    edges, names = DAY_BANDS
    banded = records.dropna(subset=["adjustment_days"]).assign(
        band=lambda f: pd.cut(f["adjustment_days"], edges, labels=names, include_lowest=True)
    )
    shares, _, _ = analysis.distribution_by_group(
        banded,
        characteristic="disability",
        category="band",
        categories=names,
        groups=[DISABLED, NOT_DISABLED],
        protection=panels.protection(),
        rule=panels.FLAG_RULE,
    )
    return shares.rename(columns={"category": "band"})


def _engagement_index() -> None:
    st.header("Engagement index")
    if survey is None:
        panels.nothing_to_show("staff survey results")
        return
    if selection.within is not None:
        st.caption(
            "Survey results arrive aggregated by one characteristic at a time, so 'look within' "
            "does not apply to the survey sections."
        )
    rows = _survey_rows(survey, selection)
    pooled = analysis.pooled_means(rows, by=["period"])
    wide = pooled.pivot(index="period", columns="group", values=["mean", "sd", "respondents"])
    wide = wide.dropna()
    minimum = panels.configured_protection().survey_minimum
    if not wide.empty:
        wide = wide[
            (wide[("respondents", DISABLED)] >= minimum)
            & (wide[("respondents", NOT_DISABLED)] >= minimum)
        ]
    if wide.empty or year not in wide.index:
        panels.nothing_to_show(
            f"survey years with at least {minimum} disabled and {minimum} non-disabled respondents"
        )
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
        row = gap[gap["period"] == year].iloc[0]
        earlier = gap[gap["period"] < year].tail(1)
        change = (
            None if earlier.empty else abs(row["difference"]) - abs(earlier.iloc[0]["difference"])
        )
        c1, c2, c3 = st.columns(3)
        c1.metric("Engagement, disabled staff", f"{wide.loc[year, ('mean', DISABLED)]:.1f}")
        c2.metric("Engagement, non-disabled staff", f"{wide.loc[year, ('mean', NOT_DISABLED)]:.1f}")
        with c3:
            panels.direction_metric(
                f"Gap, {year} (points)",
                f"{row['difference']:+.1f}",
                change=change,
                change_text=f"{change:+.1f} in size" if change is not None else "",
                lower_is_better=True,
                smallest_shown=0.05,
                help="Disabled minus non-disabled staff's mean engagement index; its change "
                "is the change in the gap's size on the year before.",
            )
        panels.show(
            panels.remembered(
                findings.engagement_gap, gap, year=year, place=place, rule=panels.FLAG_RULE
            ),
            key="engagement",
        )


def _bullying_and_discrimination() -> None:
    st.header("Bullying, harassment and discrimination")
    if survey is None:
        panels.nothing_to_show("staff survey results")
        return
    survey_sum = loading.checksum("staff_survey")
    try:
        table = _survey_table(survey_sum, selection.without_within(), panels.protection_version())
    except stats.ComparatorAbsentError:
        table = None  # surveys hold only the groups reported: never compare with another
    if table is None:
        panels.nothing_to_show("survey answers from non-disabled staff")
    elif table.empty:
        panels.nothing_to_show("survey results")
    else:
        columns = st.columns(len(SURVEY_QUESTIONS))
        for column, (question, words) in zip(columns, SURVEY_QUESTIONS.items(), strict=True):
            view = findings.View(
                findings.Outcome(question, words, "proportion", "adverse"),
                "disability",
                place,
                year,
                "",
                panels.FLAG_RULE,
            )
            with column:
                panels.show(
                    panels.remembered(
                        findings.compared_rates,
                        table[table["measure"] == question],
                        view,
                        key=f"staff-survey-{question}",
                        titles=panels.SURVEY_TITLES,
                    ),
                    key=f"survey-{question}",
                )
        st.caption(
            "Respondents who said so are rebuilt from each unit's reported percentage and its "
            "respondents; groups with fewer than 10 respondents are not shown."
        )


def _reasonable_adjustments() -> None:
    st.header("Reasonable adjustments")
    objective.analysis_block(EXTRACT, measures, choices, key="obj4")

    days = _adjustment_days(loading.checksum(EXTRACT), selection)
    disabled_days = days.loc[days["disability"] == DISABLED, "adjustment_days"].to_numpy()
    other_days = days.loc[days["disability"] == NOT_DISABLED, "adjustment_days"].to_numpy()
    st.subheader("How long adjustments take to put in place")
    if min(len(disabled_days), len(other_days)) < panels.FLAG_RULE.min_denominator:
        panels.nothing_to_show(
            f"groups with at least {panels.FLAG_RULE.min_denominator} adjustments in place"
        )
    else:
        result = stats.compare_medians(disabled_days, other_days)
        c1, c2, c3 = st.columns(3)
        c1.metric("Median days to put in place, disabled staff", f"{result.median_a:.0f}")
        c2.metric("Median days, non-disabled staff", f"{result.median_b:.0f}")
        c3.metric("Mann-Whitney p-value", f"{result.p_value:.3g}")
        shares = _day_bands(loading.checksum(EXTRACT), selection, panels.protection_version())
        panels.show(
            panels.remembered(
                findings.adjustment_days,
                shares,
                result,
                place=place,
                year=year,
                rule=panels.FLAG_RULE,
            ),
            key="days",
        )


objective.sections(
    [
        ("Engagement index", _engagement_index),
        ("Bullying, harassment and discrimination", _bullying_and_discrimination),
        ("Reasonable adjustments", _reasonable_adjustments),
        objective.declaration_section(EXTRACT, choices, key="obj4"),
    ],
    key="obj4",
    pack=pack,
)
panels.methodology_note(
    extra="- **Engagement gap**: difference in mean engagement index (disabled minus "
    "non-disabled) with a Welch interval from respondents and the reported standard "
    "deviation; **days to put an adjustment in place**: medians compared with the "
    "Mann-Whitney test."
)
