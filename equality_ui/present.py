"""Slides, board packs and one-page summaries: the dashboard's side.

- :func:`collect` is called by ``panels.show`` for every Finding a page draws, so that
  :func:`board_pack_offer` can offer the page's findings as a PowerPoint deck
  (:mod:`equality_core.boardpack`) without the page listing them again.
- :func:`summary_pdf_offer` offers the one-page PDF of a place
  (:mod:`equality_core.summary_pdf`).
- :func:`deck` makes the slides of presentation mode for a place, period and
  characteristics: the flagged outcomes first, then declaration coverage, then the
  objectives' headline figures; :func:`keyboard` lets the arrow keys and Page Up/Down
  move between them.

Every file goes through ``panels.download_button`` (the download permission, the audit
trail with the file's hash) and carries the source lines, the disclosure control
applied, the demo words when the data are the demo, and the marking when the viewer
sees exact figures. The files are built when the button is pressed, outside the script
run: everything read from Streamlit (provenance, marking, the manifest) is read now.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from equality_core import analysis, data, findings, stats, summary_pdf
from equality_core.analysis import Selection
from equality_core.findings import Finding
from equality_core.measures import MEASURES, measures_for
from equality_core.schema import CHARACTERISTICS, EXTRACTS, STAFF_GRADES
from equality_ui import loading, objective, panels

if TYPE_CHECKING:
    from equality_core import boardpack

LOG = logging.getLogger("equality_monitor")

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_SHOWN = "_equality_monitor_findings_shown"


# --- Findings a page shows -----------------------------------------------------------------


def shown_this_run() -> list[Finding]:
    """The findings ``panels.show`` has drawn in this script run, in order.

    Kept on the run's context (a new run, or a fragment's rerun, starts a new list), so
    two sessions never see each other's. The same list object fills as the page goes on:
    an offer made before the page's last finding still builds from all of them, since
    its file is made after the run, when the button is pressed.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return []
    held = getattr(ctx, _SHOWN, None)
    if held is None or held[0] is not ctx.cursors:
        held = (ctx.cursors, [])
        setattr(ctx, _SHOWN, held)
    return held[1]


def collect(finding: Finding) -> None:
    """Remember a finding drawn in this run (``panels.show`` calls this)."""
    shown_this_run().append(finding)


def _distinct(items: Sequence[Finding]) -> list[Finding]:
    """Findings with something to draw, each once (a panel drawn twice is one slide)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for finding in items:
        mark = (finding.key, finding.headline, finding.subtitle)
        if finding.empty is not None or mark in seen:
            continue
        seen.add(mark)
        out.append(finding)
    return out


# --- The facts every file states --------------------------------------------------------------


def method_paragraph() -> str:
    """How the figures are made, with the flag rule, in one paragraph (closing slide)."""
    config = panels.protection()
    protected = (
        "Every count is perturbed slightly and consistently by the cell key method "
        f"({config.describe()}), and every rate, ratio, p-value and flag is made from the "
        "counts shown; [c] marks a figure hidden to protect confidentiality and [x] one that "
        "does not apply."
        if config is not None
        else "These figures are exact, without disclosure control: for the named user's work "
        "only, not for publication or sharing; [x] marks a figure that does not apply."
    )
    return (
        "Rates are shown with 95% Wilson score intervals (exact Poisson intervals for event "
        "rates). Each group's rate is compared with a comparator group (the largest group "
        "unless chosen): the relative rate is the group's rate divided by the comparator's, "
        "with a 95% interval by the log (Katz) method; the test is Pearson's chi-square, or "
        "Fisher's exact test where any expected count is under 5, and p-values are adjusted "
        "by the Benjamini-Hochberg method across every comparison on a view. "
        f"{panels.FLAG_RULE.describe()} Groups that did not declare are never the comparator "
        f"and are not tested. {protected}"
    )


def _validated() -> str:
    entries = loading.manifest().get("extracts", {})
    stamps = sorted(str(e.get("validated_at", "")) for e in entries.values())
    return stamps[-1][:16].replace("T", " ") + " UTC" if stamps else "not yet"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "view"


def _provenance(marking: str | None) -> tuple[str, ...]:
    """The source and disclosure lines; the marking, which every file carries apart, left out."""
    return tuple(line for line in panels.provenance_lines() if line != marking)


def cover(*, place: str, period: str, title: str = "Equality Monitor") -> boardpack.Cover:
    """The cover facts of a board pack for this run: read now, used when the file is made."""
    from equality_core import boardpack  # python-pptx only when a pack is offered

    marking = panels.marking()
    return boardpack.Cover(
        place=place,
        period=period,
        validated=_validated(),
        demo=data.is_demo_data(loading.manifest()),
        source_lines=_provenance(marking),
        method=method_paragraph(),
        marking=marking,
        title=title,
    )


def slide_chart(finding: Finding) -> alt.TopLevelMixin:
    """The finding's chart in large type, without its title: a slide's heading states it.

    Presentation mode draws it; board packs render it as the slide's picture.
    """
    chart = panels.chart_of(finding).properties(title="")
    return (
        chart.configure_axis(labelFontSize=17, titleFontSize=17, labelLimit=360)
        .configure_legend(labelFontSize=16, titleFontSize=16, labelLimit=360)
        .configure_text(fontSize=15)
    )


def _chart_spec(finding: Finding) -> dict | None:
    """The chart a slide shows for a finding, as a Vega-Lite specification."""
    try:
        return slide_chart(finding).to_dict()
    except ValueError:  # a kind with no drawing (a table), or too many rows to export
        LOG.info("board pack: no picture for %s", finding.key)
        return None


def build_pack(items: Sequence[Finding], facts: boardpack.Cover) -> bytes:
    """The .pptx of the findings (each drawn as the dashboard draws it) under ``facts``."""
    from equality_core import boardpack

    return boardpack.board_pack(
        [(finding, _chart_spec(finding)) for finding in _distinct(items)], cover=facts
    )


def board_pack_offer(
    *,
    key: str,
    place: str,
    period: str,
    title: str = "Equality Monitor",
    chosen: Sequence[Finding] | None = None,
    label: str = "Board pack (PowerPoint)",
) -> None:
    """Offer the findings as a board pack: a 16:9 .pptx, one slide per finding.

    Parameters
    ----------
    key
        Unique on the page, e.g. ``"obj2"``: the button's key is ``boardpack-<key>``.
    place, period
        Where and when the figures are for, in words (the title slide's).
    title
        The deck's title, e.g. "Objective 2: offenders' outcomes"; the place follows it.
    chosen
        The findings, in order; None (the default) takes every finding ``panels.show``
        draws on this page in this run, including those drawn after this call (the file
        is made when the button is pressed, after the page has finished).

    Findings with nothing to draw are left out. The download goes through
    ``panels.download_button``: only for users allowed to download, and recorded in the
    audit trail with the file's hash.
    """
    items = shown_this_run() if chosen is None else list(chosen)
    facts = cover(place=place, period=period, title=title)
    panels.download_button(
        label,
        build=lambda: build_pack(items, facts),
        file_name=f"board-pack-{_slug(title)}-{_slug(place)}-{_slug(period)}.pptx",
        mime=PPTX_MIME,
        key=f"boardpack-{key}",
        icon=":material/slideshow:",
    )


def summary_pdf_offer(
    *,
    key: str,
    place: str,
    period: str,
    tiles: Sequence[summary_pdf.Tile],
    flagged: Sequence[str],
    notes: Sequence[str] = (),
    label: str = "One-page summary (PDF)",
) -> None:
    """Offer the one-page PDF of a place: its tiles as text and its flagged findings."""
    marking = panels.marking()
    facts = summary_pdf.Summary(
        place=place,
        period=period,
        validated=_validated(),
        demo=data.is_demo_data(loading.manifest()),
        tiles=tuple(tiles),
        flagged=tuple(flagged),
        source_lines=_provenance(marking),
        marking=marking,
        notes=tuple(notes),
    )
    panels.download_button(
        label,
        build=lambda: summary_pdf.summary_pdf(facts),
        file_name=f"summary-{_slug(place)}-{_slug(period)}.pdf",
        mime="application/pdf",
        key=f"summary-pdf-{key}",
        icon=":material/picture_as_pdf:",
    )


# --- Presentation mode: the deck ----------------------------------------------------------


@dataclass(frozen=True)
class Slide:
    """One slide of a deck: a stable id for the address, its section and its finding."""

    id: str
    section: str
    finding: Finding


#: Groups objective 3's page does not show first: it opens on the first group not here.
_MAJORITY = ("White", "Male", "Not disabled")
DISABLED, NOT_DISABLED = "Disabled", "Not disabled"


def _period_words(selection: Selection, extract: str) -> str:
    if EXTRACTS[extract].period_type == "financial_year":
        return f"Financial year {analysis.periods_of(selection, extract)[0]}"
    return data.period_label(selection.period_kind, selection.period_end)


def _flagged_slides(selection: Selection, characteristic: str, place: str) -> list[Slide]:
    """One slide per outcome flagged for the place: adverse first, furthest from 1 first."""
    table = objective.matrix(selection, characteristic, None)
    if table.empty:
        return []
    national = (
        objective.national_matrix(selection, characteristic, None)
        if objective.shows_national_beside(selection)
        else None
    )
    declared = table[table["group"].astype(str).isin(CHARACTERISTICS[characteristic].groups)]
    flagged = declared[declared["flag"].astype("string").isin(findings.FLAGGED)]
    ranked = []
    for measure_name, rows in flagged.groupby("measure", sort=False, observed=True):
        measure = MEASURES[str(measure_name)]
        adverse = any(
            findings.flag_words(f, measure.direction).endswith("(adverse)") for f in rows["flag"]
        )
        ratios = pd.to_numeric(rows["relative_rate"], errors="coerce").to_numpy(dtype=float)
        distance = float(np.nanmax(np.abs(np.log(ratios)))) if np.isfinite(ratios).any() else 9.0
        ranked.append((not adverse, -distance, str(measure_name)))
    slides = []
    for _, _, name in sorted(ranked):
        measure = MEASURES[name]
        view = findings.View(
            measure,
            characteristic,
            place,
            _period_words(selection, measure.extract),
            "",
            panels.FLAG_RULE,
        )
        own = table[table["measure"] == name].reset_index(drop=True)
        beside = None
        if national is not None and not national.empty:
            beside = national[national["measure"] == name].reset_index(drop=True)
        slides.append(
            Slide(
                f"flag.{characteristic}.{name}",
                "Flagged outcome",
                findings.relative_rates(own, beside, view),
            )
        )
    return slides


@st.cache_data(show_spinner="Checking declaration rates…", max_entries=32)
def _coverage(extract: str, checksum: str, selection: Selection, version: str) -> pd.DataFrame:
    frame = loading.extract(extract)
    records = analysis.select(frame, selection, extract)
    return analysis.declaration(
        records,
        characteristics=analysis.characteristic_options(extract),
        protection=panels.protection(),
    )


_POPULATIONS = {"prisoner_periods": "prisoners", "staff_periods": "staff"}


def _coverage_slides(selection: Selection, place: str) -> list[Slide]:
    slides = []
    for extract, people in _POPULATIONS.items():
        if loading.extract(extract) is None:
            continue
        coverage = _coverage(
            extract, loading.checksum(extract), selection, panels.protection_version()
        )
        finding = findings.declaration(
            coverage, place=f"{people}, {place}, {_period_words(selection, extract).lower()}"
        )
        if finding.empty is None:
            # Two declaration slides follow each other: the title says whose declarations.
            finding = replace(finding, headline=f"{people.capitalize()}: {finding.headline}")
        slides.append(Slide(f"coverage.{extract}", "Declaration coverage", finding))
    return slides


@st.cache_data(show_spinner=False, max_entries=32)
def _representation(
    checksum: str, selection: Selection, characteristic: str, version: str
) -> pd.DataFrame:
    return analysis.representation_by_grade(
        analysis.select(loading.extract("staff_periods"), selection, "staff_periods"),
        characteristic=characteristic,
        benchmarks=loading.extract("benchmarks"),
        protection=panels.protection(),
    )


@st.cache_data(show_spinner="Adjusting for age and establishment…", max_entries=16)
def _adjusted(checksum: str, selection: Selection, version: str) -> pd.DataFrame:
    return analysis.adjusted_relative_rates_in(
        loading.extract("prisoner_periods"),
        selection,
        "prisoner_periods",
        measures=_PRISONER_PROPORTIONS,
        characteristic="disability",
        comparator=NOT_DISABLED,
        stratum="age_band",
        protection=panels.protection(),
    )


_PRISONER_PROPORTIONS = [
    m for m in measures_for(extract="prisoner_periods") if m.kind == "proportion"
]


def _engagement_gap(selection: Selection, place: str) -> Finding | None:
    """Objective 4's headline: the engagement gap of disabled staff, as its page draws it."""
    survey = loading.extract("staff_survey")
    if survey is None:
        return None
    year = analysis.periods_of(selection, "staff_periods")[0]
    rows = survey[
        analysis.place_mask(survey, selection.without_within())
        & (survey["characteristic"] == "disability").to_numpy()
    ]
    rows = rows[rows["group"].isin([DISABLED, NOT_DISABLED])]
    wide = (
        analysis.pooled_means(rows, by=["period"])
        .pivot(index="period", columns="group", values=["mean", "sd", "respondents"])
        .dropna()
    )
    minimum = panels.configured_protection().survey_minimum
    if wide.empty or not {DISABLED, NOT_DISABLED} <= set(wide["mean"].columns):
        return None
    wide = wide[
        (wide[("respondents", DISABLED)] >= minimum)
        & (wide[("respondents", NOT_DISABLED)] >= minimum)
    ]
    if year not in wide.index:
        return None
    gap = stats.mean_difference(
        mean_a=wide[("mean", DISABLED)].to_numpy(),
        sd_a=wide[("sd", DISABLED)].to_numpy(),
        n_a=wide[("respondents", DISABLED)].to_numpy(),
        mean_b=wide[("mean", NOT_DISABLED)].to_numpy(),
        sd_b=wide[("sd", NOT_DISABLED)].to_numpy(),
        n_b=wide[("respondents", NOT_DISABLED)].to_numpy(),
    )
    gap.insert(0, "period", wide.index.to_numpy())
    return findings.engagement_gap(gap, year=year, place=place, rule=panels.FLAG_RULE)


def _headline_slides(
    selection: Selection, characteristics: Sequence[str], place: str
) -> list[Slide]:
    """The objectives' headline figures for the place, as each objective's page draws them."""
    period = data.period_label(selection.period_kind, selection.period_end)
    slides = []
    for characteristic in characteristics:
        table = objective.matrix(selection, characteristic, None)
        if not table.empty:
            slides.append(
                Slide(
                    f"objective1.{characteristic}",
                    "Objective 1: disproportionate outcomes",
                    findings.matrix(
                        table,
                        characteristic=characteristic,
                        place=place,
                        period=period,
                        within="",
                        measures=MEASURES,
                    ),
                )
            )
    benchmarks = loading.extract("benchmarks")
    staff = loading.extract("staff_periods")
    if staff is not None and benchmarks is not None:
        offered = set(benchmarks["characteristic"].astype(str))
        for characteristic in characteristics:
            if characteristic not in offered:
                continue
            groups = CHARACTERISTICS[characteristic].groups
            group = next((g for g in groups if g not in _MAJORITY), groups[0])
            table = _representation(
                loading.checksum("staff_periods"),
                selection,
                characteristic,
                panels.protection_version(),
            )
            source = benchmarks[
                (benchmarks["characteristic"] == characteristic) & (benchmarks["group"] == group)
            ]
            slides.append(
                Slide(
                    f"objective3.{characteristic}",
                    "Objective 3: a workforce that reflects society",
                    findings.representation(
                        table,
                        characteristic=characteristic,
                        group=group,
                        place=place,
                        period=_period_words(selection, "staff_periods"),
                        grades=STAFF_GRADES,
                        benchmark_source=(
                            f"{source['source'].iloc[0]} ({int(source['year'].iloc[0])})"
                            if len(source)
                            else "no benchmark"
                        ),
                    ),
                )
            )
    if "disability" in characteristics:
        gap = _engagement_gap(selection, place)
        if gap is not None:
            slides.append(Slide("objective4", "Objective 4: engagement of disabled staff", gap))
        crude = objective.matrix(selection, "disability", NOT_DISABLED)
        if not crude.empty:
            names = [m.name for m in _PRISONER_PROPORTIONS]
            adjusted = _adjusted(
                loading.checksum("prisoner_periods"), selection, panels.protection_version()
            )
            if not adjusted.empty:
                slides.append(
                    Slide(
                        "objective5",
                        "Objective 5: disabled prisoners",
                        findings.crude_and_adjusted(
                            crude[crude["measure"].isin(names)],
                            adjusted,
                            group=DISABLED,
                            place=place,
                            period=period,
                            within="",
                            measures=MEASURES,
                            rule=panels.FLAG_RULE,
                        ),
                    )
                )
    return slides


def deck(selection: Selection, characteristics: Sequence[str]) -> list[Slide]:
    """Every slide the place, period and characteristics have, in presentation order.

    The outcomes flagged for the place (one slide per outcome and characteristic, adverse
    first, furthest from parity first, each beside England and Wales), then declaration
    coverage of prisoners and staff, then the objectives' headline figures (objective 1's
    matrix for each characteristic; objective 3's representation by grade for each
    characteristic with a benchmark, for the group its page opens on; objectives 4 and 5
    when disability is chosen). Findings with nothing to draw are left out: a slide
    states something that holds there. Every table comes from the cached computations
    the objective pages use, so the same cell reads the same.
    """
    place = objective.place_words(selection)
    slides: list[Slide] = []
    for characteristic in characteristics:
        slides += _flagged_slides(selection, characteristic, place)
    slides += _coverage_slides(selection, place)
    slides += _headline_slides(selection, characteristics, place)
    return [slide for slide in slides if slide.finding.empty is None]


# --- Presentation mode: keys and scrolling ---------------------------------------------------

#: Our own fixed script (no text from extracts or the address): the arrow keys and Page
#: Up/Down press the Previous and Next buttons, unless the focus is in a control that uses
#: them; and when the slide changes, the page is scrolled to its top and the new slide is
#: announced to screen readers (as text, never as HTML).
_KEYS_JS = """
export default function (component) {
  const { data, parentElement } = component;
  const owner = window;
  if (!owner.__equalityMonitorDeckKeys) {
    owner.__equalityMonitorDeckKeys = (event) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      const moves = {ArrowRight: "deck_next", PageDown: "deck_next",
                     ArrowLeft: "deck_previous", PageUp: "deck_previous"};
      const which = moves[event.key];
      if (!which) return;
      const target = event.target;
      if (target && target.closest && target.closest(
          'input, textarea, select, [contenteditable="true"], [role="combobox"], ' +
          '[role="listbox"], [role="slider"], [role="tablist"], [role="menu"], ' +
          '[data-baseweb="popover"], [data-testid="stPopoverBody"]')) return;
      const button = document.querySelector(`.st-key-${which} button`);
      if (!button || button.disabled) return;
      event.preventDefault();
      button.click();
    };
    document.addEventListener("keydown", owner.__equalityMonitorDeckKeys);
  }
  const slide = String((data && data.slide) || "");
  if (owner.__equalityMonitorDeckSlide !== slide) {
    const first = owner.__equalityMonitorDeckSlide === undefined;
    owner.__equalityMonitorDeckSlide = slide;
    if (!first) {
      const scrolled = [document.scrollingElement,
        document.querySelector('[data-testid="stMain"]'),
        document.querySelector('[data-testid="stAppViewContainer"]'),
        document.querySelector('[data-testid="stAppScrollToBottomContainer"]')];
      for (const element of scrolled) { if (element) element.scrollTop = 0; }
      window.scrollTo(0, 0);
    }
  }
  let live = parentElement.querySelector("[data-deck-live]");
  if (!live) {
    live = document.createElement("div");
    live.setAttribute("data-deck-live", "");
    live.setAttribute("aria-live", "polite");
    live.setAttribute("role", "status");
    live.style.cssText = "position:absolute;width:1px;height:1px;overflow:hidden;" +
      "clip:rect(0 0 0 0);white-space:nowrap;";
    parentElement.appendChild(live);
  }
  live.textContent = String((data && data.announce) || "");
}
"""

_keys_component = st.components.v2.component("equality_monitor_deck_keys", js=_KEYS_JS)


def keyboard(*, slide: int, announce: str) -> None:
    """Let the arrow keys and Page Up/Down press Previous and Next; scroll up on a change.

    ``announce`` ("Slide 3 of 12: …") is read out by screen readers when the slide
    changes; it is set as text, so names from extracts are never markup.
    """
    _keys_component(key="deck_keys", data={"slide": slide, "announce": announce}, height=0, width=1)
