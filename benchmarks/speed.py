"""Speed figures of issue 11 with Streamlit's AppTest: filter changes, and the cold start.

Usage::

    python benchmarks/speed.py                        # national demo, beside a5122be
    python benchmarks/speed.py --data small --data national --data /tmp/eqm-national5
    python benchmarks/speed.py --no-baseline --only filters
    python benchmarks/speed.py --no-baseline --profile 01_psed.py:region

**Filter changes.** For every page (the overview and objectives 1 to 5; ``--with-data-page``
adds the data page), a new AppTest session opens the page once with its defaults (its
*first draw*, not counted as a filter change), then each filter in the sidebar is set,
one at a time, to a value that this process has not chosen for that filter before (so
nothing is cached for it: a seeded random choice among the unused options), and that one
run is timed. The filter is put back to its default (untimed) before the next. Goals:
median ≤ 150 ms and p95 ≤ 600 ms on every page. Before its filters, each page is also
run again with nothing changed (as opening a table view or a download reruns it),
``RERUNS`` times after a pause past the collector's freeze: the median is its floor. Widgets are found by key in the sidebar
(select boxes, segmented controls and pills, radios, select sliders, checkboxes and
toggles), so filters the code adds or renames are picked up; ``--in-page`` also changes
the controls in the page itself (reported apart). An objective page computes only its open
section (a tab; the first by default): after its filters, each other section is opened once,
timed, as a user clicking its tab (reported apart, as "opening another section").
``--filter-repeats N`` runs all of this in N new processes a side, the side that goes
first alternating, and takes each change's median over its N runs (the same values are
chosen each time): on a noisy machine one run's median moved by a quarter from run to
run (fourteenth round, benchmarks/README.md).

**Cold start.** A new process imports Streamlit's AppTest and runs the overview once:
wall time from before the process is started to the end of the run (goal ≤ 3 s), split
into the start (interpreter and ``import streamlit``) and the overview's run (which
includes importing the app's own modules and loading the extracts): the median of
``--cold-repeats`` new processes (default 3), baseline and now alternating. One more
process per side runs under ``python -X importtime`` for the time spent importing modules
anywhere in the process (the top-level imports summed; its own wall time is not used).

**Beside the previous path.** Each measurement runs in a child process whose import path
starts with the measured code: this checkout ("now") and a ``git worktree`` of
``--baseline`` (default a5122be, the commit before the speed work) under /tmp, made once
and reused, with the same virtual environment. ``--data small`` is each side's bundled
demo; any other folder is shared by both (``--baseline-data`` gives the baseline its own,
if the data format changed). Figures print as a table (figure, baseline, now, goal, met?)
and go to ``benchmarks/out/speed-<time>.json`` (and ``speed-latest.json``).

Not a test: timings depend on the machine and on what else runs on it (the load average
is recorded). Run heavy comparisons with ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_common as common

FILTER_MEDIAN_GOAL = 0.150
FILTER_P95_GOAL = 0.600
COLD_GOAL = 3.0
#: Widget kinds a filter can be, as AppTest names them.
KINDS = ("selectbox", "button_group", "radio", "select_slider", "checkbox", "toggle")
OVERVIEW = "00_overview.py"
#: Reruns with nothing changed timed on each page (their median is the page's floor).
RERUNS = 9
#: Seconds to wait after a page's first draw: longer than the collector's delay.
SETTLE_SECONDS = 2.5
#: How a page's sections (tabs) are keyed in Session State (``objective.sections``).
SECTION_SUFFIX = "-section"


# --- In the measuring child ---------------------------------------------------------------


def _session_state(at):
    state = at.session_state._state
    return getattr(state, "_state", state)


def raw_options(at, element) -> list:
    """The widget's options as the script gave them (not the labels shown)."""
    if element.type in ("checkbox", "toggle"):
        return [False, True]
    try:
        meta = _session_state(at)._new_widget_state.widget_metadata.get(element.id)
        options = getattr(getattr(meta.deserializer, "__self__", None), "options", None)
        if options is not None:
            return list(options)
    except Exception:  # AppTest internals moved: fall back to the labels
        pass
    return list(getattr(element, "options", []))


def discover(at, area: str) -> list[tuple[str, str]]:
    """(kind, key) of every keyed widget with a choice in the sidebar or the page."""
    block = at.sidebar if area == "sidebar" else at.main
    found = []
    for kind in KINDS:
        for element in block.get(kind):
            if element.key and not getattr(element, "disabled", False):
                found.append((kind, element.key))
    return found


def find(at, area: str, kind: str, key: str):
    block = at.sidebar if area == "sidebar" else at.main
    for element in block.get(kind):
        if element.key == key:
            return element
    return None


def errors(at) -> list[str]:
    return [str(e.value)[:300] for e in at.exception]


def refused(at) -> bool:
    return any("Sign-in is required" in str(e.value) for e in at.error)


def page_files(repo: Path, with_data_page: bool, only: list[str] | None = None) -> list[str]:
    pages = sorted(p.name for p in (repo / "pages").glob("0*.py"))
    if with_data_page:
        pages += sorted(p.name for p in (repo / "pages").glob("90_*.py"))
    if only:
        pages = [p for p in pages if any(p.startswith(prefix) for prefix in only)]
    return pages


def open_page(repo: Path, page: str, timeout: float):
    """A new AppTest session with ``page`` drawn once; (at, seconds of the page's run)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(repo / "app.py"), default_timeout=timeout)
    started = time.perf_counter()
    at.run()
    if page != OVERVIEW:
        started = time.perf_counter()
        at.switch_page(f"pages/{page}").run()
    seconds = time.perf_counter() - started
    if refused(at):
        raise SystemExit(
            "The app asks for sign-in for these data: run again with --open-access "
            '(an access file with sign_in = "off", through EQUALITY_MONITOR_ACCESS_FILE).'
        )
    return at, seconds


def choose(options: list, current, key: str, used: set, rng: random.Random):
    """A value other than ``current``, unused for ``key`` in this process if possible."""
    candidates = [o for o in options if o != current]
    if not candidates:
        return None, False
    fresh = [o for o in candidates if (key, repr(o)) not in used]
    value = rng.choice(fresh or candidates)
    used.add((key, repr(value)))
    return value, bool(fresh)


def filter_worker(args: argparse.Namespace) -> dict:
    repo = Path(args.repo)
    rng = random.Random(args.seed)
    used: set = set()
    areas = ["sidebar", "main"] if args.in_page else ["sidebar"]
    result: dict = {"pages": {}, "changes": []}
    process_started = time.perf_counter()
    for page in page_files(repo, args.with_data_page, args.pages):
        at, first = open_page(repo, page, args.timeout)
        entry = {"first_draw_seconds": first, "first_draw_errors": errors(at)}
        print(f"  {page}: first draw {first:.2f} s", flush=True)
        # The rerun floor: the page run again with nothing changed (as opening a table
        # view or a download does), after the collector's freeze that follows a page's
        # first run (equality_ui.collector), which would otherwise land in a timed run.
        time.sleep(SETTLE_SECONDS)
        at.run()
        reruns = []
        for _ in range(RERUNS):
            started = time.perf_counter()
            at.run()
            reruns.append(time.perf_counter() - started)
        entry["rerun_seconds"] = reruns
        print(f"  {page}: rerun, nothing changed {statistics.median(reruns) * 1000:.0f} ms")
        for area in areas:
            for kind, key in discover(at, area):
                element = find(at, area, kind, key)
                if element is None:
                    continue
                current = element.value
                value, fresh = choose(raw_options(at, element), current, key, used, rng)
                if value is None:
                    continue
                element.set_value(value)
                started, cpu = time.perf_counter(), time.process_time()
                at.run()
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu
                change = {
                    "page": page,
                    "area": area,
                    "kind": kind,
                    "key": key,
                    "value": str(value),
                    "fresh": fresh,
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                    "errors": errors(at),
                }
                result["changes"].append(change)
                print(
                    f"    {key} = {str(value)[:40]!r}: {seconds * 1000:.0f} ms"
                    + (" (value used before)" if not fresh else "")
                    + (f" ERROR {change['errors'][0][:80]}" if change["errors"] else ""),
                    flush=True,
                )
                back = find(at, area, kind, key)
                if back is not None:
                    back.set_value(current)
                    at.run()
        result["changes"] += section_switches(at, page)
        result["pages"][page] = entry
    result["process_seconds"] = time.perf_counter() - process_started
    return result


def section_switches(at, page: str) -> list[dict]:
    """Open each section (tab) of the page but the first once, timed, as a user clicking it.

    A page computes only its open section (``objective.sections``): this is what opening
    another one costs, for the filters the page opened with. A page without sections
    (as before they came) gives none. The first tab is opened again afterwards, untimed.
    """
    keys = [k for k in list(at.session_state) if str(k).endswith(SECTION_SUFFIX)]
    if not keys or not at.tabs:
        return []
    labels = [tab.label for tab in at.tabs]
    switches = []
    for label in labels[1:]:
        at.session_state[keys[0]] = label
        started, cpu = time.perf_counter(), time.process_time()
        at.run()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        switches.append(
            {
                "page": page,
                "area": "section",
                "kind": "tab",
                "key": keys[0],
                "value": label,
                "fresh": True,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "errors": errors(at),
            }
        )
        print(f"    section {label!r}: {seconds * 1000:.0f} ms", flush=True)
    at.session_state[keys[0]] = labels[0]
    at.run()
    return switches


def profile_worker(args: argparse.Namespace) -> dict:
    """cProfile of one filter change: the page drawn first, then ``key`` changed once."""
    import cProfile
    import io
    import pstats

    repo = Path(args.repo)
    page, key = args.profile.split(":", 1)
    key, _, wanted = key.partition("=")
    at, _ = open_page(repo, page, args.timeout)
    for area in ("sidebar", "main"):
        for kind, found in discover(at, area):
            if found != key:
                continue
            element = find(at, area, kind, key)
            options = raw_options(at, element)
            if wanted:
                value = next((o for o in options if str(o) == wanted), None)
                if value is None:
                    raise SystemExit(f"{key} has no option {wanted!r}: {options[:20]}")
            else:
                value, _ = choose(options, element.value, key, set(), random.Random(args.seed))
            element.set_value(value)
            # AppTest runs the script in a thread of its own: profile that thread.
            from streamlit.testing.v1.local_script_runner import LocalScriptRunner

            profiler = cProfile.Profile()
            original = LocalScriptRunner._run_script_thread

            def profiled(self, profiler=profiler, original=original):
                profiler.enable()
                try:
                    original(self)
                finally:
                    profiler.disable()

            LocalScriptRunner._run_script_thread = profiled
            started = time.perf_counter()
            at.run()
            LocalScriptRunner._run_script_thread = original
            seconds = time.perf_counter() - started
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            if args.profile_out:
                stats.dump_stats(args.profile_out)
            stats.sort_stats("cumulative").print_stats(args.profile_lines)
            stats.sort_stats("tottime").print_stats(args.profile_lines)
            print(f"{page} {key} = {value!r}: {seconds:.3f} s under cProfile")
            print(text.getvalue())
            return {"page": page, "key": key, "value": str(value), "seconds": seconds}
    raise SystemExit(f"no widget with key {key!r} on {page}")


def cold_worker(args: argparse.Namespace) -> dict:
    """Run in a new process: import AppTest, run the overview once, report the times."""
    entered = time.time()
    from streamlit.testing.v1 import AppTest

    imported = time.time()
    at = AppTest.from_file(str(Path(args.repo) / "app.py"), default_timeout=args.timeout)
    before_run = time.time()
    at.run()
    finished = time.time()
    return {
        "entered": entered,
        "imported": imported,
        "before_run": before_run,
        "finished": finished,
        "errors": errors(at),
        "refused": refused(at),
    }


def republished(sides: list[common.Side], before: dict[str, str]) -> list[str]:
    """Warnings for data folders republished while they were measured."""
    found = []
    for side in sides:
        if common.generation(side.data) != before[side.name]:
            found.append(f"{side.name}: {common.REPUBLISHED}")
    return found


def check_code(repo: Path) -> None:
    import equality_core

    where = Path(equality_core.__file__).resolve()
    if repo.resolve() not in where.parents:
        raise SystemExit(f"measuring {repo} but equality_core comes from {where}")


def worker(args: argparse.Namespace) -> None:
    repo = Path(args.repo)
    os.chdir(repo)
    sys.path.insert(0, str(repo))
    if args.worker != "cold":
        check_code(repo)
    job = {"filters": filter_worker, "cold": cold_worker, "profile": profile_worker}[args.worker]
    payload = job(args)
    Path(args.json).write_text(json.dumps(payload, default=str), encoding="utf-8")


# --- In the parent ------------------------------------------------------------------------


def run_child(
    side: common.Side, args: argparse.Namespace, job: str, *extra: str, importtime: bool = False
) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    common.OUT.mkdir(parents=True, exist_ok=True)
    log = common.OUT / f"speed-{job}-{side.name}.log"
    command = [
        sys.executable,
        *(["-X", "importtime"] if importtime else []),
        str(Path(__file__).resolve()),
        "--worker", job, "--repo", str(side.repo), "--json", str(out),
        "--seed", str(args.seed), "--timeout", str(args.timeout), *extra,
    ]  # fmt: skip
    started = time.time()
    with log.open("w", encoding="utf-8") as stderr:
        completed = subprocess.run(
            command,
            cwd=side.repo,
            env=common.child_env(side, open_access=args.open_access),
            stderr=stderr,
            check=False,
        )
    try:
        payload = json.loads(out.read_text(encoding="utf-8") or "{}")
    finally:
        out.unlink(missing_ok=True)
    if completed.returncode != 0 or not payload:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{side.name} {job} child failed ({completed.returncode}):\n{tail}")
    if job == "cold":
        payload["spawned"] = started
    if importtime:
        payload["import_seconds"] = importtime_total(log)
    return payload


def importtime_total(log: Path) -> float | None:
    """Seconds spent importing modules, from ``-X importtime`` (top-level imports summed)."""
    total = 0
    seen = False
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|", 2)
        if not name.startswith(" ") or name.startswith("  "):
            continue  # nested below another import: already in its parent's cumulative time
        total += int(cumulative)
        seen = True
    return total / 1e6 if seen else None


def merged_runs(runs: list[dict]) -> dict:
    """Several processes' runs of the same filter changes as one: each figure's median.

    The runs choose the same values (the same seed and options), so their changes pair
    up one to one; each change's time is the median of its runs (``runs`` keeps them
    all), each page's first draw too, and its reruns with nothing changed are pooled.
    Raises if the runs changed different filters or values.
    """
    if len(runs) == 1:
        return runs[0]
    counts = {len(run["changes"]) for run in runs}
    if len(counts) > 1:
        raise RuntimeError(f"the runs changed different filters: {sorted(counts)} changes")
    changes = []
    for parts in zip(*(run["changes"] for run in runs), strict=True):
        what = {(p["page"], p["area"], p.get("key"), p.get("value")) for p in parts}
        if len(what) > 1:
            raise RuntimeError(f"the runs changed different filters: {sorted(map(str, what))}")
        change = dict(parts[0])
        change["seconds"] = statistics.median(p["seconds"] for p in parts)
        if "cpu_seconds" in change:
            change["cpu_seconds"] = statistics.median(p["cpu_seconds"] for p in parts)
        change["fresh"] = all(p.get("fresh", True) for p in parts)
        change["errors"] = [e for p in parts for e in p.get("errors", [])]
        change["runs"] = [p["seconds"] for p in parts]
        changes.append(change)
    pages = {}
    for page, entry in runs[0]["pages"].items():
        entries = [run["pages"][page] for run in runs]
        pages[page] = {
            **entry,
            "first_draw_seconds": statistics.median(e["first_draw_seconds"] for e in entries),
            "first_draw_errors": [x for e in entries for x in e["first_draw_errors"]],
            "rerun_seconds": [x for e in entries for x in e.get("rerun_seconds", [])],
        }
    return {**runs[0], "changes": changes, "pages": pages, "repeats": len(runs)}


def filter_summary(result: dict) -> dict:
    changes = [c for c in result["changes"] if c["area"] == "sidebar"]
    pages: dict[str, dict] = {}
    for page in result["pages"]:
        seconds = [c["seconds"] for c in changes if c["page"] == page]
        pages[page] = {
            "filters": len(seconds),
            "median": statistics.median(seconds) if seconds else None,
            "p95": common.percentile(seconds, 95),
            "max": max(seconds) if seconds else None,
            "first_draw": result["pages"][page]["first_draw_seconds"],
            "rerun": (
                statistics.median(result["pages"][page]["rerun_seconds"])
                if result["pages"][page].get("rerun_seconds")
                else None
            ),
        }
    every = [c["seconds"] for c in changes]
    cpu = [c["cpu_seconds"] for c in changes]
    in_page = [c["seconds"] for c in result["changes"] if c["area"] == "main"]
    sections = [c["seconds"] for c in result["changes"] if c["area"] == "section"]
    floors = [p["rerun"] for p in pages.values() if p["rerun"] is not None]
    return {
        "pages": pages,
        "rerun_median": statistics.median(floors) if floors else None,
        "median": statistics.median(every) if every else None,
        "p95": common.percentile(every, 95),
        "cpu_median": statistics.median(cpu) if cpu else None,
        "cpu_p95": common.percentile(cpu, 95),
        "count": len(every),
        "stale_values": sum(not c["fresh"] for c in changes),
        "errors": [c for c in result["changes"] if c["errors"]]
        + [
            {"page": p, "first_draw_errors": e["first_draw_errors"]}
            for p, e in result["pages"].items()
            if e["first_draw_errors"]
        ],
        "in_page_median": statistics.median(in_page) if in_page else None,
        "in_page_p95": common.percentile(in_page, 95),
        "section_count": len(sections),
        "section_median": statistics.median(sections) if sections else None,
        "section_p95": common.percentile(sections, 95),
        "section_max": max(sections) if sections else None,
        "slowest": sorted(changes, key=lambda c: -c["seconds"])[:5],
    }


def cold_summary(runs: list[dict], instrumented: dict) -> dict:
    def median(key):
        return statistics.median(key(r) for r in runs)

    return {
        "runs": len(runs),
        "wall": median(lambda r: r["finished"] - r["spawned"]),
        "start": median(lambda r: r["before_run"] - r["spawned"]),
        "run": median(lambda r: r["finished"] - r["before_run"]),
        "imports": instrumented.get("import_seconds"),
        "walls": [r["finished"] - r["spawned"] for r in runs],
        "errors": [e for r in runs for e in r["errors"]],
    }


def page_title(page: str) -> str:
    stem = page[:-3]
    number, _, name = stem.partition("_")
    return "overview" if stem == "00_overview" else f"{int(number)}. {name.replace('_', ' ')}"


def rows_for(summary: dict[str, dict]) -> list[common.Row]:
    base = summary.get("baseline", {})
    now = summary["now"]
    rows: list[common.Row] = []
    if "filters" in now:
        bf, nf = base.get("filters", {}), now["filters"]
        rows.append(
            common.Row(
                "filter change, median (all pages)",
                bf.get("median"),
                nf["median"],
                "ms",
                FILTER_MEDIAN_GOAL,
            )
        )
        rows.append(
            common.Row(
                "filter change, p95 (all pages)", bf.get("p95"), nf["p95"], "ms", FILTER_P95_GOAL
            )
        )
        rows.append(
            common.Row(
                "filter change, median CPU time (all pages)",
                bf.get("cpu_median"),
                nf.get("cpu_median"),
                "ms",
            )
        )
        rows.append(
            common.Row(
                "filter change, p95 CPU time (all pages)",
                bf.get("cpu_p95"),
                nf.get("cpu_p95"),
                "ms",
            )
        )
        pages = list(dict.fromkeys([*nf["pages"], *bf.get("pages", {})]))
        for page in pages:
            b = bf.get("pages", {}).get(page, {})
            n = nf["pages"].get(page, {})
            count = n.get("filters") or b.get("filters") or 0
            label = f"{page_title(page)}: filter change ({count})"
            rows.append(
                common.Row(
                    f"{label} median", b.get("median"), n.get("median"), "ms", FILTER_MEDIAN_GOAL
                )
            )
            rows.append(
                common.Row(f"{label} p95", b.get("p95"), n.get("p95"), "ms", FILTER_P95_GOAL)
            )
        rows.append(
            common.Row(
                "rerun with nothing changed, median of the pages",
                bf.get("rerun_median"),
                nf.get("rerun_median"),
                "ms",
            )
        )
        for field, words, unit in (
            ("rerun", f"rerun with nothing changed (median of {RERUNS})", "ms"),
            ("first_draw", "first draw in the process (AppTest)", "s"),
        ):
            rows.extend(
                common.Row(
                    f"{page_title(page)}: {words}",
                    bf.get("pages", {}).get(page, {}).get(field),
                    nf["pages"].get(page, {}).get(field),
                    unit,
                )
                for page in pages
            )
        if nf.get("section_median") is not None:
            count = nf["section_count"]
            for field, words in (("median", "median"), ("p95", "p95"), ("max", "maximum")):
                rows.append(
                    common.Row(
                        f"opening another section (tab), {words} ({count})",
                        bf.get(f"section_{field}"),
                        nf[f"section_{field}"],
                        "ms",
                    )
                )
        if nf.get("in_page_median") is not None:
            rows.append(
                common.Row(
                    "in-page control change, median",
                    bf.get("in_page_median"),
                    nf["in_page_median"],
                    "ms",
                )
            )
            rows.append(
                common.Row(
                    "in-page control change, p95", bf.get("in_page_p95"), nf["in_page_p95"], "ms"
                )
            )
    if "cold" in now:
        bc, nc = base.get("cold", {}), now["cold"]
        rows.append(
            common.Row(
                "overview cold start, new process (wall)",
                bc.get("wall"),
                nc["wall"],
                "s",
                COLD_GOAL,
            )
        )
        rows.append(
            common.Row(
                "  of which start (interpreter, import streamlit)",
                bc.get("start"),
                nc["start"],
                "s",
            )
        )
        rows.append(
            common.Row(
                "  of which the overview's run (app imports, loading)",
                bc.get("run"),
                nc["run"],
                "s",
            )
        )
        rows.append(
            common.Row(
                "  module imports anywhere (-X importtime)", bc.get("imports"), nc["imports"], "s"
            )
        )
    return rows  # fmt: skip


def measure(args: argparse.Namespace) -> dict:
    report: dict = {"machine": common.machine(), "arguments": vars(args), "scales": {}}
    baseline = None if args.no_baseline else args.baseline
    printed = []
    for spec in args.data:
        sides = common.sides(spec, baseline, args.baseline_data)
        scale = common.scale_name(spec)
        summary: dict[str, dict] = {s.name: {"code": s.ref, "data": str(s.data)} for s in sides}
        raw: dict[str, dict] = {s.name: {} for s in sides}
        generations = {s.name: common.generation(s.data) for s in sides}
        if args.only in (None, "filters"):
            results: dict[str, list[dict]] = {s.name: [] for s in sides}
            spent = dict.fromkeys(results, 0.0)
            for repeat in range(args.filter_repeats):
                # Alternating which side goes first, so a machine that drifts (faster or
                # slower over minutes) weighs on both sides alike.
                for side in sides if repeat % 2 == 0 else sides[::-1]:
                    common.wait_quiet(args.max_load, args.wait)
                    print(
                        f"[{scale}] filter changes, {side.name} ({side.ref}), run "
                        f"{repeat + 1} of {args.filter_repeats}, load {common.loadavg()}",
                        flush=True,
                    )
                    started = time.perf_counter()
                    results[side.name].append(
                        run_child(
                            side,
                            args,
                            "filters",
                            *(["--in-page"] if args.in_page else []),
                            *(["--with-data-page"] if args.with_data_page else []),
                            *(["--pages", *args.pages] if args.pages else []),
                        )
                    )
                    spent[side.name] += time.perf_counter() - started
            for side in sides:
                result = merged_runs(results[side.name])
                raw[side.name]["filters"] = result
                summary[side.name]["filters"] = filter_summary(result)
                summary[side.name]["filters_instrument_seconds"] = spent[side.name]
        if args.only in (None, "cold"):
            runs: dict[str, list] = {s.name: [] for s in sides}
            for i in range(args.cold_repeats):
                for side in sides:
                    common.wait_quiet(args.max_load, args.wait)
                    run = run_child(side, args, "cold")
                    runs[side.name].append(run)
                    print(
                        f"[{scale}] cold start {i + 1}, {side.name}: {run['finished'] - run['spawned']:.2f} s",
                        flush=True,
                    )
            for side in sides:
                instrumented = run_child(side, args, "cold", importtime=True)
                raw[side.name]["cold"] = runs[side.name]
                raw[side.name]["cold_importtime"] = instrumented
                summary[side.name]["cold"] = cold_summary(runs[side.name], instrumented)
        title = f"{scale} ({sides[-1].data}), load average {common.loadavg()}"
        text = common.table(rows_for(summary), title=title)
        printed.append(text)
        print("\n" + text + "\n", flush=True)
        for name, s in summary.items():
            for problem in s.get("filters", {}).get("errors", []):
                print(f"  {name}: ERROR {json.dumps(problem, default=str)[:300]}")
            for problem in s.get("cold", {}).get("errors", []):
                print(f"  {name}: cold start ERROR {problem[:300]}")
        warnings = republished(sides, generations)
        for warning in warnings:
            print(warning, flush=True)
        report["scales"][scale] = {"summary": summary, "raw": raw, "warnings": warnings}
    report["loadavg_at_end"] = common.loadavg()
    path = common.write_json("speed", report)
    if len(printed) > 1:
        print("\n\n".join(printed))
    print(f"\nwritten to {path}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        action="append",
        help="small, national or a data folder; repeatable (default: national)",
    )
    parser.add_argument(
        "--baseline",
        default=common.DEFAULT_BASELINE,
        help="git ref of the previous path (default %(default)s)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout only")
    parser.add_argument(
        "--baseline-data", help="the baseline's own data folder (default: the same as now)"
    )
    parser.add_argument("--only", choices=["filters", "cold"])
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument(
        "--filter-repeats",
        type=int,
        default=1,
        help="run the filter changes in this many processes a side, alternating which "
        "side goes first; each change's time is the median of its runs (default 1)",
    )
    parser.add_argument(
        "--in-page", action="store_true", help="also change the controls in each page"
    )
    parser.add_argument("--with-data-page", action="store_true")
    parser.add_argument(
        "--pages", nargs="+", metavar="PREFIX", help="only these pages (e.g. 00 01)"
    )
    parser.add_argument(
        "--open-access",
        action="store_true",
        help='sign_in = "off" through EQUALITY_MONITOR_ACCESS_FILE',
    )
    parser.add_argument(
        "--profile",
        metavar="PAGE:KEY[=VALUE]",
        help="cProfile one change of one filter (this checkout only)",
    )
    parser.add_argument("--profile-lines", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile-out", metavar="FILE", help="with --profile: also write the pstats file here"
    )
    common.add_quiet_arguments(parser)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--worker", choices=["filters", "cold", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--repo", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()  # fmt: skip
    if args.worker:
        worker(args)
        return
    args.data = args.data or ["national"]
    if args.profile:
        side = common.sides(args.data[0], None)[0]
        with tempfile.NamedTemporaryFile(suffix=".json") as handle:
            subprocess.run(
                [sys.executable, __file__, "--worker", "profile", "--repo", str(side.repo),
                 "--json", handle.name, "--profile", args.profile, "--seed", str(args.seed),
                 "--profile-lines", str(args.profile_lines),
                 *(["--profile-out", str(Path(args.profile_out).resolve())] if args.profile_out else []),
                 "--timeout", str(args.timeout)],
                cwd=side.repo, env=common.child_env(side, open_access=args.open_access), check=True,
            )  # fmt: skip
        return
    common.exit_on_sigterm()
    measure(args)


if __name__ == "__main__":
    main()
