"""The data page: each extract's validation result, and the glossary of measures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core.contract_doc import statistical_terms
from equality_core.measures import MEASURES
from equality_core.schema import EXTRACTS
from equality_ui import identity, loading, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("Data and glossary")
st.markdown(
    "The dashboard shows only extracts that passed validation against their Great Expectations "
    "suite and the checks of the whole published set (nothing shrinks against the version it "
    "replaces; codes in use stay in the establishments list). A failed validation replaces "
    "nothing: the last good version stays on show, and its failures are listed here in plain "
    "words. Extracts are published together, as one generation: every page reads one whole "
    "generation, never a mix."
)
st.caption(f"Showing the published set's {loading.generation_label()}.")

statuses = loading.statuses()
rows = []
for status in statuses:
    entry = status.published or {}
    report = status.latest_report or {}
    if status.latest_failed:
        state = "✖ Latest validation failed" + (
            ": last good version shown" if entry else ": not shown"
        )
    elif entry:
        state = "✔ Validated and published"
    else:
        state = "○ Not supplied"
    rows.append(
        {
            "Extract": EXTRACTS[status.extract].title,
            "Status": state,
            "Rows": entry.get("rows"),
            "Validated at (UTC)": entry.get("validated_at", "")[:19].replace("T", " "),
            "Origin": {"demo": "Synthetic demo", "supplied": "Supplied extract"}.get(
                entry.get("origin", ""), ""
            ),
            "Source file": entry.get("source_file", ""),
            "Source SHA-256": (entry.get("source_sha256") or "")[:16] + ("…" if entry else ""),
            "Rules checked (latest run)": report.get("rules_checked"),
            "Latest run (UTC)": str(report.get("started_at") or "")[:19].replace("T", " "),
        }
    )
user = identity.current()
# Validation details describe whole extracts (file names, checksums, values that broke a
# rule, which may name any place): for users given the permission, and national users only.
details = user.may("validation_details") and user.scope.national
table = pd.DataFrame(rows)
if not details:
    table = table.drop(columns=["Source file", "Source SHA-256", "Rules checked (latest run)"])
failed = [s for s in statuses if s.latest_failed]
published = sum(1 for s in statuses if s.published)
st.subheader(
    f"{published} of {len(statuses)} extracts published; {len(failed)} failed their latest validation"
)
if failed:
    st.error(
        "Latest validation failed for: "
        + ", ".join(EXTRACTS[s.extract].title.lower() for s in failed)
        + ". Where an earlier version passed, that last good version is still shown.",
        icon=":material/error:",
    )
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={"Rows": st.column_config.NumberColumn(format="localized")},
)

if failed and not details:
    st.caption(
        "Why a validation failed is shown to users allowed to see validation details; ask "
        "your Equality Monitor administrator."
    )
for status in failed if details else []:
    report = status.latest_report or {}
    with st.expander(
        f"Why {EXTRACTS[status.extract].title.lower()} failed ({status.latest_report_file})",
        expanded=True,
    ):
        if report.get("error"):
            st.text(report["error"])
        failures = report.get("failures") or []
        if failures:
            st.dataframe(
                pd.DataFrame(
                    {
                        "Column": [f.get("column") or "(whole file)" for f in failures],
                        "Rule": [f.get("rule") for f in failures],
                        "What was found": [f.get("description") for f in failures],
                        "Rows breaking it": [f.get("unexpected_count") for f in failures],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
            st.caption(
                "Sample offending rows are in the report file in the data folder's reports/ "
                "directory (they are not shown here, since they hold record-level data, and "
                "reports keep them only for the retention period)."
            )

st.header("Disclosure control")
panels.disclosure_section()

st.header("Glossary of measures")
objective = (
    st.segmented_control(
        "Objective",
        [1, 2, 3, 4, 5],
        default=2,
        key="glossary_objective",
        format_func=lambda o: f"Objective {o}",
    )
    or 2
)
glossary = pd.DataFrame(
    [
        {
            "Measure": m.label,
            "Definition": m.definition,
            "Numerator": m.numerator_text,
            "Denominator": m.denominator_text,
            "Kind": "Share of people" if m.kind == "proportion" else "Events per 100",
            "Higher is": "worse" if m.adverse else "better",
            "Source extract": EXTRACTS[m.extract].title,
            "Caveats": m.caveats,
        }
        for m in MEASURES.values()
        if m.objective == objective
    ]
)
if glossary.empty:
    st.caption("Objective 1 draws on every measure: see objectives 2 to 5.")
else:
    st.dataframe(glossary, hide_index=True, width="stretch")
st.header("Statistical terms")
for term, meaning in statistical_terms():
    st.markdown(f"**{panels.escape_markdown(term)}**  \n{panels.escape_markdown(meaning)}")
st.caption(
    "The full data contract and methodology are in docs/data-contract.md and docs/methodology.md in the repository."
)
