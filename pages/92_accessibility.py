"""The accessibility statement, as the public sector accessibility regulations (2018) require.

It follows the structure of GOV.UK's model accessibility statement. Every sentence is our
own fixed text: nothing from extracts or the address reaches it. What it says the tests
check is what ``tests/test_accessibility.py`` checks; keep the two in step.
"""

from __future__ import annotations

import streamlit as st

from equality_ui.chrome import run_inside_app

run_inside_app()

PREPARED = "25 November 2026"

st.title("Accessibility statement")
st.markdown(
    "This accessibility statement applies to Equality Monitor, the dashboard with which HM "
    "Prison and Probation Service (HMPPS) monitors equality of outcomes for prisoners, people "
    "on probation and staff. It covers every page of the dashboard, the chart images it "
    "makes and the tables it lets you download."
)
st.markdown(
    "The dashboard is run by a team in your organisation: the team that gave you its address. "
    "We want as many people as possible to be able to use it. For example, that means you "
    "should be able to:\n"
    "\n"
    "- read what every chart shows as text: each chart has a written description, shown under "
    "it and read out by screen readers, and a table view with the same figures\n"
    "- download every table as a CSV file or as an accessible spreadsheet\n"
    "- tell flags apart without seeing colour: each flag also has a symbol and words, and no "
    "chart sets red against green\n"
    "- read all text, including chart titles, axis labels and legends, at a contrast of at "
    "least 4.5 to 1\n"
    "- move between pages with the menu of links in the sidebar, using a keyboard\n"
    "\n"
    "[AbilityNet](https://mcmw.abilitynet.org.uk/) has advice on making your device easier "
    "to use if you have a disability."
)

st.header("How accessible this dashboard is", anchor=False)
st.markdown(
    "We know some parts of this dashboard are not fully accessible:\n"
    "\n"
    "- you cannot move through a chart's points with a keyboard, and a point's details "
    "(its tooltip) appear only when you point at it with a mouse: the chart's description "
    "and its table view give the same figures\n"
    "- some chart marks that give context are light grey, with less than 3 to 1 contrast "
    "against the white background: other establishments on funnel plots, the shaded "
    "tolerance band and the shaded intervals on charts over time\n"
    "- chart images (PNG files, for slides) are pictures with no text inside them: when you "
    "put one in a slide, give it the chart's description as its alternative text\n"
    "- there is no link to skip past the sidebar to the main content; each page starts with "
    "a main heading that screen reader users can jump to\n"
    "- presentation mode hides the sidebar: leave it with the link under the slide\n"
    "- the interactive tables, drop-down lists and buttons are Streamlit's own (the "
    "software the dashboard is built with); they have been checked by automated tests, "
    "not yet by people using screen readers or other assistive technology"
)

st.header("Feedback and contact information", anchor=False)
st.markdown(
    "If you need information on this dashboard in a different format, such as an "
    "accessible PDF, large print, easy read, an audio recording or braille, contact the "
    "team that runs the dashboard in your organisation: the team that gave you its address, "
    "or your local performance or equality team, who will know who runs it. Tell them the "
    "page, the chart or table, and the format you need. They will tell you when to expect "
    "a reply.\n"
    "\n"
    "You may not need to ask: every chart has a **Table view and downloads** section "
    "under it, with the chart's figures as a table that you can download as a CSV file or "
    "as an accessible spreadsheet (.xlsx, with a cover sheet, a contents sheet, notes and "
    "the table, its units in the column headings)."
)

st.header("Reporting accessibility problems with this dashboard", anchor=False)
st.markdown(
    "We are always looking to improve the accessibility of this dashboard. If you find any "
    "problems not listed on this page, or think we are not meeting accessibility "
    "requirements, contact the team that runs the dashboard in your organisation. Tell them "
    "the page's address (copied from your browser's address bar, which also holds the "
    "filters you chose), what you were trying to do, and the browser and any assistive "
    "technology you use."
)

st.header("Enforcement procedure", anchor=False)
st.markdown(
    "The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public "
    "Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018 "
    "(the 'accessibility regulations'). If you're not happy with how we respond to your "
    "complaint, contact the "
    "[Equality Advisory and Support Service (EASS)](https://www.equalityadvisoryservice.com/)."
)

st.header("Technical information about this dashboard's accessibility", anchor=False)
st.markdown(
    "HMPPS is committed to making its websites accessible, in accordance with the Public "
    "Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018."
)
st.subheader("Compliance status", anchor=False)
st.markdown(
    "This dashboard is partially compliant with the "
    "[Web Content Accessibility Guidelines version 2.2](https://www.w3.org/TR/WCAG22/) AA "
    "standard, due to the non-compliances listed below."
)
st.subheader("Non-accessible content", anchor=False)
st.markdown(
    "The content listed below is non-accessible for the following reasons.\n"
    "\n"
    "**Non-compliance with the accessibility regulations**\n"
    "\n"
    "- Charts cannot be used with a keyboard alone: their tooltips open only on mouse "
    "hover. This fails WCAG 2.2 success criteria 2.1.1 (Keyboard) and 1.4.13 (Content on "
    "Hover or Focus). Every chart's description and table view give the same figures.\n"
    "- Light grey chart marks that give context (other establishments on funnel plots, "
    "shaded bands) have less than 3 to 1 contrast with the background. This fails success "
    "criterion 1.4.11 (Non-text Contrast). The marks that carry the finding, and all chart "
    "text, meet it.\n"
    "- Chart images downloaded for slides (PNG) hold no text alternative. This fails "
    "success criterion 1.1.1 (Non-text Content). The chart's description, shown under the "
    "chart, is the text to give an image where it is used.\n"
    "\n"
    "We plan to make chart figures reachable by keyboard and to darken the context marks. "
    "We do not claim that fixing any of these problems would be a disproportionate burden."
)

st.header("What we're doing to improve accessibility", anchor=False)
st.markdown(
    "Every change to the dashboard is tested in a browser before it is released. An "
    "automated test opens every page (the overview, the five objective pages, the data and "
    "glossary page, presentation mode and this statement) on the demo data, waits for the "
    "charts to draw and runs axe-core against the WCAG 2.0, 2.1 and 2.2 level A and AA "
    "rules: no page may have a serious or critical failure. A second test measures the "
    "contrast of the text inside every chart (titles, axis labels and legends), which "
    "axe-core cannot measure there. Automated tests find only some kinds of accessibility "
    "problem, so we also plan a manual audit against WCAG 2.2 AA, including use with a "
    "keyboard alone and with screen readers."
)

st.header("Preparation of this accessibility statement", anchor=False)
st.markdown(
    f"This statement was prepared on {PREPARED}. It was last reviewed on {PREPARED}.\n"
    "\n"
    f"This dashboard was last tested on {PREPARED} against the WCAG 2.2 AA standard. The "
    "test was carried out by the team that builds the dashboard, with the automated tests "
    "described above, on every page. It has not yet been audited by an accessibility "
    "specialist or tested by disabled people using assistive technology."
)
