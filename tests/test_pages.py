"""Every page with Streamlit's AppTest on the bundled small demo.

Each page runs without an exception, its filters change what is shown, a query string
restores a view, and no count from 1 to 4 appears in any rendered table of any section.
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from equality_core.measures import MEASURES
from equality_core.schema import CHARACTERISTICS
from tests.conftest import (
    REPOSITORY,
    each_section,
    flagged_matrix_rows,
    open_section,
    open_table_views,
)

pytestmark = pytest.mark.xdist_group("apptest")

APP = str(REPOSITORY / "app.py")
PAGES = [
    "pages/00_overview.py",
    "pages/01_psed.py",
    "pages/02_offenders.py",
    "pages/03_workforce.py",
    "pages/04_disabled_staff.py",
    "pages/05_disabled_offenders.py",
    "pages/90_data.py",
    "pages/91_presentation.py",
]
#: Column titles that hold counts of people (or events) in rendered tables.
COUNT_COLUMNS = {
    "Numerator",
    "Denominator",
    "Declared",
    "Records",
    "Staff in group",
    "Staff who declared",
    "Deaths",
    "Respondents",
    "Respondents who said so",
    "Adjustments",
    "All adjustments",
}
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _bundled_demo(monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))


def _open(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page != "pages/00_overview.py":
        at.switch_page(page).run()
    return open_table_views(at)


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.subheader]
    parts += [e.value for e in at.title] + [e.value for e in at.caption]
    return "\n".join(str(p) for p in parts)


def _small_counts(at: AppTest) -> list[tuple[str | None, str, object]]:
    """Counts from 1 to 4 in the page's tables, section by section: (tab, column, value)."""
    found = []
    for section in each_section(at):
        found += [(section, *count) for count in _small_counts_shown(at)]
    return found


def _small_counts_shown(at: AppTest) -> list[tuple[str, object]]:
    """Counts from 1 to 4 in the tables drawn now (table views opened by the caller)."""
    found = []
    for element in at.dataframe:
        frame = element.value
        if not isinstance(frame, pd.DataFrame):
            continue
        for column in frame.columns:
            if str(column) not in COUNT_COLUMNS:
                continue
            # Counts are shown with thousands separators: read them back as numbers.
            values = pd.to_numeric(
                frame[column].astype(str).str.replace(",", "", regex=False), errors="coerce"
            )
            small = values[(values >= 1) & (values <= 4)]
            found += [(str(column), v) for v in small.tolist()]
    return found


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_and_shows_no_small_counts(page: str) -> None:
    at = _open(page)
    assert not at.exception, [e.value for e in at.exception]
    assert "Synthetic demo data" in "\n".join(w.value for w in at.warning)
    assert not _small_counts(at)


@pytest.mark.parametrize(
    ("page", "other", "section"),
    [
        ("pages/02_offenders.py", "segregated", "Outcomes by group"),
        ("pages/03_workforce.py", "leaver", "The staff journey"),
        ("pages/05_disabled_offenders.py", "segregated", "One outcome in detail"),
    ],
)
def test_filters_change_what_is_shown(page: str, other: str, section: str) -> None:
    at = open_section(_open(page), section)
    before = _texts(at)
    measure = at.selectbox(key="measure")
    assert measure.value != other
    measure.set_value(other).run()
    assert not at.exception
    assert _texts(at) != before


def test_characteristic_filter_changes_the_matrix() -> None:
    at = _open("pages/01_psed.py")
    before = _texts(at)
    at.selectbox(key="characteristic").set_value("age_band").run()
    assert not at.exception
    after = _texts(at)
    assert after != before
    assert "age band" in after.lower()


def test_query_string_restores_a_view() -> None:
    """A bound widget keeps the label it shows in the address, as a shared link holds it."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["characteristic"] = "Religion or belief"
    at.query_params["measure"] = MEASURES["negative_case_note"].label
    at.switch_page("pages/02_offenders.py").run()
    assert not at.exception
    assert at.selectbox(key="characteristic").value == "religion"
    assert at.selectbox(key="measure").value == "negative_case_note"


def test_establishment_filter_shows_national_beside_it() -> None:
    at = _open("pages/02_offenders.py")
    establishments = pd.read_parquet(REPOSITORY / "data" / "validated" / "establishments.parquet")
    code = establishments.loc[establishments["function"] == "Category B local", "code"].iloc[0]
    at.selectbox(key="establishment").set_value(code).run()
    assert not at.exception
    open_table_views(at)
    tables = [e.value for e in at.dataframe if "Population" in getattr(e.value, "columns", [])]
    assert tables, "the relative-rate table shows the establishment and national series"
    assert "England and Wales" in set(tables[0]["Population"])
    assert not _small_counts(at)


def test_a_region_is_shown_beside_england_and_wales() -> None:
    at = _open("pages/02_offenders.py")
    region = at.selectbox(key="region").options[1]
    at.selectbox(key="region").set_value(region).run()
    assert not at.exception
    open_table_views(at)
    tables = [e.value for e in at.dataframe if "Population" in getattr(e.value, "columns", [])]
    assert set(tables[0]["Population"]) == {region, "England and Wales"}
    assert not _small_counts(at)


def test_empty_filter_result_says_so() -> None:
    at = _open("pages/02_offenders.py")
    at.selectbox(key="estate").set_value("Women's").run()
    at.selectbox(key="characteristic").set_value("sex").run()
    assert not at.exception


OBJECTIVE_PAGES = PAGES[1:6]


def _first_establishment(function: str = "Category B local") -> str:
    establishments = pd.read_parquet(REPOSITORY / "data" / "validated" / "establishments.parquet")
    return str(establishments.loc[establishments["function"] == function, "code"].iloc[0])


@pytest.mark.parametrize("page", OBJECTIVE_PAGES)
def test_every_objective_page_has_the_shared_filters(page: str) -> None:
    at = _open(page)
    keys = {element.key for element in at.selectbox}
    assert {"measure", "period_kind", "within", "region", "establishment"} <= keys, keys
    assert any(k.startswith("comparator") for k in keys)
    coverage = [
        section
        for section in each_section(at)
        if "Declaration-rate coverage" in [s.value for s in at.subheader]
    ]
    assert coverage == ["Declaration rates"]


def _england_and_wales(at: AppTest) -> pd.DataFrame:
    """The England and Wales rows of the first table with a population column."""
    open_table_views(at)
    for element in at.dataframe:
        frame = element.value
        if isinstance(frame, pd.DataFrame) and "Population" in frame.columns:
            rows = frame[frame["Population"] == "England and Wales"]
            return rows.set_index("Group")[["Numerator", "Denominator"]].astype(str)
    raise AssertionError("no table shows England and Wales")


@pytest.mark.parametrize("page", OBJECTIVE_PAGES)
def test_an_establishment_view_shows_no_small_counts(page: str) -> None:
    """The narrowest view the filters allow is where small counts turn up."""
    at = _open(page)
    at.selectbox(key="establishment").set_value(_first_establishment()).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not _small_counts(at)
    at.selectbox(key="within").set_value("age_band").run()
    at.selectbox(key="within_age_band").set_value("18-20").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not _small_counts(at)


def test_within_a_characteristic_the_community_lacks_leaves_it_out() -> None:
    at = _open("pages/01_psed.py")
    at.selectbox(key="within").set_value("sexual_orientation").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "left out" in _texts(at)


def test_deaths_in_custody_are_rates_per_1000_prisoner_years() -> None:
    at = open_table_views(open_section(_open("pages/02_offenders.py"), "Deaths in custody"))
    deaths = [e.value for e in at.dataframe if "Deaths" in getattr(e.value, "columns", [])]
    assert deaths, "the deaths table is shown"
    assert "Deaths per 1,000 prisoner-years" in deaths[0].columns
    at.selectbox(key="characteristic").set_value("sexual_orientation").run()
    assert "cannot be shown by sexual orientation" in "\n".join(i.value for i in at.info)


def test_data_page_explains_a_failed_validation_and_keeps_the_last_good(
    tmp_path, monkeypatch
) -> None:
    import shutil

    from equality_core.paths import DataPaths
    from equality_core.validation import validate_all

    paths = DataPaths(tmp_path / "data")
    shutil.copytree(REPOSITORY / "data", paths.root)
    raw = paths.raw / "benchmarks.csv"
    frame = pd.read_csv(raw, dtype=str, keep_default_na=False)
    frame.loc[0, "benchmark_share"] = "1.7"
    frame.to_csv(raw, index=False)
    published = paths.validated_file("benchmarks").read_bytes()
    [outcome] = validate_all(paths, ["benchmarks"])
    assert not outcome.success
    assert paths.validated_file("benchmarks").read_bytes() == published

    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(paths.root))
    at = _open("pages/90_data.py")
    assert any("Why benchmarks failed" in e.label for e in at.expander)
    failures = [e.value for e in at.dataframe if "Rule" in getattr(e.value, "columns", [])]
    assert failures and "benchmark_share" in set(failures[0]["Column"])
    assert "benchmark_share is between 0 and 1" in " ".join(failures[0]["Rule"].astype(str))
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "Latest validation failed for benchmarks" in sidebar


def test_england_and_wales_reads_the_same_beside_any_place() -> None:
    """One cell, one count: subtracting a place from England and Wales gives perturbed figures.

    The men's estate holds nearly every prisoner, so England and Wales minus the estate
    is a few people. With table-by-table suppression, England and Wales was hidden or
    shown depending on what sat beside it; with the cell key method its counts are the
    same in every view, so the difference is of two perturbed counts, never a true one.
    """
    at = _open("pages/02_offenders.py")
    at.selectbox(key="measure").set_value("segregated").run()
    at.selectbox(key="region").set_value(at.selectbox(key="region").options[1]).run()
    beside_region = _england_and_wales(at)
    at.selectbox(key="region").set_value(at.selectbox(key="region").options[0]).run()
    at.selectbox(key="estate").set_value("Men's").run()
    assert not at.exception, [e.value for e in at.exception]
    beside_estate = _england_and_wales(at)
    pd.testing.assert_frame_equal(beside_region, beside_estate)
    assert not _small_counts(at)


def test_the_overview_names_the_flags_objective_1_shows() -> None:
    """The overview's first tile lists the very cells the matrix flags, no more, no fewer."""
    overview = _open("pages/00_overview.py")
    matrix = flagged_matrix_rows(_open("pages/01_psed.py"))
    assert matrix, "the demo plants flags by ethnic group"
    texts = [str(m.value) for m in overview.markdown]
    at = next(
        i for i, t in enumerate(texts) if "flagged by ethnic group in the Equality Monitoring" in t
    )
    count = int(texts[at].split()[0])
    assert count == len(matrix)
    short = CHARACTERISTICS["ethnic_group"].short_label
    expected = {f"{label}: {short(group)} " for label, group in matrix}
    named = [line[2:].replace("\\", "") for line in texts[at + 1].splitlines()]
    assert named and len(named) == min(5, count)
    for line in named:
        assert any(line.startswith(prefix) for prefix in expected), line


def test_a_cell_has_the_same_adjusted_p_value_on_every_page() -> None:
    """Proven adjudication for Black prisoners: the matrix and the detail show one p-value."""
    psed = _open("pages/01_psed.py")
    offenders = _open("pages/02_offenders.py")

    def p_value(at: AppTest, label_column: str | None) -> str:
        for element in at.dataframe:
            frame = element.value
            if not isinstance(frame, pd.DataFrame) or "Group" not in frame.columns:
                continue
            title = "Adjusted p-value (Benjamini-Hochberg)"
            if title not in frame.columns:
                continue
            rows = frame[frame["Group"].astype(str).str.startswith("Black")]
            if label_column:
                rows = rows[rows[label_column] == "Proven adjudication"]
            return str(rows[title].iloc[0])
        raise AssertionError("no table with adjusted p-values")

    assert p_value(psed, "Measure") == p_value(offenders, None)


def test_a_quarter_at_one_establishment_shows_even_with_no_survey_that_quarter() -> None:
    """Surveys are yearly: a quarter's selection of them is empty, and must not crash."""
    at = _open("pages/02_offenders.py", {"period_kind": "Quarter"})
    at.selectbox(key="establishment").set_value(_first_establishment()).run()
    assert not at.exception, [e.value for e in at.exception]


def test_the_overview_shows_a_chosen_place_beside_england_and_wales() -> None:
    """An executive sees their own establishment's tiles, with England and Wales beside."""
    at = _open("pages/00_overview.py")
    at.selectbox(key="establishment").set_value(_first_establishment()).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(str(c.value) for c in at.caption)
    assert "beside England and Wales" in captions
    texts = [str(m.value) for m in at.markdown]
    assert sum(t.startswith("England and Wales: ") for t in texts) >= 3
    assert not _small_counts(at)
    # The place's tile counts the place's own matrix, as objective 1 shows it there.
    psed = AppTest.from_file(APP, default_timeout=TIMEOUT)
    psed.run()
    psed.switch_page("pages/01_psed.py").run()
    psed.selectbox(key="establishment").set_value(_first_establishment()).run()
    flagged = flagged_matrix_rows(psed)
    first_tile = next(t for t in texts if "flagged by ethnic group in the Equality" in t)
    assert int(first_tile.split()[0]) == len(flagged)


def test_england_and_wales_beside_a_place_is_england_and_wales_own_overview() -> None:
    """The figures beside a chosen place are those the overview shows for England and Wales.

    For a user who may see every place they are asked for as the first draw's own (no
    place), so they must be England and Wales's figures, not the place's.
    """
    at = _open("pages/00_overview.py")
    national = [
        str(m.value).split(" of ")[0]
        for m in at.metric
        if not str(m.label).startswith("Engagement gap")
    ]
    at.selectbox(key="establishment").set_value(_first_establishment()).run()
    assert not at.exception, [e.value for e in at.exception]
    beside = [str(m.value) for m in at.markdown if str(m.value).startswith("England and Wales: ")]
    assert beside == [f"England and Wales: {value}." for value in national]
    here = [str(m.value).split(" of ")[0] for m in at.metric]
    assert here != national[: len(here)]  # the place's own figures differ


def test_every_chart_drawn_is_a_valid_vega_lite_specification() -> None:
    # Pages draw specifications unvalidated (validation is slow); here every one that the
    # pages drew in this process is checked against the Vega-Lite schema.
    from altair.vegalite.v6.schema.core import TopLevelSpec

    from equality_ui import panels

    for page in PAGES:
        _open(page)
    drawings = list(panels._DRAWINGS.values())
    assert len(drawings) >= 20
    for drawing in drawings:
        TopLevelSpec.validate(drawing.spec)


def test_a_comparator_the_surveys_lack_says_so_instead_of_failing() -> None:
    """Surveys hold only the groups reported: Hindu prisoners answered no survey in 2024-Q3.

    Found by the twenty-session load test (objective 2, religion, comparator Hindu, a
    quarter): the page failed. It now says the surveys cannot be compared with the group
    chosen, never compares them with another group, and draws everything else.
    """
    survey = pd.read_parquet(REPOSITORY / "data" / "validated" / "prisoner_survey.parquet")
    religion = survey[(survey["characteristic"] == "religion") & (survey["period"] == "2024-Q3")]
    assert "Hindu" not in set(religion["group"].astype(str)), "the demo this test relies on"
    at = _open(
        "pages/02_offenders.py",
        {
            "characteristic": "Religion or belief",
            "period_kind": "Quarter",
            "obj2-section": "Perceptions in surveys",
        },
    )
    at.selectbox(key="period_quarter").set_value("2024-Q3").run()
    at.selectbox(key="comparator_religion").set_value("Hindu").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    notes = " ".join(i.value for i in at.info)
    assert "inspection surveys hold no answers from the Hindu group" in notes
    # The rest of the page is drawn, compared with the group chosen.
    assert any("Hindu" in str(m.value) for m in at.markdown)


def _drawn(tab) -> int:
    """How many elements a tab holds (directly)."""
    return len(tab.children)


@pytest.mark.parametrize("page", OBJECTIVE_PAGES)
def test_only_the_open_section_is_computed_until_a_board_pack_is_made(page: str) -> None:
    at = _open(page)
    labels = [tab.label for tab in at.tabs]
    assert len(labels) >= 3
    assert "Declaration rates" in labels
    for opened in each_section(at):
        drawn = {tab.label: _drawn(tab) for tab in at.tabs}
        assert drawn.pop(opened) > 0, opened
        assert set(drawn.values()) == {0}, (opened, drawn)
    # The board pack holds every section: the run that makes it draws them all.
    key = page.split("/")[1][:2].lstrip("0")
    at.button(key=f"make-boardpack-obj{key}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert all(_drawn(tab) > 0 for tab in at.tabs), {t.label: _drawn(t) for t in at.tabs}
    labels = [str(b.proto.label) for b in at.get("download_button")]
    assert "Download the board pack (PowerPoint)" in labels
    # The next run (any other click) computes the open section alone again.
    at.run()
    assert [_drawn(tab) > 0 for tab in at.tabs].count(True) == 1


def test_the_open_section_is_kept_in_the_address() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["obj2-section"] = "Deaths in custody"
    at.switch_page("pages/02_offenders.py").run()
    assert not at.exception
    drawn = {tab.label: _drawn(tab) for tab in at.tabs}
    assert drawn["Deaths in custody"] > 0
    assert "Deaths in custody" in [h.value for h in at.header]
    # The community setting has no deaths in custody: its first section opens instead.
    at.button_group(key="setting").set_value("Community: orders and licences ended").run()
    assert not at.exception
    assert [tab.label for tab in at.tabs] == ["Outcomes by group", "Declaration rates"]
    assert _drawn(at.tabs[0]) > 0


def _engagement_gap(region: str | None) -> tuple[str, float] | None:
    """The latest year's disabled minus non-disabled mean engagement index, from the extract.

    Respondent-weighted means of the units' indices, each group of each year kept only
    with at least ten respondents (the demo's survey minimum).
    """
    survey = pd.read_parquet(REPOSITORY / "data" / "validated" / "staff_survey.parquet")
    if region is not None:
        establishments = pd.read_parquet(
            REPOSITORY / "data" / "validated" / "establishments.parquet"
        )
        codes = set(establishments.loc[establishments["region"] == region, "code"])
        survey = survey[survey["establishment"].isin(codes)]
    survey = survey[
        (survey["characteristic"] == "disability")
        & (survey["respondents"] > 0)
        & survey["engagement_index"].notna()
        & survey["engagement_sd"].notna()
    ]
    weighted = survey.assign(total=survey["respondents"] * survey["engagement_index"])
    sums = weighted.groupby(["period", "group"])[["respondents", "total"]].sum()
    sums = sums[sums["respondents"] >= 10]
    means = (sums["total"] / sums["respondents"]).unstack("group")
    if not {"Disabled", "Not disabled"} <= set(means.columns):
        return None
    gaps = (means["Disabled"] - means["Not disabled"]).dropna().sort_index()
    return (str(gaps.index[-1]), float(gaps.iloc[-1])) if len(gaps) else None


def test_the_overview_engagement_gap_is_the_chosen_place_s() -> None:
    """The fourth tile's gap, nationally, for a region and nationally again, from the survey.

    The small demo's regions have too few disabled respondents for a gap, so the region's
    tile must say so, and England and Wales's gap must come back unchanged after it.
    """
    at = _open("pages/00_overview.py")
    region = at.selectbox(key="region").options[1]  # the first is "All"
    assert _engagement_gap(None) is not None, "the demo has enough respondents nationally"
    for chosen in (None, region, None):
        box = at.selectbox(key="region")
        box.set_value(chosen if chosen is not None else box.options[0]).run()
        assert not at.exception, [e.value for e in at.exception]
        expected = _engagement_gap(chosen)
        shown = [m for m in at.metric if str(m.label).startswith("Engagement gap")]
        if expected is None:
            assert not shown
            assert any(str(m.value).startswith("Too few respondents here") for m in at.markdown)
        else:
            year, gap = expected
            assert [(m.label, m.value) for m in shown] == [
                (f"Engagement gap, {year} (points)", f"{gap:+.1f}")
            ]
