"""Command line: what an analyst does outside the browser.

    python -m equality_core demo      [--data DIR] [--scale small|national|national-x5] [--seed N] [--force]
    python -m equality_core validate  [--data DIR] [--accept-shrink] [--shrink-tolerance 10%]
                                      [--max-file-size 2GB] [--report-retention-days 90]
                                      [EXTRACT ...]
    python -m equality_core disparity COUNTS.csv [options]
    python -m equality_core suites    [--check]
    python -m equality_core docs
    python -m equality_core audit     [show|prune|migrate] [--data DIR] [--since YYYY-MM-DD]
                                      [--user U] [--format table|csv] [--older-than-days N]

``--data DIR`` wins over ``EQUALITY_MONITOR_DATA``, which wins over ``data/``.
Exit codes: 0 success, 1 a validation failed, 2 unusable input or usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from equality_core.paths import resolve_data_dir


def _progress(start: float):
    def report(message: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {message}", file=sys.stderr, flush=True)

    return report


def _size(text: str) -> int:
    """A size such as ``2GB``, ``500MB``, ``750KB`` or a number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2GB, 500MB)")
    unit = (match.group(2) or "").upper().replace("I", "").rstrip("B")
    factor = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[unit]
    return int(float(match.group(1)) * factor)


def _fraction(text: str) -> float:
    """A tolerance such as ``10%`` or ``0.1``."""
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a fraction: {text!r} (e.g. 10% or 0.1)") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0% and below 100%, got {text!r}")
    return value


def _settings(args: argparse.Namespace, *, accept_shrink: bool | None = None):
    from equality_core.validation import ValidationSettings

    return ValidationSettings(
        accept_shrink=args.accept_shrink if accept_shrink is None else accept_shrink,
        shrink_tolerance=args.shrink_tolerance,
        max_file_bytes=args.max_file_size,
        report_retention_days=args.report_retention_days,
        lock_timeout=args.lock_timeout,
    )


def _exit_code(outcomes) -> int:
    """0 if every extract passed; 2 if any input was unusable; else 1."""
    if any(o.unusable for o in outcomes):
        return 2
    return 1 if any(not o.success for o in outcomes) else 0


def _command_validate(args: argparse.Namespace) -> int:
    from equality_core.publish import DataFolderBusyError
    from equality_core.validation import validate_all

    workers = _workers_wanted(args)
    if workers is None:
        return 2
    paths = resolve_data_dir(args.data)
    if not paths.raw.is_dir():
        print(f"error: no raw folder at {paths.raw}", file=sys.stderr)
        return 2
    try:
        outcomes = validate_all(
            paths,
            args.extracts or None,
            progress=_progress(time.monotonic()),
            settings=_settings(args),
            workers=workers,
        )
    except (ValueError, DataFolderBusyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: the data folder {paths.root} cannot be used ({error})", file=sys.stderr)
        return 2
    except Exception as error:  # never a traceback: say what stopped the run
        print(
            f"error: validation stopped ({type(error).__name__}: {error}); the published "
            "set is still one whole generation (the progress lines say if this run's was)",
            file=sys.stderr,
        )
        return 2
    if not outcomes:
        print(f"error: no raw extracts found in {paths.raw}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if not o.success]
    generation = next((o.generation for o in outcomes if o.generation), None)
    print(
        f"{len(outcomes) - len(failed)} extract(s) published, {len(failed)} failed "
        f"(data folder {paths.root}" + (f", generation {generation})" if generation else ")")
    )
    for outcome in failed:
        print(outcome.summary())
    return _exit_code(outcomes)


def _command_demo(args: argparse.Namespace) -> int:
    from equality_core.demo import generate_demo, write_raw
    from equality_core.ingest import sha256_of
    from equality_core.publish import DataFolderBusyError, data_folder_lock
    from equality_core.validation import validate_all

    workers = _workers_wanted(args)
    if workers is None:
        return 2
    paths = resolve_data_dir(args.data)
    report = _progress(time.monotonic())
    foreign = _files_the_demo_did_not_make(paths)
    if foreign and not args.force:
        print(
            f"error: {paths.raw} holds files the demo did not create, or that changed since "
            f"it did ({', '.join(foreign[:5])}); use --force to overwrite them",
            file=sys.stderr,
        )
        return 2
    report(f"generating {args.scale} demo data (seed {args.seed})")
    demo = generate_demo(scale=args.scale, seed=args.seed, progress=report)
    try:
        # Hold the data folder while its raw files change, so no validate run reads half.
        with data_folder_lock(paths, timeout=args.lock_timeout, on_wait=report):
            paths.raw.mkdir(parents=True, exist_ok=True)
            written = write_raw(demo, paths.raw, progress=report, workers=workers)
            marker = {
                "created_by": "python -m equality_core demo",
                "scale": args.scale,
                "seed": args.seed,
                "files": {p.name: sha256_of(p) for p in written},
            }
            paths.demo_marker.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            # The demo replaces its own data wholesale: a smaller scale is no shrink to refuse.
            outcomes = validate_all(
                paths,
                progress=report,
                settings=_settings(args, accept_shrink=True),
                workers=workers,
            )
    except DataFolderBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if not o.success]
    for outcome in failed:
        print(outcome.summary())
    print(
        f"demo data ({args.scale}, seed {args.seed}) in {paths.root}: "
        f"{len(outcomes) - len(failed)} extract(s) published, {len(failed)} failed"
    )
    return _exit_code(outcomes)


def _files_the_demo_did_not_make(paths) -> list[str]:
    """Raw files that the demo's marker does not list with their current checksum.

    The demo owns ``raw/`` only as far as its marker says: a file an analyst added, or
    edited after the demo wrote it, is theirs, and the demo will not overwrite it.
    """
    from equality_core.ingest import sha256_of

    if not paths.raw.is_dir():
        return []
    try:
        made = json.loads(paths.demo_marker.read_text(encoding="utf-8")).get("files", {})
    except (FileNotFoundError, json.JSONDecodeError):
        made = {}
    return sorted(
        p.name
        for p in paths.raw.iterdir()
        if p.is_file() and p != paths.demo_marker and made.get(p.name) != sha256_of(p)
    )


def _command_derive(args: argparse.Namespace) -> int:
    from equality_core import derived
    from equality_core.publish import DataFolderBusyError, data_folder_lock

    workers = _workers_wanted(args)
    if workers is None:
        return 2
    paths = resolve_data_dir(args.data)
    if not paths.manifest.exists():
        print(f"error: nothing is published in {paths.root}", file=sys.stderr)
        return 2
    progress = _progress(time.monotonic())
    try:
        with data_folder_lock(paths, timeout=args.lock_timeout, on_wait=progress):
            made = derived.build_published(paths, progress=progress, workers=workers)
    except DataFolderBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    progress(f"{len(made)} extracts have their sums in {paths.root / derived.FOLDER}")
    return 0


def _command_suites(args: argparse.Namespace) -> int:
    from equality_core.schema import EXTRACTS
    from equality_core.suites import EXPECTATIONS_DIR, suite_json, write_suites

    if args.check:
        stale = [
            name
            for name, extract in EXTRACTS.items()
            if not (EXPECTATIONS_DIR / f"{name}.json").exists()
            or (EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8")
            != suite_json(extract)
        ]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python -m equality_core suites")
            return 1
        print("expectation suites are up to date")
        return 0
    for path in write_suites():
        print(path)
    return 0


def _command_docs(args: argparse.Namespace) -> int:
    from equality_core.contract_doc import write_data_contract, write_glossary

    print(write_data_contract())
    print(write_glossary())
    return 0


def _command_disparity(args: argparse.Namespace) -> int:
    from equality_core.disparity_cli import run

    return run(args)


def _command_audit(args: argparse.Namespace) -> int:
    from equality_core.audit import run_command

    return run_command(args, out=sys.stdout, err=sys.stderr)


def _validation_options(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(accept_shrink=False)
    parser.add_argument(
        "--shrink-tolerance",
        type=_fraction,
        default=0.10,
        help="fall in rows tolerated against the published extract (default 10%%)",
    )
    parser.add_argument(
        "--max-file-size",
        type=_size,
        default=2 * 1024**3,
        help="largest raw file, and largest a workbook may expand to (default 2GB)",
    )
    parser.add_argument(
        "--report-retention-days",
        type=int,
        default=90,
        help="days reports keep their sample rows of record-level data (default 90)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for another validate run to finish (default 600)",
    )
    _workers_option(parser)


def _workers(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _workers_wanted(args: argparse.Namespace) -> int | None:
    """``--workers``, else the environment's count; None (said on stderr) if that is bad."""
    from equality_core.publish import publish_workers

    if args.workers is not None:
        return args.workers
    try:
        return publish_workers()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _workers_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_workers,
        help="processes that check extracts and make their sums at once (default: "
        "$EQUALITY_MONITOR_PUBLISH_WORKERS, else 2; at most the CPUs)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m equality_core",
        description="Equality Monitor: demo data, validation and disparity tables.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate, validate and publish synthetic demo data")
    demo.add_argument("--data", help="data folder (default: $EQUALITY_MONITOR_DATA or data/)")
    demo.add_argument(
        "--scale",
        choices=("small", "national", "national-x5"),
        default="small",
        help="small (the bundled demo), national, or national-x5: five times national, "
        "written and validated a period at a time (docs/scaling.md)",
    )
    demo.add_argument("--seed", type=int, default=20261124)
    demo.add_argument(
        "--force", action="store_true", help="overwrite raw files the demo did not make"
    )
    _validation_options(demo)
    demo.set_defaults(handler=_command_demo)

    validate = commands.add_parser(
        "validate", help="validate raw extracts and publish those that pass"
    )
    validate.add_argument("--data", help="data folder (default: $EQUALITY_MONITOR_DATA or data/)")
    validate.add_argument("extracts", nargs="*", help="extract names (default: every raw file)")
    validate.add_argument(
        "--accept-shrink",
        action="store_true",
        help="publish an extract even if it shrinks against the one it replaces",
    )
    _validation_options(validate)
    validate.set_defaults(handler=_command_validate)

    derive = commands.add_parser(
        "derive",
        help="make the dashboard's sums of the published extracts (validate does it too); "
        "run after upgrading the code",
    )
    derive.add_argument("--data", help="data folder (default: $EQUALITY_MONITOR_DATA or data/)")
    _workers_option(derive)
    derive.add_argument(
        "--lock-timeout", type=float, default=600, help="seconds to wait for a validate run"
    )
    derive.set_defaults(handler=_command_derive)

    suites = commands.add_parser("suites", help="write expectations/*.json from the schema")
    suites.add_argument("--check", action="store_true", help="only check they are up to date")
    suites.set_defaults(handler=_command_suites)

    docs = commands.add_parser("docs", help="write docs/data-contract.md from the schema")
    docs.set_defaults(handler=_command_docs)

    disparity = commands.add_parser(
        "disparity", help="relative rates, significance and flags from a counts file"
    )
    from equality_core.disparity_cli import configure_parser

    configure_parser(disparity)
    disparity.set_defaults(handler=_command_disparity)

    audit = commands.add_parser(
        "audit", help="read the audit trail (default), prune it, or migrate its schema"
    )
    # An optional action, so that `audit --since DATE` reads the trail as the issue writes it.
    audit.add_argument("action", nargs="?", choices=("show", "prune", "migrate"), default="show")
    audit.add_argument("--data", help="data folder (default: $EQUALITY_MONITOR_DATA or data/)")
    audit.add_argument("--since", metavar="YYYY-MM-DD", help="show: events from this day (UTC)")
    audit.add_argument("--user", help="show: one user's events")
    audit.add_argument("--format", choices=("table", "csv"), help="show: default table")
    audit.add_argument(
        "--older-than-days",
        metavar="N",
        help="prune: remove events older than N days "
        "(default: $EQUALITY_MONITOR_AUDIT_RETENTION_DAYS or 400)",
    )
    audit.set_defaults(handler=_command_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
