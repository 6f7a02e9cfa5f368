"""Speed in Chromium for issue 11: each page's first draw, and its redraw after a filter change.

Usage::

    python benchmarks/browser_speed.py                     # national demo, beside a5122be
    python benchmarks/browser_speed.py --data small --repeats 3 --no-baseline

One Streamlit server per side, started as ``make run`` starts it (``streamlit run
serve.py``, read from the Makefile), on a free loopback port, and one headless Chromium
launched once before anything is timed (its start-up is never counted). The server's
first page view (the overview, which loads the extracts) is timed and reported apart.
Then, ``--repeats`` times, each page (overview and objectives 1 to 5) is opened in a new
tab (a new session) and timed from the start of the navigation to the page drawn; the
first round is each page's *first visit* on this server (its default view not computed
yet), later rounds are *visits again* (computed by then). In each tab one sidebar filter
(a different one each round) is then set to an option not chosen before on this server,
and the redraw is timed from the pointer going down on the option to the page drawn.
"Drawn" is defined in ``browser_common.py``: the script run finished on the server, and
the page shows it with every visible chart drawn and no stale element.

``--first-view-after S`` opens that first page S seconds after the server answers, on both
sides, as a person arriving that long after a restart; the table also gives the server's
warm-up as its log reports it (``serve.py`` reads the extracts as it starts).

Goals: first draw ≤ 3 s, redraw ≤ 1.5 s. Per page: the first visit, the median of the
visits again, the median redraw; and over every page the median and worst. Written to
``benchmarks/out/browser-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_common as common

FIRST_DRAW_GOAL = 3.0
REDRAW_GOAL = 1.5


async def measure_side(browser, side: common.Side, args: argparse.Namespace) -> dict:
    import browser_common as bc

    rng = random.Random(args.seed)
    used: set = set()
    result: dict = {"code": side.ref, "data": str(side.data), "pages": {}, "errors": []}
    with common.Server(side, open_access=args.open_access) as server:
        result["server_ready_seconds"] = server.ready_seconds
        context = await bc.new_context(browser)
        page, watch = await bc.new_page(context)
        if args.first_view_after:
            # As a person arriving that long after a restart (the same wait on both sides).
            await asyncio.sleep(args.first_view_after)
        result["server_first_page_seconds"] = await bc.open_page(
            page, watch, f"{server.url}/", args.timeout
        )
        result["server_warm_up_seconds"] = server.warmed_up_seconds()
        print(
            f"  {side.name}: server's first page view (overview, loads the extracts) "
            f"{result['server_first_page_seconds']:.2f} s, "
            f"{args.first_view_after:g} s after it answered",
            flush=True,
        )
        await page.close()
        for round_ in range(args.repeats):
            for path in args.pages:
                entry = result["pages"].setdefault(
                    path or "overview", {"visits": [], "redraws": [], "runs": []}
                )
                page, watch = await bc.new_page(context)
                try:
                    cpu = server.cpu_seconds()
                    seconds = await bc.open_page(page, watch, f"{server.url}/{path}", args.timeout)
                    entry["visits"].append(seconds)
                    entry.setdefault("visit_server_cpu", []).append(server.cpu_seconds() - cpu)
                    entry["runs"].append({"started": watch.started, "cut_short": watch.early})
                    keys = await bc.sidebar_filters(page)
                    line = f"  {side.name} round {round_ + 1} /{path}: drawn {seconds:.2f} s"
                    if watch.early:
                        line += f" ({watch.started} runs, {watch.early} cut short)"
                    # A different filter each round, spread over the sidebar's list; one
                    # with a single option is passed over.
                    step = max(1, len(keys) // max(args.repeats, 1))
                    for attempt in range(len(keys)):
                        key = keys[(round_ * step + args.filter_offset + attempt) % len(keys)]
                        try:
                            cpu = server.cpu_seconds()
                            change = await bc.change_filter(
                                page, watch, key, used, rng, args.timeout
                            )
                        except bc.NoOtherOptionError:
                            continue
                        entry["redraws"].append(
                            {
                                **dataclasses.asdict(change),
                                "server_cpu_seconds": server.cpu_seconds() - cpu,
                            }
                        )
                        line += (
                            f"; {key} = {change.option[:30]!r} redrawn {change.seconds:.2f} s "
                            f"(server {change.server_seconds:.2f} s, "
                            f"drawing {change.drawing_seconds:.2f} s)"
                        )
                        break
                    print(line, flush=True)
                except Exception as error:  # keep measuring the other pages
                    result["errors"].append(
                        {"page": path, "round": round_, "error": str(error)[:500]}
                    )
                    print(f"  {side.name} /{path}: ERROR {str(error)[:200]}", flush=True)
                finally:
                    await page.close()
        await context.close()
        result["server_rss_gib_at_end"] = server.rss_gib()
        result["server_peak_rss_gib"] = server.peak_rss_gib()
    for entry in result["pages"].values():
        visits, redraws = entry["visits"], [r["seconds"] for r in entry["redraws"]]
        entry["first_visit"] = visits[0] if visits else None
        entry["visit_again"] = statistics.median(visits[1:]) if len(visits) > 1 else None
        entry["redraw_median"] = statistics.median(redraws) if redraws else None
        entry["redraw_max"] = max(redraws) if redraws else None
    every_redraw = [r["seconds"] for e in result["pages"].values() for r in e["redraws"]]
    firsts = [e["first_visit"] for e in result["pages"].values() if e["first_visit"] is not None]
    result["redraw_median"] = statistics.median(every_redraw) if every_redraw else None
    result["redraw_max"] = max(every_redraw) if every_redraw else None
    result["first_visit_max"] = max(firsts) if firsts else None
    every = [r for e in result["pages"].values() for r in e["redraws"]]
    for key in ("server_cpu_seconds", "server_seconds", "drawing_seconds"):
        values = [r[key] for r in every]
        result[f"redraw_{key}_median"] = statistics.median(values) if values else None
    return result


def rows_for(results: dict[str, dict], pages: list[str]) -> list[common.Row]:
    base, now = results.get("baseline", {}), results["now"]

    def page_value(result, page, key):
        return result.get("pages", {}).get(page, {}).get(key)

    rows = [
        common.Row(
            "server's first page view (overview, loads extracts)",
            base.get("server_first_page_seconds"),
            now.get("server_first_page_seconds"),
            "s",
        ),
        common.Row(
            "server's warm-up at start (its log; none: no warm-up)",
            base.get("server_warm_up_seconds"),
            now.get("server_warm_up_seconds"),
            "s",
        ),
    ]
    for path in pages:
        page = path or "overview"
        rows.append(
            common.Row(
                f"/{path}: first visit",
                page_value(base, page, "first_visit"),
                page_value(now, page, "first_visit"),
                "s",
                FIRST_DRAW_GOAL,
            )
        )
        if page_value(now, page, "visit_again") is not None:
            rows.append(
                common.Row(
                    f"/{path}: visit again (median)",
                    page_value(base, page, "visit_again"),
                    page_value(now, page, "visit_again"),
                    "s",
                    FIRST_DRAW_GOAL,
                )
            )
        rows.append(
            common.Row(
                f"/{path}: redraw after a filter change (median)",
                page_value(base, page, "redraw_median"),
                page_value(now, page, "redraw_median"),
                "s",
                REDRAW_GOAL,
            )
        )
    rows.append(
        common.Row(
            "first visit, worst page",
            base.get("first_visit_max"),
            now.get("first_visit_max"),
            "s",
            FIRST_DRAW_GOAL,
        )
    )
    rows.append(
        common.Row(
            "redraw, median of every page",
            base.get("redraw_median"),
            now.get("redraw_median"),
            "s",
            REDRAW_GOAL,
        )
    )
    rows.append(
        common.Row("redraw, worst", base.get("redraw_max"), now.get("redraw_max"), "s", REDRAW_GOAL)
    )
    for key, words in (
        ("server_seconds", "redraw, until the server's run finished (median)"),
        ("drawing_seconds", "redraw, then drawing in the browser (median)"),
        ("server_cpu_seconds", "redraw, the server's CPU time (median)"),
    ):
        rows.append(
            common.Row(
                words,
                base.get(f"redraw_{key}_median"),
                now.get(f"redraw_{key}_median"),
                "s",
            )
        )
    rows.append(
        common.Row(
            "server peak memory (VmHWM)",
            base.get("server_peak_rss_gib"),
            now.get("server_peak_rss_gib"),
            "GiB",
        )
    )
    return rows  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    import browser_common as bc
    from playwright.async_api import async_playwright

    report: dict = {"machine": common.machine(), "arguments": vars(args), "scales": {}}
    baseline = None if args.no_baseline else args.baseline
    async with async_playwright() as playwright:
        browser = await bc.launch(playwright, args.chromium_arg)
        try:
            for spec in args.data:
                scale = common.scale_name(spec)
                results = {}
                for side in common.sides(spec, baseline, args.baseline_data):
                    common.wait_quiet(args.max_load, args.wait)
                    print(
                        f"[{scale}] {side.name} ({side.ref}), load {common.loadavg()}", flush=True
                    )
                    started = time.perf_counter()
                    generation = common.generation(side.data)
                    results[side.name] = await measure_side(browser, side, args)
                    results[side.name]["instrument_seconds"] = time.perf_counter() - started
                    if common.generation(side.data) != generation:
                        results[side.name]["errors"].append(common.REPUBLISHED)
                        print(f"  {side.name}: {common.REPUBLISHED}", flush=True)
                title = f"{scale} in Chromium, load average {common.loadavg()}"
                print("\n" + common.table(rows_for(results, args.pages), title=title) + "\n")
                for name, result in results.items():
                    for problem in result["errors"]:
                        print(f"  {name}: ERROR {problem}")
                report["scales"][scale] = results
        finally:
            await browser.close()
    report["loadavg_at_end"] = common.loadavg()
    print(f"written to {common.write_json('browser', report)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        action="append",
        help="small, national or a data folder; repeatable (default: national)",
    )
    parser.add_argument("--baseline", default=common.DEFAULT_BASELINE)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--baseline-data")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over every page (default 3)")
    parser.add_argument(
        "--pages", nargs="*", help="page addresses (default: overview and objectives 1 to 5)"
    )
    parser.add_argument(
        "--filter-offset", type=int, default=0, help="which sidebar filter the first round changes"
    )
    parser.add_argument("--open-access", action="store_true")
    parser.add_argument(
        "--chromium-arg", action="append", default=[], help="an extra Chromium flag; repeatable"
    )
    common.add_quiet_arguments(parser)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--first-view-after",
        type=float,
        default=0.0,
        help="open the server's first page this many seconds after it answers (default 0)",
    )
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()  # fmt: skip
    import browser_common as bc

    args.data = args.data or ["national"]
    args.pages = bc.PAGES if args.pages is None else args.pages
    common.exit_on_sigterm()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
