"""Shared page parts: disclosed tables with downloads, charts with their table view,
the declaration-rate panel and the methodology note.

Every count a user sees or downloads is protected in ``equality_core`` (the cell key
method, :mod:`equality_core.disclosure`) before it reaches a page: the analysis functions
take the :func:`protection` returned here and give back tables whose every figure is made
from shown counts. Text from extracts is shown with ``st.dataframe``, ``st.text`` or plain
markdown of our own words, never as HTML.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit import dataframe_util
from streamlit.runtime.scriptrunner import get_script_run_ctx

from equality_core import data, disclosure, images, spreadsheet, stats
from equality_core.cellkey import (
    CONFIG_FILE,
    DisclosureConfig,
    DisclosureConfigError,
    matches_publication,
)
from equality_core.findings import Finding
from equality_core.measures import MEASURES, Measure
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS
from equality_ui import charts, identity, loading, present

#: The columns of a disparity table that table views and downloads show, in order.
RESULT_COLUMNS = ["group", "numerator", "denominator", *stats.REPORTED_COLUMNS]
#: Column titles for counts rebuilt from survey percentages.
SURVEY_TITLES = {"numerator": "Respondents who said so", "denominator": "Respondents"}
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
    "comparator_rate": "Comparator's rate",
    "relative_rate": "Relative rate",
    "rr_low": "Relative rate: 95% interval from",
    "rr_high": "Relative rate: 95% interval to",
    "adjusted_relative_rate": "Adjusted relative rate",
    "adj_low": "Adjusted: 95% interval from",
    "adj_high": "Adjusted: 95% interval to",
    "p_value": "p-value",
    "p_adjusted": "Adjusted p-value (Benjamini-Hochberg)",
    "flag": "Flag",
    "series": "Population",
    "period": "Period",
    "year": "Year",
    "share": "Share",
    "share_low": "Share: 95% interval from",
    "share_high": "Share: 95% interval to",
    "low": "95% interval from",
    "high": "95% interval to",
    "higher": "Groups flagged higher",
    "lower": "Groups flagged lower",
    "establishment": "Establishment",
    "division": "Probation delivery unit",
    "name": "Name",
    "lower_95": "95% limit from",
    "upper_95": "95% limit to",
    "lower_998": "99.8% limit from",
    "upper_998": "99.8% limit to",
    "position": "Position",
    "grade": "Grade",
    "count": "Staff in group",
    "total": "Staff who declared",
    "benchmark_share": "Benchmark share",
    "representation_ratio": "Share / benchmark",
    "under_represented": "Under-represented",
    "respondents": "Respondents",
    "difference": "Difference",
    "dof": "Degrees of freedom",
    "marking": "Marking",
    "band": "Days",
}


_RUN_VALUES = "_equality_monitor_panels_run_values"
_T = TypeVar("_T")


def _once_per_run(name: str, make: Callable[[], _T]) -> _T:
    """``make()``, made once per script run and kept on the run's context.

    For what cannot change within a run (the user, the data published, the protection)
    but every finding asks for. A new run, or a fragment's rerun, makes it afresh; outside
    a script run it is made on every call.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return make()
    held = getattr(ctx, _RUN_VALUES, None)
    if held is None or held[0] is not ctx.cursors:
        held = (ctx.cursors, {})
        setattr(ctx, _RUN_VALUES, held)
    if name not in held[1]:
        held[1][name] = make()
    return held[1][name]


@st.cache_resource(show_spinner=False, max_entries=4)
def _protection(root: str, stamp: int) -> DisclosureConfig:
    return data.disclosure_config(DataPaths(Path(root)))


def protection() -> DisclosureConfig | None:
    """The disclosure configuration every figure on every page is protected with.

    Read once per process from the data folder's ``disclosure.toml`` (re-read when the
    file or the manifest changes); the demo's documented default for demo data. None
    (exact figures) only for a user with the exact-figures permission, whose every view
    and download then carries :data:`identity.EXACT_MARKING`.
    """
    if identity.current().exact:
        return None
    return configured_protection()


def configured_protection() -> DisclosureConfig:
    """The data folder's disclosure configuration, or a stop saying why figures cannot be shown.

    Found once per script run: every finding asks for it.
    """
    return _once_per_run("configured_protection", _configured_protection)


def _configured_protection() -> DisclosureConfig:
    paths = loading.data_paths()
    config_file = paths.root / CONFIG_FILE
    stamp = config_file.stat().st_mtime_ns if config_file.exists() else 0
    stamp += paths.manifest.stat().st_mtime_ns if paths.manifest.exists() else 0
    try:
        config = _protection(str(paths.root), stamp)
    except DisclosureConfigError as error:
        st.error(
            "Figures cannot be shown: the data folder has no usable disclosure "
            f"configuration ({error}). The data page explains.",
            icon=":material/lock:",
        )
        st.stop()
    if not matches_publication(loading.manifest(), config):
        # Figures rest on the record-key secret: a secret changed since publication would
        # change every figure unannounced. validate records the change; until then, stop.
        st.error(
            "Figures cannot be shown: the disclosure configuration (record-key secret or "
            "ptable) is not the one the published data were recorded with. Run `python -m "
            "equality_core validate` so that the change is recorded; the data page shows "
            "the history.",
            icon=":material/lock:",
        )
        st.stop()
    return config


def protection_version() -> str:
    """A key for caches: figures change when the ptable or the record-key secret does."""
    config = protection()
    if config is None:
        return "exact"
    return f"{config.ptable.sha256}:{config.secret_fingerprint}:{config.threshold}"


def visible(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a protected table that may be drawn (suppressed rows left out of charts)."""
    if "suppressed" not in table.columns:
        return table
    return table[~table["suppressed"].astype(bool)]


_SHOWN: OrderedDict[str, pd.DataFrame] = OrderedDict()


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """A table's whole content (columns, types, index, values) as bytes, for a digest.

    Column by column: numbers as their bytes, anything else as the ``repr`` of its values,
    which tells 1 from "1" and a missing value from "". Twice as fast as hashing the rows,
    and unlike a pickle the same for equal tables however pandas holds them in memory (a
    table just computed and its copy from Streamlit's cache).
    """
    parts = [repr(list(frame.columns)).encode(), repr(frame.index.tolist()).encode()]
    # Column by column with ``items`` (each column in place, duplicate names too): taking
    # each by position with ``iloc`` cost as much as reading its values.
    for _, column in frame.items():
        parts.append(repr(column.dtype).encode())
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufcmM":
            parts.append(np.ascontiguousarray(column.to_numpy()).tobytes())
        else:
            parts.append(repr(column.tolist()).encode())
    return b"\0".join(parts)


def _display_text(
    table: pd.DataFrame, present: list[str], names: dict[str, str], event_rates: bool
) -> pd.DataFrame:
    """The table's cells as a table view shows them, made once per content in the process."""
    # Only the columns shown (and whether a row is hidden) are read, digested and made
    # into text: a finding's table holds more.
    kept = [*present, "suppressed"] if "suppressed" in table.columns else present
    table = table[kept]
    digest = hashlib.sha256()
    digest.update(repr((present, sorted(names.items()), event_rates)).encode())
    digest.update(_frame_bytes(table))
    key = digest.hexdigest()
    with _DRAWINGS_LOCK:
        found = _SHOWN.get(key)
        if found is not None:
            _SHOWN.move_to_end(key)
            return found
    shown = as_display_text(disclosure.for_display(table), event_rates=event_rates)
    shown = shown.rename(columns=names)
    with _DRAWINGS_LOCK:
        _SHOWN[key] = shown
        while len(_SHOWN) > _DRAWINGS_KEPT:
            _SHOWN.popitem(last=False)
    return shown


def table_view(
    table: pd.DataFrame,
    *,
    columns: list[str],
    file_name: str,
    key: str,
    title: str,
    subtitles: tuple[str, ...] = (),
    titles: dict[str, str] | None = None,
    event_rates: bool = False,
) -> None:
    """Show a protected table as text cells ("[c]" for suppressed), with downloads.

    The CSV holds exactly the columns shown, after disclosure control, with the data's
    own column names (stable for anyone who reads the file with code); the spreadsheet
    holds the same figures with the column titles shown, in the Analysis Function's
    accessible layout, under ``title`` (what the table shows) and ``subtitles``.
    """
    present = [c for c in columns if c in table.columns]
    names = {**_COLUMN_TITLES, **(titles or {})}
    st.dataframe(
        _display_text(table, present, names, event_rates), hide_index=True, width="stretch"
    )
    left, right = st.columns(2)
    kept = [*present, "suppressed"] if "suppressed" in table.columns else present
    # Read now: the files are built after the click, outside this script run, where
    # Streamlit's caches (which the manifest goes through) are not to be called.
    provenance = provenance_lines()
    with left:
        download_button(
            "Download this table (CSV)",
            build=lambda: disclosure.to_safe_csv(table[kept], preamble=provenance),
            file_name=f"{file_name}.csv",
            mime="text/csv",
            key=f"download-{key}",
            icon=":material/download:",
        )
    chosen = active_filters()
    with right:
        download_button(
            "Download as a spreadsheet (accessible .xlsx)",
            build=lambda: spreadsheet.accessible_workbook(
                table[kept],
                titles=names,
                title=title,
                subtitles=subtitles,
                period=subtitles[0] if subtitles else None,
                filters=chosen,
                event_rates=event_rates,
                source=next(line for line in provenance if line.startswith("Source")),
                cover_about=[
                    "The figures are those the Equality Monitor dashboard showed for the filters "
                    "chosen, after disclosure control.",
                    *(line for line in provenance if not line.startswith("Source")),
                    FLAG_RULE.describe(),
                ],
            ),
            file_name=f"{file_name}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"xlsx-{key}",
            icon=":material/table_view:",
        )


def marking() -> str | None:
    """The protective marking every view and download of exact figures carries, else None."""
    return identity.EXACT_MARKING if protection() is None else None


def download_button(
    label: str,
    *,
    build: Callable[[], bytes | str],
    file_name: str,
    mime: str,
    key: str,
    icon: str | None = None,
) -> None:
    """A download, offered only to users allowed to download, and recorded in the audit trail.

    Every download of the dashboard goes through here (tables, spreadsheets, images, board
    packs, summaries). ``build`` makes the file when the button is pressed, outside the
    script run, so who asked for it (and on which page, with which filters) is read now;
    the file's SHA-256 is recorded with it. Users without the download permission see no
    button (the page says so once).
    """
    user = identity.current()
    if not user.may("download"):
        identity.note_no_downloads()
        return
    where = identity.where()

    def audited() -> bytes:
        content = build()
        payload = content.encode("utf-8") if isinstance(content, str) else content
        identity.record_download(user, where, file_name, payload)
        return payload

    st.download_button(
        label,
        data=audited,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",  # a download changes nothing on the page: no rerun
        icon=icon,
    )


#: Columns that hold a difference between groups: shown with their sign.
_SIGNED = frozenset({"difference", "low", "high"})


def _figure(
    fmt: spreadsheet.ColumnFormat, value: object, *, event_rates: bool, signed: bool = False
) -> str:
    """One figure as a table view shows it, by its column's format (the spreadsheet's)."""
    if isinstance(value, str):
        return value
    if value is None or (not isinstance(value, bool) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    number = float(value)
    if fmt.number_format == spreadsheet.COUNT_FORMAT:
        return f"{number:,.0f}"
    if fmt.number_format == spreadsheet.PERCENTAGE_FORMAT:
        if event_rates and fmt.rate:
            return f"{number * spreadsheet.EVENTS_PER:,.1f} per {spreadsheet.EVENTS_PER}"
        return f"{number:.1%}"
    if fmt.number_format == spreadsheet.RATIO_FORMAT:
        return f"{number:,.2f}"
    if fmt.number_format == spreadsheet.P_VALUE_FORMAT:
        return "<0.0001" if number < 0.0001 else f"{number:.3g}"
    if fmt.number_format == spreadsheet.DECIMAL_FORMAT:
        return f"{number:+,.1f}" if signed else f"{number:,.1f}"
    if number.is_integer() and abs(number) >= 1:
        return f"{int(number):,}"
    return f"{number:.4g}"


def format_value(column: str, value: object, *, event_rates: bool = False) -> str:
    """One figure as a table view shows it, by what its column holds.

    Text (``[c]``, ``[x]``, names) is left as it is; counts are whole numbers with
    thousands separators; proportions are percentages to one place (event rates per 100
    to one place); ratios to two places; p-values to three significant figures, below
    0.0001 as "<0.0001". What a column holds is the spreadsheet's rule
    (:func:`equality_core.spreadsheet.column_format`), so both read figures alike.
    """
    return _figure(
        spreadsheet.column_format(column),
        value,
        event_rates=event_rates,
        signed=column in _SIGNED,
    )


def as_display_text(table: pd.DataFrame, *, event_rates: bool = False) -> pd.DataFrame:
    """A protected table (after ``for_display``) with every figure formatted for reading.

    Each column is read as the spreadsheet reads it (a bare "low"/"high" as the figure to
    its left). Only for the screen: downloads keep numbers as numbers.
    """
    out = table.copy()
    formats = spreadsheet.column_formats(out.columns)
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_numeric_dtype(values):
            fmt = formats.get(str(column), spreadsheet.ColumnFormat())
            signed = str(column) in _SIGNED
            out[column] = [_figure(fmt, v, event_rates=event_rates, signed=signed) for v in values]
    return out


@dataclass(frozen=True)
class Drawing:
    """A chart ready to draw: its Vega-Lite specification (data inline), title and subtitle.

    ``screen_datasets`` holds the specification's data sets as Streamlit sends them to the
    browser (Arrow), made once with the drawing instead of on every script run.
    """

    spec: dict
    title: str
    subtitle: str
    screen_datasets: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, chart: alt.TopLevelMixin) -> Drawing:
        """The drawing of an Altair chart.

        Not validated against the Vega-Lite schema here: validation checks every row of
        the chart's data and took a tenth of a second a chart, on every new view. The
        charts are ours, and tests validate the specification of every chart the pages
        draw (``tests/test_pages.py``).
        """
        heading = chart.title if isinstance(chart.title, alt.Title) else alt.Title(str(chart.title))
        spec = charts.specification(chart)
        return cls(
            spec=spec,
            title=" ".join(_lines(heading.text)),
            subtitle=" ".join(_lines(heading.subtitle)),
            screen_datasets={
                name: screen_dataset(values) for name, values in spec.get("datasets", {}).items()
            },
        )


def screen_dataset(values: list[dict]) -> bytes:
    """A chart's data set as Arrow bytes for the browser: its columns straight into Arrow.

    ``st.vega_lite_chart`` would make a pandas table of the rows and convert that, which
    took a tenth of the time to draw a chart for each data set; Streamlit sends an Arrow
    table as it is (as it does Polars' tables). The values are already Python's (nulls
    for missing numbers), so Arrow infers each column's type from them; a data set it
    cannot type column by column (a column mixing text and numbers), or one without
    columns, goes the pandas way.
    """
    names = list(values[0]) if values else []
    if names and all(list(row) == names for row in values):
        try:
            table = pa.table({name: pa.array([row[name] for row in values]) for name in names})
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            return dataframe_util.convert_arrow_table_to_arrow_bytes(table)
    return dataframe_util.convert_anything_to_arrow_bytes(values)


#: Drawings of findings already drawn, by the finding's content: building an Altair chart
#: and validating its specification took most of a page's run, again on every rerun, for
#: the same figures. Shared by every session: the same content draws the same chart.
_DRAWINGS: OrderedDict[str, Drawing] = OrderedDict()
_DRAWINGS_KEPT = 512
_DRAWINGS_LOCK = threading.Lock()


def _finding_key(finding: Finding) -> str:
    """A digest of everything a finding's chart is drawn from (what :func:`chart_of` reads)."""
    digest = hashlib.sha256()
    for part in (finding.chart, finding.headline, finding.subtitle, repr(finding.options)):
        digest.update(str(part).encode("utf-8", "surrogatepass") + b"\0")
    digest.update(_frame_bytes(finding.drawn))
    return digest.hexdigest()


def drawing_of(finding: Finding) -> Drawing:
    """The drawing of a finding's chart, built once per content in the process."""
    key = _REMEMBERED_KEYS.get(id(finding)) or _finding_key(finding)
    with _DRAWINGS_LOCK:
        found = _DRAWINGS.get(key)
        if found is not None:
            _DRAWINGS.move_to_end(key)
            return found
    found = Drawing.of(chart_of(finding))
    with _DRAWINGS_LOCK:
        _DRAWINGS[key] = found
        while len(_DRAWINGS) > _DRAWINGS_KEPT:
            _DRAWINGS.popitem(last=False)
    return found


class _NotDigestibleError(TypeError):
    """An argument :func:`remembered` cannot tell apart from another by its content."""


def _digest_into(digest: hashlib._Hash, value: object) -> None:
    """Feed ``value``'s whole content to ``digest``, tagged by its type.

    Tables by :func:`_frame_bytes`; dataclasses by every field (whatever their repr
    shows); a catalogue measure by its name; containers item by item; text, numbers,
    booleans, None and times by value. Anything else is not digestible.
    """
    if isinstance(value, pd.DataFrame):
        digest.update(b"frame\0" + _frame_bytes(value))
    elif isinstance(value, Measure):
        if MEASURES.get(value.name) is not value:
            raise _NotDigestibleError(f"a measure not in the catalogue: {value.name!r}")
        digest.update(b"measure\0" + value.name.encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(f"{type(value).__module__}.{type(value).__qualname__}\0".encode())
        for item in dataclasses.fields(value):
            digest.update(item.name.encode() + b"=")
            _digest_into(digest, getattr(value, item.name))
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}[{len(value)}]\0".encode())
        for item in value:
            _digest_into(digest, item)
    elif isinstance(value, dict):
        digest.update(f"dict[{len(value)}]\0".encode())
        for name, item in sorted(value.items(), key=lambda pair: repr(pair[0])):
            _digest_into(digest, name)
            _digest_into(digest, item)
    elif value is None or isinstance(value, (str, int, float, bool, pd.Timestamp)):
        digest.update(f"{type(value).__name__}\0{value!r}\0".encode("utf-8", "surrogatepass"))
    else:
        raise _NotDigestibleError(f"cannot digest a {type(value).__name__}")


#: Findings already built, by their builder and a digest of its arguments: each as its
#: pickle and its drawing's key. Pickled, not held as objects: a few hundred findings
#: held as tables were over a hundred thousand objects for Python's garbage collector
#: to walk, after every run of every session (Streamlit collects after each run), which
#: made twenty sessions' redraws twenty times slower.
_REMEMBERED: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
_REMEMBERED_KEPT = 512
_REMEMBERED_LOCK = threading.Lock()
#: The drawing key of each finding handed out by :func:`remembered`, by its id while it
#: lives (dropped when it is freed, so a later object with the same id never finds it).
_REMEMBERED_KEYS: dict[int, str] = {}


def _handed_out(finding: Finding, drawing_key: str) -> Finding:
    with _REMEMBERED_LOCK:
        _REMEMBERED_KEYS[id(finding)] = drawing_key
    weakref.finalize(finding, _REMEMBERED_KEYS.pop, id(finding), None)
    return finding


def remembered(build: Callable[..., Finding], *args: object, **kwargs: object) -> Finding:
    """``build(*args, **kwargs)``, the Finding built once per content of its arguments.

    A page builds its findings' words from tables its caches hand back as new copies on
    every run, so each rerun built every finding again (a tenth of a second on objective
    1, with nothing changed). The same builder given the same content gives the same
    finding, so it is kept (for every session) by a digest of the arguments' content,
    and each caller gets its own copy; arguments that cannot be digested are built from
    every time.
    """
    digest = hashlib.sha256(f"{build.__module__}.{build.__qualname__}\0".encode())
    try:
        _digest_into(digest, args)
        _digest_into(digest, kwargs)
    except _NotDigestibleError:
        return build(*args, **kwargs)
    key = digest.hexdigest()
    with _REMEMBERED_LOCK:
        held = _REMEMBERED.get(key)
        if held is not None:
            _REMEMBERED.move_to_end(key)
    if held is not None:
        return _handed_out(pickle.loads(held[0]), held[1])
    found = build(*args, **kwargs)
    drawing_key = _finding_key(found)
    kept = pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)
    with _REMEMBERED_LOCK:
        _REMEMBERED[key] = (kept, drawing_key)
        _REMEMBERED.move_to_end(key)
        while len(_REMEMBERED) > _REMEMBERED_KEPT:
            _REMEMBERED.popitem(last=False)
    return _handed_out(found, drawing_key)


#: The key prefix of the table views' expanders (their open state, in session state).
TABLE_VIEW_PREFIX = "table-view-"


@contextmanager
def table_view_expander(key: str) -> Iterator[bool]:
    """The "Table view and downloads" expander of a chart; yields whether it is open.

    Its content (the table as text, its downloads and the chart's PNG) is made only when
    the expander is open: a closed one reruns the page when opened (everything else is
    cached by then), so a filter change does not build and send seven tables nobody
    opened. It stays open across filter changes, as the user left it.
    """
    expander = st.expander(
        "Table view and downloads", key=f"{TABLE_VIEW_PREFIX}{key}", on_change="rerun"
    )
    with expander:
        yield bool(expander.open)


def chart_with_table(
    chart: alt.TopLevelMixin | Drawing,
    table: pd.DataFrame,
    *,
    description: str,
    columns: list[str],
    file_name: str,
    key: str,
    titles: dict[str, str] | None = None,
    event_rates: bool = False,
) -> None:
    """A chart, its screen-reader description, a PNG export and its table view.

    The table's downloads carry the chart's title and subtitle.
    """
    drawing = chart if isinstance(chart, Drawing) else Drawing.of(chart)
    show_chart(drawing, description)
    with table_view_expander(key) as opened:
        if opened:
            table_view(
                table,
                columns=columns,
                file_name=file_name,
                key=key,
                title=drawing.title,
                subtitles=(drawing.subtitle,) if drawing.subtitle else (),
                titles=titles,
                event_rates=event_rates,
            )
            provenance = provenance_lines()
            download_button(
                "Download the chart as an image (PNG, for slides)",
                build=lambda: _png(drawing, provenance),
                file_name=f"{file_name}.png",
                mime="image/png",
                key=f"png-{key}",
                icon=":material/image:",
            )


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown (and Streamlit directive) character escaped.

    Names from extracts (establishments, probation delivery units) reach headings and
    captions; escaped, ``[x](javascript:...)``, an image link or ``:red[...]`` shows as
    the characters typed instead of being rendered.
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def _lines(text: object) -> list[str]:
    """A title's text as a list of lines (Altair takes a string or a list of them)."""
    if text is None or text is alt.Undefined:
        return []
    return [text] if isinstance(text, str) else [str(line) for line in text]


def show_chart(chart: alt.TopLevelMixin | Drawing, description: str) -> None:
    """Draw a chart with its text description as the screen-reader label and a caption."""
    drawing = chart if isinstance(chart, Drawing) else Drawing.of(chart)
    spec = drawing.spec
    if drawing.screen_datasets:
        spec = {**spec, "datasets": drawing.screen_datasets}
    st.vega_lite_chart(spec=spec, width="stretch", alt=description)
    st.caption(escape_markdown(description))


def direction_metric(
    label: str,
    value: str,
    *,
    change: float | None,
    change_text: str,
    lower_is_better: bool,
    help: str | None = None,
    smallest_shown: float = 1e-9,
) -> str:
    """A headline figure with its change in words, a symbol and (never alone) a colour.

    Improving is dark blue and worsening orange, the Analysis Function's two-series
    pair, never green against red; no change, or nothing to compare with, is grey. A
    change smaller than ``smallest_shown`` (half the last digit the tile shows) is no
    change: "-0.0 points, worsening" would say more than the figures do.
    Returns the status in words (for example "▲ Improving") for the caller's sentence.
    """
    if change is None or pd.isna(change):
        words, colour, delta = "● No earlier period to compare", "gray", None
    elif abs(change) < smallest_shown:
        words, colour, delta = "● No change", "gray", 0
    else:
        better = (change < 0) if lower_is_better else (change > 0)
        words, colour = ("▲ Improving", "blue") if better else ("▼ Worsening", "orange")
        delta = change_text
    st.metric(
        label,
        value,
        delta=delta,
        delta_color=colour,
        delta_description=(words.split(" ", 1)[1].lower() if delta is not None else None),
        help=help,
    )
    return words


def provenance_lines() -> list[str]:
    """Where a download's figures come from and how they were protected, in words.

    For exact figures the first line is :data:`identity.EXACT_MARKING`. Then comes the
    source (the data, when validated, which generation); then
    the disclosure control applied (method, ptable and record-key versions), so that a
    figure can be traced, and a change of secret (which changes figures) is visible.
    Made once per script run: every table view asks for them.
    """
    return list(_once_per_run("provenance_lines", _provenance_lines))


def _provenance_lines() -> list[str]:
    manifest = loading.manifest()
    generation = manifest.get("generation")
    source = loading.source_line()
    if generation:
        source = f"{source[:-1]}; published generation {generation}."
    config = protection()
    if config is None:
        return [
            identity.EXACT_MARKING,
            source,
            "Exact figures, without disclosure control: for the named user's work only, "
            "not for publication or sharing. [x]: does not apply.",
        ]
    return [
        source,
        f"Disclosure control: {config.describe()} "
        f"(secret fingerprint {config.secret_fingerprint}). [c]: hidden to protect "
        f"confidentiality; [x]: does not apply.",
    ]


def _png(drawing: Drawing, provenance: list[str]) -> bytes:
    """A 16:9 slide at 1920 by 1080: the chart's title, the chart, the source and [c] note."""
    return images.slide_png(
        drawing.spec,
        title=drawing.title,
        subtitle=drawing.subtitle or None,
        source_lines=provenance,
    )


def active_filters() -> dict[str, str]:
    """The filters in force, as the address holds them (only those a widget has checked)."""
    return {
        key: str(value)
        for key, value in st.query_params.items()
        if key in st.session_state and value not in ("", None)
    }


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
- **Disclosure control.** Every count is perturbed slightly and consistently by the cell key
  method, and every rate, ratio, p-value and flag is made from the counts shown: the same
  figure reads the same in every view, and a total may differ a little from the sum of its
  parts. Counts of 1 to {disclosure.SMALL_COUNT_MAX} people, and counts below
  {configured_protection().threshold} after perturbation, show as [c] with their rates and ratios; [x]
  marks a figure that does not apply. The data page explains the method.
- **Not declared** ("Not stated", "Refused", "Unknown") is never a comparator and is not tested;
  the declaration panel counts it.
{extra}
"""
        )
        st.page_link("pages/90_data.py", label="Glossary of measures and data status")


def declaration_panel(
    finding: Finding,
    by_unit: pd.DataFrame | None,
    *,
    unit_label: str,
    key: str,
    names: dict[str, str] | None = None,
) -> None:
    """Declaration rate of each characteristic against the 80% target.

    ``finding`` is the filtered population's declaration finding
    (:func:`equality_core.findings.declaration`); ``by_unit`` one protected row per unit
    and characteristic, from which the units furthest below the target are listed.
    """
    st.subheader("Declaration-rate coverage")
    show(finding, key=f"{key}-declaration")
    weak = finding.drawn[finding.drawn["below_publication_threshold"].astype(bool)]
    if not weak.empty:
        st.warning(
            "Declared on fewer than 60% of records: "
            + ", ".join(weak["label"])
            + ". Results for these characteristics may not represent everyone; read them "
            "with care (HMPPS does not publish a characteristic below this level).",
            icon=":material/warning:",
        )
    if by_unit is not None and not by_unit.empty:
        worst = visible(by_unit)
        below = worst[~worst["meets_target"].astype(bool)]
        worst = below.sort_values("declaration_rate").head(10).copy()
        worst["characteristic"] = worst["characteristic"].map(lambda c: CHARACTERISTICS[c].label)
        unit = worst.columns[0]
        worst[unit] = worst[unit].astype(str).map(lambda c: (names or {}).get(c, c))
        with st.expander(f"{unit_label}s furthest below the target ({len(below)} in all)"):
            if worst.empty:
                st.caption(f"Every {unit_label.lower()} meets the target for every characteristic.")
            shown = worst[[unit, "characteristic", "declared", "records", "declaration_rate"]]
            st.dataframe(
                shown.rename(
                    columns={
                        unit: unit_label,
                        "characteristic": "Characteristic",
                        "declared": "Declared",
                        "records": "Records",
                        "declaration_rate": "Declaration rate",
                    }
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    "Declaration rate": st.column_config.NumberColumn(format="percent"),
                },
            )


def chart_of(finding: Finding) -> alt.TopLevelMixin:
    """The chart that draws a Finding, titled by its headline."""
    title, subtitle, data, options = (
        finding.headline,
        finding.subtitle,
        finding.drawn,
        finding.options,
    )
    if finding.chart == "forest":
        return charts.forest_plot(
            data, title=title, subtitle=subtitle, tolerance=options["tolerance"]
        )
    if finding.chart == "rates":
        return charts.rates_chart(
            data, title=title, subtitle=subtitle, kind=options["kind"], per=options.get("per")
        )
    if finding.chart == "trend":
        return charts.trend_chart(data, title=title, subtitle=subtitle, kind=options["kind"])
    if finding.chart == "funnel":
        return charts.funnel_chart(
            data,
            title=title,
            subtitle=subtitle,
            highlight=options.get("highlight"),
            unit=options["unit"],
        )
    if finding.chart == "matrix":
        return charts.matrix_chart(data, title=title, subtitle=subtitle)
    if finding.chart == "flags":
        return charts.flags_chart(data, title=title, subtitle=subtitle)
    if finding.chart == "declaration":
        return charts.declaration_chart(data, title=title, target=options["target"])
    if finding.chart == "representation":
        return charts.representation_chart(
            data,
            title=title,
            subtitle=subtitle,
            group_label=options["group_label"],
            benchmark=options.get("benchmark"),
        )
    if finding.chart == "distribution":
        return charts.distribution_chart(
            data,
            title=title,
            subtitle=subtitle,
            categories=options["categories"],
            category=options["category"],
        )
    if finding.chart == "grouped_bars":
        return charts.grouped_bars_chart(
            data, title=title, subtitle=subtitle, x=options["x"], x_title=options["x_title"]
        )
    if finding.chart == "difference":
        return charts.difference_chart(
            data, title=title, subtitle=subtitle, y_title=options["y_title"]
        )
    if finding.chart == "adjusted_forest":
        return charts.adjusted_forest_plot(
            data, title=title, subtitle=subtitle, tolerance=options["tolerance"]
        )
    if finding.chart == "share_by_year":
        return charts.share_by_year_chart(
            data, title=title, subtitle=subtitle, y_title=options["y_title"]
        )
    raise ValueError(f"no drawing for a finding of kind {finding.chart!r}")


def show(finding: Finding, *, key: str) -> None:
    """Draw a Finding: the chart titled by its headline, its description, notes and table.

    A finding with nothing to draw shows its headline (which says why) and, where its
    table has rows (hidden ones read [c]), the table view, so nothing is silently dropped.
    """
    present.collect(finding)  # for the page's board pack
    if finding.empty is not None:
        st.markdown(f"**{escape_markdown(finding.headline)}**")
        st.info(finding.empty, icon=":material/filter_alt_off:")
        if len(finding.table) and finding.chart != "table":
            with table_view_expander(key) as opened:
                if opened:
                    table_view(
                        finding.table,
                        columns=list(finding.columns),
                        file_name=finding.file_name,
                        key=key,
                        title=finding.headline,
                        subtitles=(finding.subtitle,),
                        titles=dict(finding.titles),
                    )
        return
    chart_with_table(
        drawing_of(finding),
        finding.table,
        description=finding.description,
        columns=list(finding.columns),
        file_name=finding.file_name,
        key=key,
        titles=dict(finding.titles),
        event_rates=finding.options.get("kind") == "event" and not finding.options.get("per"),
    )
    for note in finding.notes:
        st.caption(escape_markdown(note))


def disclosure_section() -> None:
    """The data page's account of disclosure control: the method, its settings, what to expect.

    Only our own words and the configuration's labels; the history of changes to the
    protection comes from the manifest, where ``validate`` records it.
    """
    config = configured_protection()
    st.markdown(
        f"""
Every count the dashboard shows is protected by **consistent perturbation, the cell key
method** (as ONS, the Australian Bureau of Statistics and DWP Stat-Xplore protect flexible
tables). Each record has a key from a keyed hash of its pseudonymous identifier; a count's
cell key is the sum of its records' keys; a perturbation table turns the true count and the
cell key into the count shown. The same cell shows the same count in every view, download
and slide, so setting one view beside another and subtracting gives noisy figures, never a
hidden count. Every rate, interval, ratio, p-value and flag is made from the counts shown.

- **Perturbation table:** {config.ptable.version}: noise of at most
  {config.ptable.max_noise} either way, {config.ptable.variance:.2f} on average squared,
  and zero on average; a true zero stays zero.
- **Record keys:** secret labelled {config.secret_version}, fingerprint
  {config.secret_fingerprint}.
- **Hidden, shown as [c]:** a count of 1 to {disclosure.SMALL_COUNT_MAX} people (or all but
  1 to {disclosure.SMALL_COUNT_MAX}), a count below {config.threshold} once perturbed, and
  survey groups of fewer than {config.survey_minimum} respondents. **[x]** marks a figure
  that does not apply.
- **Surveys** arrive aggregated, so their keys come from each row's coordinates: a weaker
  protection, since one row may stand for many people.

**What to expect.** A total may differ slightly from the sum of its parts (England and Wales
from the sum of its establishments, for example), and a count may differ by a few from the
exact figure. That is the protection at work: the noise is what stops subtraction from
revealing small counts. The methodology gives the error this causes, measured.
"""
    )
    history = loading.manifest().get("disclosure_history") or []
    if history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "From": str(entry.get("from", ""))[:16].replace("T", " "),
                        "Perturbation table": entry.get("ptable", ""),
                        "Record keys": entry.get("record_key_version", ""),
                        "Secret fingerprint": entry.get("record_key_fingerprint", ""),
                        "Threshold": entry.get("threshold", ""),
                    }
                    for entry in history
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            "Each change of the protection, as validate recorded it: figures published "
            "before and after a change are not comparable count for count."
        )
