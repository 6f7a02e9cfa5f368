"""Rerun the hostile corpus and print the table kept in tests/hostile/README.md.

.venv/bin/python -m tests.hostile.table > /tmp/table.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.hostile.corpus import CASES, build_good_set, run_case, summary

ITEMS = {
    0: "everyday",
    1: "1 dates",
    2: "2 shrink",
    3: "3 headers",
    4: "4 references",
    6: "6 unusable values",
    7: "7 sizes",
    8: "8 links",
    9: "9 plausibility",
    10: "10 messages",
}


def main() -> int:
    """Run every case and print the Markdown table; non-zero if any verdict is unexpected."""
    with tempfile.TemporaryDirectory() as directory:
        good = build_good_set(Path(directory) / "good")
        results = [run_case(case, good, Path(directory)) for case in CASES]
        for result in results:
            if result.outcome.error:
                folder = str(Path(directory) / result.case.id)
                result.outcome.error = result.outcome.error.replace(folder, "DATA")
    counts = summary(results)
    lines = [
        "| tried | refused with a clear message | normalised | published wrongly | other |",
        "| ---: | ---: | ---: | ---: | ---: |",
        "| {tried} | {refused with a clear message} | {normalised} | {published wrongly} | "
        "{other} |".format(**counts),
        "",
        "| case | issue item | bad input | verdict | what the report says (first line) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        failures = result.outcome.failures
        first = result.outcome.error or (
            f"{failures[0].column or '(table)'}: {failures[0].rule}: {failures[0].description}"
            if failures
            else ""
        )
        first = first.replace("|", "\\|").replace("\n", " ")
        if len(first) > 140:
            first = first[:137] + "…"
        lines.append(
            f"| `{result.case.id}` | {ITEMS[result.case.item]} | {result.case.what} | "
            f"{result.verdict} | {first} |"
        )
    print("\n".join(lines))
    return 0 if all(r.verdict == r.case.expect for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
