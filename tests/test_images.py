"""Slide images: 16:9 at slide resolution, with the title, the source and the [c] note."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
import zlib

import altair as alt
import numpy as np
import pandas as pd
import pytest

from equality_core.images import SUPPRESSION_NOTE, slide_png, slide_svg, text_width

SVG = "{http://www.w3.org/2000/svg}"
BAR = (0x12, 0x43, 0x6D)
SOURCE = ["Source: Equality Monitor (synthetic demo data), validated 2026-01-05 10:00 UTC."]
TITLE = "Force used: Black prisoners 2.0 times as likely as White prisoners"


def _chart(groups: int = 5) -> dict:
    frame = pd.DataFrame(
        {"group": [f"Group {n}" for n in range(groups)], "rate": np.linspace(0.05, 0.25, groups)}
    )
    chart = (
        alt.Chart(frame)
        .mark_bar(color="#12436D")
        .encode(x=alt.X("rate:Q", title="Rate of force used"), y=alt.Y("group:N", title=None))
        .properties(
            title=alt.Title("The chart's own title", subtitle="Rate by ethnic group, 2025-Q4"),
            height=alt.Step(28),
        )
    )
    return chart.to_dict()


def _decode(png: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced RGB or RGBA PNG, as rows x columns x channels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], np.frombuffer(raw[start + 1 : start + 1 + stride], np.uint8)
        line = line.astype(np.int32)
        if kind == 0:
            out = line
        elif kind == 2:
            out = (line + previous) % 256
        else:
            out = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                left = out[x - channels] if x >= channels else 0
                up = previous[x]
                if kind == 1:
                    guess = left
                elif kind == 3:
                    guess = (left + up) // 2
                else:
                    upper_left = previous[x - channels] if x >= channels else 0
                    p = left + up - upper_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                    guess = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                out[x] = (line[x] + guess) % 256
        rows[y] = out
        previous = out
    return rows.reshape(height, width, channels)[:, :, :3]


def _texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def _own_texts(svg: str) -> list[str]:
    """The slide's own lines (title, subtitle, footer), not the chart's."""
    root = ET.fromstring(svg)
    return [element.text or "" for element in root.findall(f"{SVG}text")]


def test_the_png_is_16_9_at_slide_resolution() -> None:
    png = slide_png(_chart(), title=TITLE, source_lines=SOURCE, notes=[SUPPRESSION_NOTE])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1920, 1080)
    assert len(png) > 30_000  # text and a chart, not an empty canvas


def test_the_slide_states_title_subtitle_source_and_the_c_note_as_text() -> None:
    svg = slide_svg(_chart(), title=TITLE, source_lines=SOURCE, notes=[SUPPRESSION_NOTE])
    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height")) == ("1920", "1080")
    own = _own_texts(svg)
    assert own[0] == TITLE  # fits one line at 1920 pixels
    assert "Rate by ethnic group, 2025-Q4" in own  # the chart's subtitle, kept
    footer = " ".join(own)
    assert SOURCE[0] in footer and "[c]: a figure hidden to protect confidentiality" in footer
    everything = _texts(svg)
    assert "Rate of force used" in everything  # the chart is drawn inside
    assert "The chart's own title" not in everything  # replaced by the slide's title


def test_the_c_note_is_added_once_when_the_caller_gives_none() -> None:
    added = _own_texts(slide_svg(_chart(), title=TITLE, source_lines=SOURCE))
    assert sum("[c]" in line for line in added) == 1
    told = ["Disclosure control: cell key method. [c]: hidden; [x]: does not apply."]
    kept = _own_texts(slide_svg(_chart(), title=TITLE, source_lines=[*SOURCE, *told]))
    assert sum("[c]" in line for line in kept) == 1 and told[0] in kept


def test_the_png_draws_the_svg_text_in_place() -> None:
    small = {"width_px": 480, "height_px": 270}
    first = _decode(slide_png(_chart(), title="Force used: higher", source_lines=SOURCE, **small))
    other = _decode(slide_png(_chart(), title="Force used: lesser", source_lines=SOURCE, **small))
    moved = _decode(
        slide_png(_chart(), title="Force used: higher", source_lines=["Source: elsewhere"], **small)
    )
    assert first.shape == (270, 480, 3)
    changed_by_title = np.flatnonzero((first != other).any(axis=(1, 2)))
    changed_by_source = np.flatnonzero((first != moved).any(axis=(1, 2)))
    # The words are drawn (text that failed to render would change no pixel), the title's at
    # the top and the source's at the bottom; the chart between them is the same.
    assert len(changed_by_title) and changed_by_title.max() < 270 * 0.15
    assert len(changed_by_source) and changed_by_source.min() > 270 * 0.8
    bar_rows = np.flatnonzero((first == BAR).all(axis=2).any(axis=1))
    assert len(bar_rows) > 20
    assert changed_by_title.max() < bar_rows.min() and bar_rows.max() < changed_by_source.min()


def test_long_text_wraps_inside_the_margins() -> None:
    title = "WIDE CAPITALS: HMP WORMWOOD AND HMP WANDSWORTH WOMEN WITH MANY WARNINGS " * 2
    source = ["Source: " + "a long provenance line that keeps on going " * 6]
    svg = slide_svg(_chart(), title=title, source_lines=source, width_px=480, height_px=270)
    lines = _own_texts(svg)
    title_lines = [line for line in lines if line.isupper()]
    assert len(title_lines) > 2  # wrapped, not cut short: every word kept
    assert " ".join(title_lines) == " ".join(title.split())
    pixels = _decode(
        slide_png(_chart(), title=title, source_lines=source, width_px=480, height_px=270)
    )
    margin = int(72 / 4 / 2)  # half the page margin at a quarter of full size
    ink = (pixels < 250).any(axis=2)
    assert ink.any()
    assert not ink[:, :margin].any() and not ink[:, -margin:].any()


def test_a_tall_chart_is_fitted_between_title_and_footer() -> None:
    svg = slide_svg(_chart(groups=30), title=TITLE, source_lines=SOURCE)
    root = ET.fromstring(svg)
    (chart,) = root.findall(f"{SVG}svg")
    top, height = float(chart.get("y")), float(chart.get("height"))
    left, width = float(chart.get("x")), float(chart.get("width"))
    title_baseline = float(root.findall(f"{SVG}text")[0].get("y"))
    (rule,) = root.findall(f"{SVG}line")
    assert title_baseline < top and top + height < float(rule.get("y1"))
    assert left > 0 and left + width < 1920


def test_a_spec_as_json_text_draws_the_same_slide() -> None:
    spec = _chart()
    assert slide_svg(json.dumps(spec), title=TITLE, source_lines=SOURCE) == slide_svg(
        spec, title=TITLE, source_lines=SOURCE
    )


def test_text_width_follows_the_font() -> None:
    assert text_width("WWW", size=10) > text_width("iii", size=10) * 3
    assert text_width("abc", size=20, bold=True) > text_width("abc", size=20)
    assert text_width("abc", size=20) == pytest.approx(2 * text_width("abc", size=10))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="16:9"):
        slide_svg(_chart(), title=TITLE, source_lines=SOURCE, width_px=1024, height_px=768)
    with pytest.raises(ValueError, match="title"):
        slide_svg(_chart(), title=" ", source_lines=SOURCE)
    with pytest.raises(ValueError, match="chart_spec"):
        slide_svg("not json", title=TITLE, source_lines=SOURCE)


def test_control_characters_from_extracts_never_reach_the_renderer() -> None:
    # vl_convert aborts the process on a NUL in a chart's text; a name from an extract
    # (an establishment's, a delivery unit's) may carry one. The test runs the renderer in
    # a child process, so an abort fails the test instead of ending the test run.
    import subprocess
    import sys

    script = (
        "import altair as alt, pandas as pd\n"
        "from equality_core.images import slide_png\n"
        "frame = pd.DataFrame({'group': ['HMP Nul\\x00ton', 'B\\x07ell'], 'rate': [0.1, 0.2]})\n"
        "chart = alt.Chart(frame, title='Ti\\x00tle').mark_bar().encode(x='rate:Q', y='group:N')\n"
        "png = slide_png(chart.to_dict(), title='T\\x00', source_lines=['S\\x00ource'],"
        " subtitle='Sub\\x00')\n"
        "print(len(png))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) > 10_000
