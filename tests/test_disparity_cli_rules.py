"""The disparity command's input rules: no traceback, event data, never the wrong groups.

Exact figures (``--no-suppress``) throughout, so the statistics can be checked against
scipy; disclosure control of the output is tested in ``test_disparity_cli_protection.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats as sps

from equality_core.cli import main
from tests.conftest import REPOSITORY
from tests.test_disparity_cli import read_output

PUBLISHED = REPOSITORY / "tests" / "data" / "published"
HEADER = "measure,characteristic,group,numerator,denominator\n"


def _run(tmp_path, capsys, text: str, *options: str) -> tuple[int, str, str]:
    path = tmp_path / "counts.csv"
    path.write_text(text, encoding="utf-8")
    code = main(["disparity", str(path), "--no-suppress", *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_refused(code: int, err: str, *words: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"


# --- No traceback, ever ------------------------------------------------------------------


def test_a_row_with_an_extra_field_is_refused_by_line(tmp_path, capsys) -> None:
    text = HEADER + "uof,ethnic_group,White,300,3000,7\nuof,ethnic_group,Black,120,600\n"
    code, _, err = _run(tmp_path, capsys, text)
    _assert_refused(code, err, "counts.csv", "line 2 has 6", "header's 5 fields")


def test_a_folder_given_as_input_is_refused(tmp_path, capsys) -> None:
    code = main(["disparity", str(tmp_path), "--no-suppress"])
    _assert_refused(code, capsys.readouterr().err, str(tmp_path), "folder")


def test_an_out_path_in_a_missing_folder_is_refused(tmp_path, capsys) -> None:
    text = HEADER + "uof,ethnic_group,White,300,3000\nuof,ethnic_group,Black,120,600\n"
    code, _, err = _run(tmp_path, capsys, text, "--out", str(tmp_path / "no" / "out.csv"))
    _assert_refused(code, err, "--out", "does not exist")


@pytest.mark.parametrize("repeated", ["White,300,3000", "Asian,30,240"])
def test_repeated_rows_are_refused_naming_their_lines(tmp_path, capsys, repeated) -> None:
    """A repeated comparator crashed; a repeated group was taken, changing adjusted p-values."""
    rows = ["White,300,3000", "Black,120,600", "Asian,30,240", repeated]
    text = HEADER + "".join(f"uof,ethnic_group,{row}\n" for row in rows)
    code, _, err = _run(tmp_path, capsys, text)
    group = repeated.split(",")[0]
    line = 2 + rows.index(repeated)
    _assert_refused(code, err, f"lines {line} and 5 repeat uof, ethnic_group, {group}")


def test_implausibly_large_counts_are_refused(tmp_path, capsys) -> None:
    text = (
        HEADER
        + "uof,ethnic_group,White,300,3000\nuof,ethnic_group,Black,120,99999999999999999999\n"
    )
    code, out, err = _run(tmp_path, capsys, text)
    _assert_refused(code, err, "column denominator", "line 3", "plausible maximum")
    assert out == ""


def test_every_rule_broken_is_reported_at_once(tmp_path, capsys) -> None:
    text = HEADER + "uof,ethnic_group,,300,3000\nuof,ethnic_group,Black,12.5,600\n"
    code, _, err = _run(tmp_path, capsys, text)
    _assert_refused(code, err, "2 rules broken", "column group: not empty", "line 2", "line 3")


def test_text_that_is_not_utf8_is_refused(tmp_path, capsys) -> None:
    path = tmp_path / "counts.csv"
    path.write_bytes((HEADER + "uof,religion,Other religion \u2013 Pagan,3,40\n").encode("cp1252"))
    code = main(["disparity", str(path), "--no-suppress"])
    _assert_refused(code, capsys.readouterr().err, "UTF-8")


# --- Event data ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["column", "option"])
def test_event_counts_may_exceed_their_exposure(tmp_path, capsys, how) -> None:
    """150 adjudications over 120 person-quarters against 900 over 1,000."""
    rows = "adjudications,ethnic_group,White,900,1000\nadjudications,ethnic_group,Black,150,120\n"
    if how == "column":
        text = HEADER.replace("\n", ",kind\n") + rows.replace("\n", ",event\n")
        code, out, err = _run(tmp_path, capsys, text)
    else:
        code, out, err = _run(tmp_path, capsys, HEADER + rows, "--kind", "event")
    assert code == 0, err
    black = read_output(out)[1].set_index("group").loc["Black"]
    assert black["kind"] == "event"
    assert float(black["rate"]) == pytest.approx(1.25)
    reference = sps.binomtest(150, 1050, 120 / 1120)
    assert float(black["p_value"]) == pytest.approx(reference.pvalue, rel=1e-9)
    assert black["test"] == "exact poisson"


def test_without_a_kind_counts_above_the_denominator_say_how_to_mark_events(
    tmp_path, capsys
) -> None:
    text = (
        HEADER
        + "adjudications,ethnic_group,White,900,1000\nadjudications,ethnic_group,Black,150,120\n"
    )
    code, _, err = _run(tmp_path, capsys, text)
    _assert_refused(code, err, "line 3: numerator 150 is above denominator 120", "--kind event")


# --- Never the wrong groups --------------------------------------------------------------


def test_a_comparator_absent_in_a_period_is_an_error_naming_the_period(tmp_path, capsys) -> None:
    text = (
        "measure,characteristic,group,period,numerator,denominator\n"
        "uof,ethnic_group,White,2024-Q1,100,1000\n"
        "uof,ethnic_group,Black,2024-Q1,40,250\n"
        "uof,ethnic_group,Asian,2024-Q2,100,1000\n"
        "uof,ethnic_group,Black,2024-Q2,40,250\n"
    )
    code, out, err = _run(tmp_path, capsys, text, "--comparator", "White")
    _assert_refused(code, err, "'White'", "period 2024-Q2")
    assert out == ""


def test_the_published_pava_total_is_a_check_not_the_comparator(tmp_path, capsys) -> None:
    """PAVA deployed by ethnicity (HL5664, 2020): the Total row became the comparator.

    Rows the source suppressed (``~``) cannot be given, so the groups no longer add up to
    the total: the command says so and still compares with White, the largest group.
    """
    published = pd.read_csv(PUBLISHED / "pava_by_ethnicity_2019_20.csv", dtype=str)
    shown = published[published["total"] != "~"]
    text = HEADER + "".join(
        f"pava_deployed,ethnicity,{row.group},{row.deployed},{row.total}\n"
        for row in shown.itertuples()
    )
    code, out, err = _run(tmp_path, capsys, text)
    assert code == 0, err
    table = read_output(out)[1].set_index("group")
    assert set(table["comparator"]) == {"White"}
    assert table.loc["Total", "flag"] == "[x]" and table.loc["Total", "relative_rate"] == "[x]"
    assert "'Total' row" in err and "numerator 81 but its groups add up to 65" in err


def test_the_published_religion_not_recorded_is_not_a_group(tmp_path, capsys) -> None:
    """Religion in the 2008 prison population (HL89, 2009): 'Not recorded' was flagged lower.

    The religion rows add to 83,195, one more than the published total of 83,194: the
    total row's check says so.
    """
    published = pd.read_csv(PUBLISHED / "prison_population_2008.csv")
    religion = published[published["characteristic"] == "religion"]
    rows = [(g, c) for g, c in zip(religion["group"], religion["count"], strict=True)]
    rows.append(("Total", 83_194))
    text = HEADER + "".join(f"share,religion,{g},{c},83194\n" for g, c in rows)
    code, out, err = _run(tmp_path, capsys, text)
    assert code == 0, err
    table = read_output(out)[1].set_index("group")
    assert table.loc["Not recorded", "flag"] == "[x]"
    assert table.loc["Not recorded", "p_value"] == "[x]"
    assert table.loc["Muslim", "comparator"] == "Anglican"
    assert "numerator 83194 but its groups add up to 83195 (1 more" in err
