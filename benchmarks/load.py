"""The load test of issue 11: concurrent sessions in one Chromium, each changing a filter.

Usage::

    python benchmarks/load.py                                   # 20 sessions, 300 s, national
    python benchmarks/load.py --sessions 5 --duration 60 --no-baseline   # a quick try
    python benchmarks/load.py --sweep 1,5,10,20 --duration 60   # memory against sessions

Driven with Playwright: one headless Chromium, one browser context per session (its own
cookies and websocket: a separate Streamlit session), against one Streamlit server started
as ``make run`` starts it, on a free loopback port. Before the sessions start, the server's
first page view (the overview) loads the extracts, untimed, so the test measures a running
server, not its start. Session *i* opens page *i* mod 6 (overview and objectives 1 to 5),
the sessions spread over one interval; once every page is drawn (the time this took is
reported), the window of ``--duration`` seconds begins, in which every session, every
``--interval`` seconds (default 10; the sessions are staggered across the interval),
changes one sidebar filter, chosen at random, to a random option (one no session has
chosen before while there is one), and waits until the page is drawn again
(``browser_common.py``). A change whose turn comes while the last one is still drawing
waits for it, and is counted as late.

Recorded: every redraw's time (from the pointer going down on the option to the page
drawn); errors (an exception block on the page, a lost websocket, a draw not finished in
``--timeout`` seconds, and tracebacks in the server's log); the server's resident memory
every second (its whole process tree, from /proc); and the CPU time used over the window by
the server, by Chromium (every process under this one that is Chromium), by this driver
(Python and Playwright's node) and by everything else on the machine (from /proc/stat),
as a share of the machine's capacity. Twenty Chromium contexts can fill two cores by
themselves, so read the redraw times with the browser's share beside them.

Goals: no error, p95 redraw ≤ 3 s, server memory ≤ 2 GiB, flat in the number of sessions
(``--sweep`` runs one fresh server per number of sessions). ``--baseline`` (default
a5122be) runs everything again on the previous path; ``--no-baseline`` skips it. Written to
``benchmarks/out/load-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_common as common

REDRAW_P95_GOAL = 3.0
MEMORY_GOAL = 2.0


class CpuMeter:
    """CPU seconds used since :meth:`start` by the server, Chromium, this driver, the rest."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.me = os.getpid()
        self.base: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.machine_base = 0.0
        self.machine_last = 0.0
        self.started = 0.0
        self.stopped = 0.0

    def _group(self, pid: int, server: set[int]) -> str:
        if pid in server:
            return "server"
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            if not name.startswith(("chrom", "headless")):
                return "driver"
            # Chromium rewrites its command line: one string, spaces between arguments.
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return "driver"
        kind = re.search(rb"--type=(\S+)", arguments)
        return f"chromium: {kind.group(1).decode() if kind else 'browser process'}"

    def _read(self) -> dict[int, tuple[str, float]]:
        server = set(common.process_tree(self.server_pid))
        found = {}
        for pid in common.process_tree(self.me):
            seconds = common.cpu_seconds(pid)
            if seconds is not None:
                found[pid] = (self._group(pid, server), seconds)
        return found

    def start(self) -> None:
        self.base = {pid: seconds for pid, (_, seconds) in self._read().items()}
        self.last = {}
        self.machine_base = self.machine_last = common.machine_cpu_seconds()
        self.started = self.stopped = time.monotonic()

    def sample(self) -> None:
        self.last.update(self._read())
        self.machine_last = common.machine_cpu_seconds()
        self.stopped = time.monotonic()

    def totals(self) -> dict:
        groups = {"server": 0.0, "chromium": 0.0, "driver": 0.0}
        chromium: dict[str, float] = {}
        for pid, (group, seconds) in self.last.items():
            used = max(seconds - self.base.get(pid, 0.0), 0.0)
            if group.startswith("chromium: "):
                chromium[group[10:]] = chromium.get(group[10:], 0.0) + used
                group = "chromium"
            groups[group] += used
        wall = max(self.stopped - self.started, 1e-9)
        capacity = wall * (os.cpu_count() or 1)
        machine = self.machine_last - self.machine_base
        groups["others on the machine"] = max(machine - sum(groups.values()), 0.0)
        return {
            "wall_seconds": wall,
            "cores": os.cpu_count(),
            "cpu_seconds": groups,
            "share_of_capacity": {k: v / capacity for k, v in groups.items()},
            "chromium_share_by_process": {k: v / capacity for k, v in chromium.items()},
            "machine_busy_share": machine / capacity,
        }


async def monitor(server: common.Server, meter: CpuMeter, samples: list, stop: asyncio.Event):
    started = time.monotonic()
    while not stop.is_set():
        common.match_priority(common.chromium_pids())
        meter.sample()
        samples.append((time.monotonic() - started, server.rss_gib()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    meter.sample()
    samples.append((time.monotonic() - started, server.rss_gib()))


async def session(
    index: int,
    browser,
    url: str,
    args: argparse.Namespace,
    window: Window,
    used: set,
    out: dict,
) -> None:
    import browser_common as bc

    rng = random.Random(args.seed * 1000 + index)
    path = bc.PAGES[index % len(bc.PAGES)]
    record = {"session": index, "page": path, "redraws": [], "errors": [], "late": 0}
    out["sessions"].append(record)
    context = await bc.new_context(browser)
    try:
        page, watch = await bc.new_page(context)
        try:
            # The sessions open their pages spread over one interval, then all wait for
            # the last to be drawn: the window of filter changes starts after.
            await asyncio.sleep(index * args.interval / window.sessions)
            record["open_seconds"] = await bc.open_page(page, watch, f"{url}/{path}", args.timeout)
        except Exception as error:
            record["errors"].append({"when": "opening", "error": str(error)[:300]})
            return
        finally:
            window.opened()
        await window.all_open.wait()
        start = window.start
        # Staggered: session i changes a filter i/N of the way into each interval.
        tick = start + args.interval * (index + 1) / window.sessions
        while tick < window.stop_at:
            await asyncio.sleep(max(tick - time.monotonic(), 0))
            keys = await bc.sidebar_filters(page)
            rng.shuffle(keys)
            for key in keys:
                try:
                    change = await bc.change_filter(page, watch, key, used, rng, args.timeout)
                except bc.NoOtherOptionError:
                    continue
                except Exception as error:
                    record["errors"].append(
                        {
                            "when": round(time.monotonic() - start, 1),
                            "key": key,
                            "option": getattr(error, "option", None),
                            "after": [(r["key"], r["option"]) for r in record["redraws"][-8:]],
                            "error": str(error)[:300],
                        }
                    )
                    if watch.closed:  # disconnected: open the page again and go on
                        try:
                            page, watch = await bc.new_page(context)
                            await bc.open_page(page, watch, f"{url}/{path}", args.timeout)
                        except Exception as again:
                            record["errors"].append(
                                {"when": "reopening", "error": str(again)[:300]}
                            )
                            return
                    break
                record["redraws"].append(
                    {"at": round(time.monotonic() - start, 2), **dataclasses.asdict(change)}
                )
                break
            tick += args.interval
            if time.monotonic() > tick:
                record["late"] += 1
                tick = time.monotonic()
        record["runs_cut_short"] = watch.early
    finally:
        await context.close()


class Window:
    """The window of filter changes: it opens once every session has drawn its page."""

    def __init__(self, sessions: int, duration: float) -> None:
        self.sessions = sessions
        self.duration = duration
        self.waiting = sessions
        self.all_open = asyncio.Event()
        self.began = time.monotonic()
        self.start = 0.0
        self.stop_at = 0.0

    def opened(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.start = time.monotonic()
            self.stop_at = self.start + self.duration
            self.all_open.set()


def server_log_errors(server: common.Server) -> list[str]:
    """Tracebacks and error-level lines in the server's log (first 50)."""
    text = server.log_path.read_text(encoding="utf-8", errors="replace")
    found = [
        line
        for line in text.splitlines()
        if "Traceback (most recent call last)" in line
        or " ERROR " in line
        or "Uncaught app exception" in line
    ]
    return found[:50]


def median_of(out: dict, key: str) -> float | None:
    values = [r[key] for s in out["sessions"] for r in s["redraws"]]
    return statistics.median(values) if values else None


async def measure_window(
    server: common.Server,
    sessions: int,
    duration: float,
    out: dict,
    start: Callable[[int, Window, set], Awaitable[None]],
) -> list:
    """Open ``sessions`` sessions (``start(i, window, used)``) and run them over one window.

    Records in ``out`` the server's memory before, at the end and every second (the
    samples, also returned), the CPU shares over the window of changes only, the time
    every session took to open, and the errors in the server's log. Shared by this test
    and ``protocol_load.py``, so both measure the same way.
    """
    out["rss_gib_before_sessions"] = server.rss_gib()
    meter = CpuMeter(server.process.pid)
    meter.start()
    samples: list = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(monitor(server, meter, samples, stop))
    window = Window(sessions, duration)
    used: set = set()
    tasks = asyncio.gather(*(start(i, window, used) for i in range(sessions)))
    await window.all_open.wait()
    meter.start()  # CPU shares over the window of changes only
    out["opening_all_seconds"] = window.start - window.began
    await tasks
    out["wall_seconds"] = time.monotonic() - window.start
    stop.set()
    await watcher
    out["rss_series"] = [(round(t, 1), round(g, 3)) for t, g in samples]
    out["cpu"] = meter.totals()
    out["server_peak_rss_gib"] = server.peak_rss_gib()
    out["rss_gib_at_end"] = server.rss_gib()
    out["server_log_errors"] = server_log_errors(server)
    return samples


async def one_point(browser, side: common.Side, sessions: int, args: argparse.Namespace) -> dict:
    """One fresh server, ``sessions`` sessions for ``args.duration`` seconds."""
    import browser_common as bc

    out: dict = {"sessions_requested": sessions, "sessions": []}
    with common.Server(side, open_access=args.open_access) as server:
        # The server's first page view loads the extracts: not part of the test.
        context = await bc.new_context(browser)
        page, watch = await bc.new_page(context)
        out["server_first_page_seconds"] = await bc.open_page(
            page, watch, f"{server.url}/", args.timeout
        )
        await context.close()
        samples = await measure_window(
            server,
            sessions,
            args.duration,
            out,
            lambda i, window, used: session(i, browser, server.url, args, window, used, out),
        )
    redraws = [r["seconds"] for s in out["sessions"] for r in s["redraws"]]
    opens = [s["open_seconds"] for s in out["sessions"] if "open_seconds" in s]
    errors = [e for s in out["sessions"] for e in s["errors"]]
    out["summary"] = {
        "redraws": len(redraws),
        "redraw_median": statistics.median(redraws) if redraws else None,
        "redraw_p95": common.percentile(redraws, 95),
        "redraw_max": max(redraws) if redraws else None,
        "redraw_server_median": median_of(out, "server_seconds"),
        "redraw_drawing_median": median_of(out, "drawing_seconds"),
        "open_median": statistics.median(opens) if opens else None,
        "opening_all_seconds": out["opening_all_seconds"],
        "open_max": max(opens) if opens else None,
        "errors": len(errors),
        "server_tracebacks": sum("Traceback" in line for line in out["server_log_errors"]),
        "disconnects": sum("websocket closed" in e["error"] for e in errors),
        "late": sum(s["late"] for s in out["sessions"]),
        "rss_peak_gib": max((g for _, g in samples), default=None),
        "rss_before_gib": out["rss_gib_before_sessions"],
        "rss_end_gib": out["rss_gib_at_end"],
        "cpu_share": out["cpu"]["share_of_capacity"],
    }
    summary = out["summary"]
    print(
        f"  {side.name}, {sessions} sessions: {summary['redraws']} redraws, "
        f"median {summary['redraw_median'] or 0:.2f} s, p95 {summary['redraw_p95'] or 0:.2f} s, "
        f"{summary['errors']} errors, server {summary['rss_peak_gib'] or 0:.2f} GiB at peak, CPU "
        + ", ".join(f"{k} {v:.0%}" for k, v in summary["cpu_share"].items())
        + " (Chromium: "
        + ", ".join(f"{k} {v:.0%}" for k, v in out["cpu"]["chromium_share_by_process"].items())
        + ")",
        flush=True,
    )
    return out


def rows_for(points: dict[str, dict[int, dict]]) -> list[common.Row]:
    base, now = points.get("baseline", {}), points["now"]
    rows = []
    counts = sorted(now)
    for n in counts:
        b = base.get(n, {}).get("summary", {})
        s = now[n]["summary"]
        label = f"{n} sessions:"

        def row(name, key, unit, limit=None, b=b, s=s, label=label):
            rows.append(common.Row(f"{label} {name}", b.get(key), s.get(key), unit, limit))

        row("redraws", "redraws", "")
        rows.append(
            common.Row(
                f"{label} errors (error blocks, lost connections, draws timed out)",
                b.get("errors"),
                s["errors"],
                "",
                0,
            )
        )
        row("tracebacks in the server's log", "server_tracebacks", "", 0)
        row("redraw median", "redraw_median", "s")
        row("redraw p95", "redraw_p95", "s", REDRAW_P95_GOAL)
        row("redraw worst", "redraw_max", "s")
        row("redraw, until the server's run finished (median)", "redraw_server_median", "s")
        row("redraw, then drawing in the browser (median)", "redraw_drawing_median", "s")
        row("page opening, median", "open_median", "s")
        row("every session open (before the window)", "opening_all_seconds", "s")
        row("changes late (previous redraw not done)", "late", "")
        row("server memory before the sessions", "rss_before_gib", "GiB")
        row("server memory, peak", "rss_peak_gib", "GiB", MEMORY_GOAL)
        for group in ("server", "chromium", "driver", "others on the machine"):
            rows.append(common.Row(
                f"{label} CPU, {group} (share of {os.cpu_count()} cores)",
                (b.get("cpu_share") or {}).get(group) and b["cpu_share"][group] * 100,
                s["cpu_share"][group] * 100,
                "%",
            ))  # fmt: skip
    if len(counts) > 1:
        first = counts[0]
        for n in counts[1:]:

            def growth(points_of, n=n):
                if n not in points_of or first not in points_of:
                    return None
                peak = points_of[n]["summary"]["rss_peak_gib"]
                return (peak - points_of[first]["summary"]["rss_peak_gib"]) / (n - first)

            rows.append(common.Row(f"server memory per session added, {first} to {n}", growth(base), growth(now), "GiB"))  # fmt: skip
    return rows


async def measure_points(
    spec: str,
    counts: list[int],
    args: argparse.Namespace,
    report: dict,
    one: Callable[[common.Side, int], Awaitable[dict]],
    how: str,
) -> dict[str, dict[int, dict]]:
    """Every number of sessions on each side for one data folder: ``one(side, n)`` a point.

    Waits for a quiet machine before each point, and notes in ``report`` a data folder
    republished while it was measured. ``how`` says in the progress lines how the
    sessions are driven.
    """
    scale = common.scale_name(spec)
    points: dict[str, dict[int, dict]] = {}
    baseline = None if args.no_baseline else args.baseline
    for side in common.sides(spec, baseline, args.baseline_data):
        generation = common.generation(side.data)
        for n in counts:
            common.wait_quiet(args.max_load, args.wait)
            print(
                f"[{scale}] {side.name} ({side.ref}): {n} sessions {how} for "
                f"{args.duration:g} s, load {common.loadavg()}",
                flush=True,
            )
            points.setdefault(side.name, {})[n] = await one(side, n)
        if common.generation(side.data) != generation:
            warning = f"{side.name}: {common.REPUBLISHED}"
            print(f"  {warning}", flush=True)
            report.setdefault("warnings", []).append(warning)
    return points


async def run(args: argparse.Namespace) -> None:
    import browser_common as bc
    from playwright.async_api import async_playwright

    counts = [int(n) for n in args.sweep.split(",")] if args.sweep else [args.sessions]
    report: dict = {"machine": common.machine(), "arguments": vars(args).copy(), "scales": {}}
    async with async_playwright() as playwright:
        browser = await bc.launch(playwright, args.chromium_arg)
        try:
            for spec in args.data:
                scale = common.scale_name(spec)
                points = await measure_points(
                    spec,
                    counts,
                    args,
                    report,
                    lambda side, n: one_point(browser, side, n, args),
                    "in Chromium",
                )
                title = f"{scale}: load test in Chromium, load average {common.loadavg()}"
                print("\n" + common.table(rows_for(points), title=title) + "\n", flush=True)
                report["scales"][scale] = points
        finally:
            await browser.close()
    report["loadavg_at_end"] = common.loadavg()
    print(f"written to {common.write_json('load', report)}")


def parsed_arguments(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """A load test's options (this one's and ``protocol_load.py``'s, with ``extra`` ones).

    The data folder defaults to the national demo; a SIGTERM ends the test cleanly.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", action="append", help="small, national or a data folder (default: national)"
    )
    parser.add_argument("--sessions", type=int, default=20, help="sessions at once (default 20)")
    parser.add_argument(
        "--duration", type=float, default=300, help="seconds of changes (default 300)"
    )
    parser.add_argument(
        "--interval", type=float, default=10, help="seconds between a session's changes"
    )
    parser.add_argument(
        "--sweep", help="numbers of sessions, one fresh server each, e.g. 1,5,10,20"
    )
    parser.add_argument(
        "--baseline", default=common.DEFAULT_BASELINE, help="the commit to compare with"
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout only")
    parser.add_argument("--baseline-data", help="the baseline's data, if not --data")
    parser.add_argument(
        "--open-access", action="store_true", help="switch sign-in off (supplied data)"
    )
    common.add_quiet_arguments(parser)
    parser.add_argument("--seed", type=int, default=11, help="of every session's choices")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds before a redraw is an error"
    )
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    args.data = args.data or ["national"]
    common.exit_on_sigterm()
    return args


def _chromium_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chromium-arg", action="append", default=[], help="an extra Chromium flag; repeatable"
    )


def main() -> None:
    asyncio.run(run(parsed_arguments(__doc__, _chromium_arguments)))


if __name__ == "__main__":
    main()
