"""Shared page parts: disclosed tables with downloads, charts with their table view,
the declaration-rate panel and the methodology note.

Everything a user sees or downloads goes through :func:`equality_core.disclosure.protect`
here, once, so no page can forget it. Text from extracts is shown with ``st.dataframe``,
``st.text`` or plain markdown of our own words, never as HTML.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from equality_core import disclosure, stats
from equality_core.schema import CHARACTERISTICS

DISCLOSURE_RULE = disclosure.DisclosureRule()
FLAG_RULE = stats.FlagRule()
DECLARATION_TARGET = 0.8

_COLUMN_TITLES = {
    "measure_label": "Measure",
    "group": "Group",
    "numerator": "Numerator",
    "denominator": "Denominator",
    "rate": "Rate",
    "rate_low": "Rate: 95% interval from",
    "rate_high": "Rate: 95% interval to",
    "comparator": "Comparator",
    "relative_rate": "Relative rate",
    "rr_low": "Relative rate: 95% interval from",
    "rr_high": "Relative rate: 95% interval to",
    "p_value": "p-value",
    "p_adjusted": "Adjusted p-value (Benjamini-Hochberg)",
    "flag": "Flag",
    "series": "Population",
    "period": "Period",
}


def protected(
    table: pd.DataFrame,
    *,
    family: tuple[str, ...] = ("measure", "characteristic"),
    wider: pd.DataFrame | None = None,
    key: tuple[str, ...] | None = None,
    count_columns: tuple[str, ...] = ("numerator", "denominator"),
    derived_columns: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """``table`` after disclosure control (suppressed values NaN, ``suppressed`` column)."""
    present = tuple(c for c in family if c in table.columns)
    return disclosure.protect(
        table,
        rule=DISCLOSURE_RULE,
        count_columns=count_columns,
        derived_columns=derived_columns,
        family=present,
        wider=wider,
        key=list(key) if key else None,
    )


_DECLARATION_COUNTS = ("declared", "records")
_DECLARATION_DERIVED = ("declaration_rate", "rate_low", "rate_high")


def visible(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a protected table that may be drawn (suppressed rows left out of charts)."""
    if "suppressed" not in table.columns:
        return table
    return table[~table["suppressed"].astype(bool)]


def suppression_note(table: pd.DataFrame) -> None:
    """Say how many groups are hidden by disclosure control, if any."""
    if "suppressed" in table.columns and table["suppressed"].any():
        hidden = int(table["suppressed"].sum())
        st.caption(
            f"{hidden} figure(s) are not shown ([c]): they rest on counts from 1 to "
            f"{DISCLOSURE_RULE.threshold - 1}, or would let such a count be worked out."
        )


def table_view(
    table: pd.DataFrame, *, columns: list[str], file_name: str, key: str, label: str = "Table"
) -> None:
    """Show a protected table as text cells ("[c]" for suppressed) with a CSV download."""
    shown = _as_text_where_mixed(disclosure.for_display(table))
    present = [c for c in columns if c in shown.columns]
    shown = shown[present].rename(columns=_COLUMN_TITLES)
    st.dataframe(shown, hide_index=True, width="stretch")
    st.download_button(
        f"Download this table (CSV, {label.lower()})",
        data=lambda: disclosure.to_safe_csv(table[[c for c in columns if c in table.columns]]),
        file_name=f"{file_name}.csv",
        mime="text/csv",
        key=f"download-{key}",
        icon=":material/download:",
    )


def _format(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, (int, float)) and float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _as_text_where_mixed(table: pd.DataFrame) -> pd.DataFrame:
    """Columns holding both numbers and "[c]" become text, which tables can show."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(lambda v: isinstance(v, str)).any():
            out[column] = out[column].map(_format)
    return out


def chart_with_table(
    chart: alt.TopLevelMixin,
    table: pd.DataFrame,
    *,
    description: str,
    columns: list[str],
    file_name: str,
    key: str,
) -> None:
    """A chart, its screen-reader description, a PNG export and its table view."""
    st.altair_chart(chart, width="stretch")
    st.caption(description)
    with st.expander("Table view and downloads"):
        table_view(table, columns=columns, file_name=file_name, key=key)
        st.download_button(
            "Download the chart as an image (PNG, for slides)",
            data=lambda: _png(chart),
            file_name=f"{file_name}.png",
            mime="image/png",
            key=f"png-{key}",
            icon=":material/image:",
        )


def _png(chart: alt.TopLevelMixin) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_json(), scale=2)


def nothing_to_show(what: str) -> None:
    """A clear message for an empty filter result."""
    st.info(
        f"No {what} match these filters. Widen the period or the place, or choose another group.",
        icon=":material/filter_alt_off:",
    )


def methodology_note(*, extra: str = "") -> None:
    """The flag rule and how the figures are made, in plain words, with the glossary link."""
    with st.expander("How to read these figures", icon=":material/help:"):
        st.markdown(
            f"""
- **Flag rule.** {FLAG_RULE.describe()}
- **Rates** are shown with 95% Wilson score intervals; event rates (per 100 prisoner-quarters)
  with exact Poisson intervals.
- **Relative rate** is a group's rate divided by the comparator group's rate: 1 means the same
  rate, 2 twice the rate. Its 95% interval uses the log method (Katz); event rates use the exact
  conditional method.
- **Tests.** Pearson's chi-square, or Fisher's exact test where any expected count is under 5;
  p-values adjusted for the number of groups compared (Benjamini-Hochberg).
- **Disclosure control.** Counts from 1 to {DISCLOSURE_RULE.threshold - 1}, and the rates and
  ratios made from them, show as [c]; so does any figure that would let one be worked out.
- **Not declared** ("Not stated", "Refused", "Unknown") is never a comparator and is not tested;
  the declaration panel counts it.
{extra}
"""
        )
        st.page_link("pages/90_data.py", label="Glossary of measures and data status")


def declaration_panel(
    coverage: pd.DataFrame, by_unit: pd.DataFrame | None, *, unit_label: str, key: str
) -> None:
    """Declaration rate of each characteristic against the 80% target.

    ``coverage`` is one row per characteristic (the filtered population); ``by_unit`` one
    row per unit and characteristic, from which the units furthest below the target are
    listed.
    """
    st.subheader("Declaration-rate coverage")
    if coverage.empty:
        nothing_to_show("records")
        return
    data = protected(
        coverage,
        family=(),
        count_columns=_DECLARATION_COUNTS,
        derived_columns=_DECLARATION_DERIVED,
    )
    data = data.dropna(subset=["declaration_rate"]).copy()
    if data.empty:
        nothing_to_show("records large enough to show")
        return
    data["label"] = data["characteristic"].map(lambda c: CHARACTERISTICS[c].label)
    data["status"] = data["meets_target"].map(
        {True: "Meets the 80% target", False: "Below the 80% target"}
    )
    below = data.loc[~data["meets_target"], "label"].tolist()
    title = (
        "Every characteristic is declared on at least 80% of records"
        if not below
        else f"{len(below)} characteristic(s) below the 80% declaration target"
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "declaration_rate:Q",
                title="Share of records with a declared value",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("label:N", title=None, sort=None),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=["Meets the 80% target", "Below the 80% target"],
                    range=["#12436D", "#F46A25"],
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Characteristic"),
                alt.Tooltip("declared:Q", title="Declared", format=","),
                alt.Tooltip("records:Q", title="Records", format=","),
                alt.Tooltip("declaration_rate:Q", title="Declaration rate", format=".1%"),
            ],
        )
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(color="#3D3D3D")
        .encode(x="rate_low:Q", x2="rate_high:Q", y=alt.Y("label:N", sort=None))
    )
    target = (
        alt.Chart(pd.DataFrame({"x": [DECLARATION_TARGET]}))
        .mark_rule(strokeDash=[4, 3], color="#0B0C0C")
        .encode(x="x:Q")
    )
    chart = alt.layer(bars, whiskers, target).properties(
        title=alt.Title(title, subtitle="Dashed line: the 80% target", anchor="start"),
        height=alt.Step(26),
    )
    description = "; ".join(
        f"{row.label} {row.declaration_rate:.0%}" for row in data.itertuples(index=False)
    )
    st.altair_chart(chart, width="stretch")
    st.caption(f"Declaration rates: {description}.")
    weak = data[data["below_publication_threshold"]]
    if not weak.empty:
        st.warning(
            "Declared on fewer than 60% of records: "
            + ", ".join(weak["label"])
            + ". Results for these characteristics may not represent everyone; read them "
            "with care (HMPPS does not publish a characteristic below this level).",
            icon=":material/warning:",
        )
    if by_unit is not None and not by_unit.empty:
        worst = visible(
            protected(
                by_unit,
                family=(),
                count_columns=_DECLARATION_COUNTS,
                derived_columns=_DECLARATION_DERIVED,
            )
        )
        worst = worst.sort_values("declaration_rate").head(8).drop(columns="suppressed")
        worst["characteristic"] = worst["characteristic"].map(lambda c: CHARACTERISTICS[c].label)
        with st.expander(f"{unit_label}s furthest below the target"):
            shown = worst.rename(
                columns={
                    "characteristic": "Characteristic",
                    "declared": "Declared",
                    "records": "Records",
                    "declaration_rate": "Declaration rate",
                }
            )
            st.dataframe(
                shown.drop(
                    columns=[
                        c
                        for c in (
                            "rate_low",
                            "rate_high",
                            "meets_target",
                            "below_publication_threshold",
                        )
                        if c in shown.columns
                    ]
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    "Declaration rate": st.column_config.NumberColumn(format="percent"),
                },
            )
