"""Filters shared by the objective pages, kept in the URL so a copied link reopens the view.

Every widget is bound to a query parameter (``bind="query-params"``); its key is the
parameter's name, so ``?characteristic=ethnic_group&establishment=CAL`` restores a view.
A value in the URL that is not one of the current options falls back to the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from equality_core import data
from equality_core.analysis import Selection
from equality_core.measures import MEASURES, Measure
from equality_core.schema import CHARACTERISTICS

ALL = "All"
EVERYONE = "Everyone"


@dataclass(frozen=True)
class Choices:
    """What the user chose on an objective page."""

    selection: Selection
    characteristic: str
    comparator: str | None
    measure: Measure
    unit: str | None  # the place column an establishment-level view is for
    unit_value: str | None

    @property
    def focus_label(self) -> str:
        """Words for the population analysed, e.g. 'HMP Caldwick, twelve months to 2025-Q4'."""
        return data.period_label(self.selection.period_kind, self.selection.period_end)


def bound_select(
    label: str, options: Sequence[str], *, key: str, help: str | None = None, format_func=str
) -> str:
    """A select box kept in the page address under ``key``; a stale value falls back."""
    options = list(options)
    current = st.session_state.get(key)
    if current is not None and current not in options:
        # A stale value (from a link or a narrower filter) falls back to the default.
        del st.session_state[key]
    return st.selectbox(
        label, options, key=key, bind="query-params", help=help, format_func=format_func
    )


def period_filter(
    quarters: Sequence[str], *, financial_years_only: bool = False
) -> tuple[str, str]:
    """Period kind and the period's end, newest first; rolling twelve months by default."""
    kinds = ["financial_year"] if financial_years_only else list(data.PERIOD_KIND_LABELS)
    kind = bound_select(
        "Period", kinds, key="period_kind", format_func=data.PERIOD_KIND_LABELS.__getitem__
    )
    if financial_years_only:
        choices = sorted(set(quarters), reverse=True)
    else:
        choices = data.period_choices(quarters, kind)
    end = bound_select(
        "Ending" if kind == "rolling" else "Which",
        choices,
        key=f"period_{kind}",
    )
    return kind, end


def place_filters(
    frame: pd.DataFrame, establishments: pd.DataFrame | None, *, columns: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """Region, establishment (searchable), function and estate, or probation region/division."""
    chosen: list[tuple[str, str]] = []
    view = frame
    labels = {
        "region": "Region (prison group)",
        "function": "Establishment function",
        "estate": "Estate",
        "probation_region": "Probation region",
        "division": "Probation delivery unit",
        "establishment": "Establishment",
    }
    names = {}
    if establishments is not None:
        names = dict(
            zip(establishments["code"].astype(str), establishments["name"].astype(str), strict=True)
        )
    for column in columns:
        if column not in frame.columns:
            continue
        # unique() on a categorical column of millions of rows is quick; astype(str) is not.
        values = sorted(map(str, view[column].dropna().unique()))
        if column == "establishment":
            values = sorted(values, key=lambda c: names.get(c, c))
        value = bound_select(
            labels[column],
            [ALL, *values],
            key=column,
            format_func=(lambda c: ALL if c == ALL else f"{names.get(c, c)} ({c})")
            if column == "establishment"
            else str,
        )
        if value != ALL:
            chosen.append((column, value))
            view = view[view[column] == value]
    return tuple(chosen)


def characteristic_filter(
    options: Sequence[str], *, key: str = "characteristic", default: str = "ethnic_group"
) -> str:
    """The protected characteristic to compare groups of."""
    ordered = (
        [default, *[o for o in options if o != default]] if default in options else list(options)
    )
    return bound_select(
        "Characteristic",
        ordered,
        key=key,
        format_func=lambda c: CHARACTERISTICS[c].label,
    )


def comparator_filter(characteristic: str, *, key: str = "comparator") -> str | None:
    """The comparator group; by default the largest group in the population analysed."""
    groups = CHARACTERISTICS[characteristic].groups
    choice = bound_select(
        "Comparator group",
        ["Largest group", *groups],
        key=f"{key}_{characteristic}",
        help="Each group's rate is compared with this group's rate.",
    )
    return None if choice == "Largest group" else choice


def measure_filter(measures: Sequence[Measure], *, key: str = "measure") -> Measure:
    """One measure of those the page covers, labelled in words."""
    names = [m.name for m in measures]
    name = bound_select("Measure", names, key=key, format_func=lambda n: MEASURES[n].label)
    return MEASURES[name]


def within_filter(options: Sequence[str], characteristic: str) -> tuple[str, str] | None:
    """An optional second characteristic to look within (e.g. among 18 to 20 year olds)."""
    others = [o for o in options if o != characteristic]
    second = bound_select(
        "Look within (optional)",
        ["none", *others],
        key="within",
        format_func=lambda c: "No restriction" if c == "none" else CHARACTERISTICS[c].label,
        help="Restrict the analysis to one group of a second characteristic, "
        "for example ethnic group among 18 to 20 year olds.",
    )
    if second == "none":
        return None
    group = bound_select(
        f"{CHARACTERISTICS[second].label} group",
        CHARACTERISTICS[second].groups,
        key=f"within_{second}",
    )
    return (second, group)


def rule_caption() -> None:
    """Remind the reader that figures below are for the filters in the sidebar."""
    st.caption(
        "Filters are in the sidebar and in the page address: copy the link to share this view."
    )
