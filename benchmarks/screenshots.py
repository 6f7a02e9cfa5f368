"""Open every page in headless Chromium against ``streamlit run app.py`` and save screenshots.

Usage: ``python benchmarks/screenshots.py [--data DIR]`` (default: the national demo at
/tmp/equality-monitor-national). Screenshots go to benchmarks/out/screenshots/, with the
time each page took to draw its charts.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPOSITORY = Path(__file__).resolve().parent.parent
OUT = REPOSITORY / "benchmarks" / "out" / "screenshots"
PAGES = {
    "overview": ("", 1),
    "psed": ("psed", 1),
    "offenders": ("offenders", 4),
    "offenders-establishment": ("offenders?establishment=", 4),
    "workforce": ("workforce", 1),
    "disabled_staff": ("disabled_staff", 1),
    "disabled_offenders": ("disabled_offenders", 1),
    "data": ("data", 0),
    "presentation": ("presentation", 1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/tmp/equality-monitor-national")
    parser.add_argument("--establishment", default=None, help="label as the filter shows it")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false"],
        cwd=REPOSITORY,
        env={**os.environ, "EQUALITY_MONITOR_DATA": args.data},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            )
            for name, (path, charts) in PAGES.items():
                if path.endswith("establishment="):
                    if not args.establishment:
                        continue
                    path += urllib.parse.quote_plus(args.establishment)
                page = browser.new_page(viewport={"width": 1500, "height": 1100})
                started = time.perf_counter()
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                page.locator("[data-testid=stAlert]").first.wait_for(timeout=180_000)
                if charts:
                    page.wait_for_function(
                        "n => document.querySelectorAll('[data-testid=stVegaLiteChart] svg, "
                        "[data-testid=stVegaLiteChart] canvas').length >= n",
                        arg=charts,
                        timeout=180_000,
                    )
                page.wait_for_timeout(1500)
                elapsed = time.perf_counter() - started
                # The main block scrolls inside the page: grow the viewport to its height
                # so the screenshot holds the whole page, not its first screen.
                height = page.evaluate(
                    "() => Math.max(...[...document.querySelectorAll('section, div')]"
                    ".map(e => e.scrollHeight))"
                )
                page.set_viewport_size({"width": 1500, "height": min(int(height) + 200, 16000)})
                page.wait_for_timeout(2500)
                errors = page.locator("[data-testid=stException]").count()
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                print(f"{name}: {elapsed:.1f} s to draw, {errors} error block(s)", flush=True)
                page.close()
            browser.close()
        # The server's peak memory with every page visited (Linux only).
        status = Path(f"/proc/{server.pid}/status")
        if status.exists():
            peak = next(
                line for line in status.read_text().splitlines() if line.startswith("VmHWM")
            )
            print(f"server peak memory: {int(peak.split()[1]) / 1024**2:.2f} GiB", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
