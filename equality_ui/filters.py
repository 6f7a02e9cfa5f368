"""Filters shared by the objective pages, kept in the URL so a copied link reopens the view.

Every widget is bound to a query parameter (``bind="query-params"``); its key is the
parameter's name and the address holds the label the widget shows, so
``?characteristic=Religion+or+belief&establishment=HMP+Caldwick+(CAL)`` restores a view.

The address and the page are kept honest with each other:

- a value in the address that is not one of the options is named, escaped, in one message
  with what is shown instead (Streamlit then drops it from the address);
- a value that stops being an option (the setting changed, a narrower filter) falls back
  to the default, and the widget is told, so it never shows a value the figures are not
  for; when the setting changed, a caption says which filters fell back;
- a reset button puts every filter back to its default, which clears it from the address.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from equality_core import data, windows
from equality_core.analysis import Selection
from equality_core.measures import MEASURES, Measure
from equality_core.schema import CHARACTERISTICS
from equality_ui import identity

ALL = "All"
EVERYONE = "Everyone"
PLACE_LABELS = {
    "region": "Region (prison group)",
    "function": "Establishment function",
    "estate": "Estate",
    "probation_region": "Probation region",
    "division": "Probation delivery unit",
    "establishment": "Establishment",
}
#: Session-state keys this module keeps for itself (never query parameters).
_DEFAULTS = "_filters_defaults"
_SETTING_SHOWN = "_filters_setting_shown"
#: How much of a value from the address a message repeats.
_SHOWN_CHARACTERS = 60
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


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


@dataclass(frozen=True)
class AddressProblem:
    """A value in the page address that is not one of a filter's options."""

    parameter: str
    value: str
    label: str
    noun: str
    instead: str

    def sentence(self) -> str:
        """The problem in words, as Markdown with every value escaped.

        Places are worded the same whether the value names no place or a place outside
        what may be chosen, so the message never tells one from the other.
        """
        return (
            f"The page address sets “{escape(self.parameter)}” to “{shown(self.value)}”, "
            f"which is not {self.noun} you can choose; {escape(self.label)} shows "
            f"“{escape(self.instead)}” instead."
        )


@dataclass(frozen=True)
class FellBack:
    """A filter whose value stopped being an option; ``now`` is None if it was cleared."""

    label: str
    was: str
    now: str | None

    def words(self) -> str:
        if self.now is None:
            return f"{escape(self.label)} “{escape(self.was)}” does not apply and is cleared"
        return (
            f"{escape(self.label)} is now “{escape(self.now)}”, as “{escape(self.was)}” "
            "is not offered"
        )


@dataclass
class Notes:
    """What the filters of one run have to tell the reader."""

    address: list[AddressProblem] = field(default_factory=list)
    fell_back: list[FellBack] = field(default_factory=list)


#: The notes of the filters being read in this script run, if any are being collected.
_NOTES: ContextVar[Notes | None] = ContextVar("equality_filter_notes", default=None)


@contextmanager
def noting() -> Iterator[Notes]:
    """Collect the address problems and fallbacks of the filters read inside the block."""
    notes = Notes()
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def escape(text: str) -> str:
    """``text`` with every ASCII punctuation character backslash-escaped for Markdown.

    CommonMark lets any ASCII punctuation be escaped, so links, emphasis, HTML tags,
    entities, LaTeX and Streamlit's ``:colour[...]`` directives all show as typed.
    """
    return _ASCII_PUNCTUATION.sub(r"\\\1", text)


def shown(value: str) -> str:
    """A value from the address as a message may repeat it: visible, short and escaped.

    Control and invisible characters are written as escapes (``\\x00``, ``\\u200b``) so a
    reader sees they are there, and a long value is cut short.
    """
    if value == "":
        return "(nothing)"
    visible = "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch).startswith(("C", "Z")) and ch != " "
        else ch
        for ch in value[: _SHOWN_CHARACTERS + 1]
    )
    if len(value) > _SHOWN_CHARACTERS or len(visible) > _SHOWN_CHARACTERS:
        visible = visible[:_SHOWN_CHARACTERS] + "…"
    return escape(visible)


def show_address_problems(problems: Sequence[AddressProblem]) -> None:
    """One message naming every value of the address that the filters could not use."""
    if not problems:
        return
    # A value not offered may be a place outside the user's scope: a refused request.
    identity.record_refusals([(p.parameter, p.value) for p in problems])
    sentences = [p.sentence() for p in problems]
    body = sentences[0] if len(sentences) == 1 else "\n".join(f"- {s}" for s in sentences)
    st.warning(body, icon=":material/link_off:")


def show_fallbacks(fell_back: Sequence[FellBack], setting: str) -> None:
    """A short caption naming the filters that fell back when the setting changed."""
    if fell_back:
        st.caption(
            f"The setting changed to {escape(setting)}, so filters it does not offer fell "
            f"back: {'; '.join(f.words() for f in fell_back)}."
        )


def remember_default(key: str, default: str) -> None:
    """Record a bound widget's default, for the reset button."""
    st.session_state.setdefault(_DEFAULTS, {})[key] = default


def address_problem(
    key: str, labels: Sequence[str], *, label: str, noun: str, instead: str
) -> AddressProblem | None:
    """The address's value for ``key`` if the widget is about to be seeded from it and
    it is not one of ``labels`` (the options as the widget shows them), else None.
    """
    if key in st.session_state:
        return None  # the widget already has a value: the address does not decide it
    value = st.query_params.get(key)
    if value is None or value in labels:
        return None
    return AddressProblem(key, value, label, noun, instead)


def _note_address_problem(problem: AddressProblem | None) -> None:
    if problem is None:
        return
    notes = _NOTES.get()
    if notes is None:
        show_address_problems([problem])
    else:
        notes.address.append(problem)


def _formatted(value: object, format_func: Callable[[object], object]) -> str:
    try:
        return str(format_func(value))
    except (KeyError, ValueError, TypeError, AttributeError):
        return str(value)


def bound_select(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    help: str | None = None,
    format_func=str,
    noun: str = "an option",
) -> str:
    """A select box kept in the page address under ``key``.

    A value in the address that is not an option is named in a message; a value that
    stopped being an option (from another setting or a narrower filter) falls back to
    the first option, and the widget is told so it shows what the figures are for.
    """
    options = list(options)
    if options:
        labels = [_formatted(o, format_func) for o in options]
        remember_default(key, options[0])
        if key in st.session_state:
            current = st.session_state[key]
            if current not in options:
                # Assigned, not deleted: the browser is then told the new value (and the
                # address drops the old one) instead of keeping the stale label on show.
                st.session_state[key] = options[0]
                notes = _NOTES.get()
                if notes is not None:
                    was = _formatted(current, format_func)
                    notes.fell_back.append(FellBack(label, was, labels[0]))
        else:
            _note_address_problem(
                address_problem(key, labels, label=label, noun=noun, instead=labels[0])
            )
    return st.selectbox(
        label, options, key=key, bind="query-params", help=help, format_func=format_func
    )


def bound_setting(label: str, options: Sequence[str], *, key: str, noun: str) -> str:
    """A segmented control kept in the address; the first option when none is chosen."""
    options = list(options)
    remember_default(key, options[0])
    problem = address_problem(key, options, label=label, noun=noun, instead=options[0])
    value = (
        st.segmented_control(label, options, default=options[0], key=key, bind="query-params")
        or options[0]
    )
    if problem is not None:
        show_address_problems([problem])
    return value


def setting_changed(setting: str | None) -> bool:
    """Whether ``setting`` differs from the one the page was last drawn for."""
    if setting is None:
        return False
    previous = st.session_state.get(_SETTING_SHOWN)
    st.session_state[_SETTING_SHOWN] = setting
    return previous is not None and previous != setting


def clear_places_not_in(columns: Sequence[str], names: dict[str, str]) -> None:
    """Clear the place filters a new setting does not offer, noting each one cleared."""
    notes = _NOTES.get()
    for column, label in PLACE_LABELS.items():
        if column in columns:
            continue
        value = st.session_state.get(column)
        if value is None or value == ALL:
            continue
        st.session_state[column] = ALL
        if notes is not None:
            was = f"{names.get(value, value)} ({value})" if column == "establishment" else value
            notes.fell_back.append(FellBack(label, str(was), None))


def _reset() -> None:
    for key, default in st.session_state.get(_DEFAULTS, {}).items():
        st.session_state[key] = default
    st.session_state.pop(_SETTING_SHOWN, None)


def reset_button() -> None:
    """A button that puts every filter back to its default and clears it from the address."""
    st.button(
        "Reset filters",
        key="reset_filters",
        on_click=_reset,
        icon=":material/restart_alt:",
        help="Put every filter back to its default; the page address loses them too.",
    )


def period_filter(
    quarters: Sequence[str], *, financial_years_only: bool = False
) -> tuple[str, str]:
    """Period kind and the period's end, newest first; rolling twelve months by default."""
    kinds = ["financial_year"] if financial_years_only else list(data.PERIOD_KIND_LABELS)
    kind = bound_select(
        "Period",
        kinds,
        key="period_kind",
        format_func=data.PERIOD_KIND_LABELS.__getitem__,
        noun="a kind of period",
    )
    if financial_years_only:
        choices = sorted(set(quarters), reverse=True)
    else:
        choices = data.period_choices(quarters, kind)
    end = bound_select(
        "Ending" if kind == "rolling" else "Which",
        choices,
        key=f"period_{kind}",
        noun="a period",
    )
    return kind, end


def establishment_names(establishments: pd.DataFrame | None) -> dict[str, str]:
    """Establishment names by code."""
    if establishments is None:
        return {}
    return dict(
        zip(establishments["code"].astype(str), establishments["name"].astype(str), strict=True)
    )


def place_filters(
    frame: pd.DataFrame, establishments: pd.DataFrame | None, *, columns: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """Region, establishment (searchable), function and estate, or probation region/division."""
    chosen: list[tuple[str, str]] = []
    # The distinct places of the records (a few hundred rows, kept with the frame), not
    # the millions of records themselves.
    view = windows.place_table(frame)
    names = establishment_names(establishments)
    for column in columns:
        if column not in view.columns:
            continue
        values = sorted(map(str, view[column].dropna().unique()))
        if column == "establishment":
            values = sorted(values, key=lambda c: names.get(c, c))
        value = bound_select(
            PLACE_LABELS[column],
            [ALL, *values],
            key=column,
            format_func=(lambda c: ALL if c == ALL else f"{names.get(c, c)} ({c})")
            if column == "establishment"
            else str,
            # The same words whether the value names no place or one out of scope.
            noun="a place",
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
        noun="a characteristic",
    )


def comparator_filter(characteristic: str, *, key: str = "comparator") -> str | None:
    """The comparator group; by default the largest group in the population analysed."""
    groups = CHARACTERISTICS[characteristic].groups
    choice = bound_select(
        "Comparator group",
        ["Largest group", *groups],
        key=f"{key}_{characteristic}",
        help="Each group's rate is compared with this group's rate.",
        noun="a comparator group",
    )
    return None if choice == "Largest group" else choice


def measure_filter(measures: Sequence[Measure], *, key: str = "measure") -> Measure:
    """One measure of those the page covers, labelled in words."""
    names = [m.name for m in measures]
    name = bound_select(
        "Measure", names, key=key, format_func=lambda n: MEASURES[n].label, noun="a measure"
    )
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
        noun="a characteristic to look within",
    )
    if second == "none":
        return None
    group = bound_select(
        f"{CHARACTERISTICS[second].label} group",
        CHARACTERISTICS[second].groups,
        key=f"within_{second}",
        noun="a group",
    )
    return (second, group)


def rule_caption() -> None:
    """Remind the reader that figures below are for the filters in the sidebar."""
    st.caption(
        "Filters are in the sidebar and in the page address: copy the link to share this view."
    )
