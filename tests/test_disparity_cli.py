"""The disparity command: a counts file in, a protected disparity table out; clear errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as sps

from equality_core.cli import main
from tests.conftest import REPOSITORY

GOOD = """measure,characteristic,group,numerator,denominator
use_of_force,ethnic_group,White,300,3000
use_of_force,ethnic_group,"Black, Black British, Black Welsh, Caribbean or African",120,600
use_of_force,ethnic_group,Mixed or Multiple ethnic groups,3,40
use_of_force,ethnic_group,Not stated,10,80
"""
SECRET_TOML = 'record_key_secret = "a-test-secret-of-some-length"\nrecord_key_version = "test-1"\n'


def _write(tmp_path: Path, text: str, name: str = "counts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _protected_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "secure"
    folder.mkdir(exist_ok=True)
    (folder / "disclosure.toml").write_text(SECRET_TOML, encoding="utf-8")
    return folder


def read_output(text: str) -> tuple[list[str], pd.DataFrame]:
    """The preamble lines (``# ...``) and the table of the command's CSV output."""
    lines = text.splitlines()
    preamble = [line for line in lines if line.lstrip('"').startswith("#")]
    body = "\n".join(line for line in lines if not line.lstrip('"').startswith("#"))
    return preamble, pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)


def test_table_with_flags_and_disclosure(tmp_path: Path, capsys) -> None:
    folder = _protected_folder(tmp_path)
    assert main(["disparity", str(_write(tmp_path, GOOD)), "--data", str(folder)]) == 0
    preamble, out = read_output(capsys.readouterr().out)
    out = out.set_index("group")
    for column in ("rate", "rate_low", "rate_high", "comparator", "relative_rate", "rr_low",
                   "rr_high", "p_value", "p_adjusted", "flag"):  # fmt: skip
        assert column in out.columns
    black = out.loc["Black, Black British, Black Welsh, Caribbean or African"]
    assert black["flag"] == "higher"
    assert float(black["relative_rate"]) == pytest.approx(2.0, rel=0.05)
    assert out.loc["Mixed or Multiple ethnic groups", "numerator"] == "[c]"
    assert out.loc["White", "flag"] == "comparator"
    assert any("Cell key perturbation" in line for line in preamble)


def test_no_suppress_and_out_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "out.csv"
    code = main(["disparity", str(_write(tmp_path, GOOD)), "--no-suppress", "--out", str(target)])
    assert code == 0
    preamble, out = read_output(target.read_text(encoding="utf-8"))
    out = out.set_index("group")
    assert out.loc["Mixed or Multiple ethnic groups", "numerator"] == "3"
    black = out.loc["Black, Black British, Black Welsh, Caribbean or African"]
    reference = sps.chi2_contingency([[120, 480], [300, 2700]], correction=False).pvalue
    assert float(black["p_value"]) == pytest.approx(reference, rel=1e-6)
    assert float(black["relative_rate"]) == pytest.approx(2.0)
    assert any("Exact figures" in line for line in preamble)
    assert "rows written to" in capsys.readouterr().err


def test_comparator_and_rule_options(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, GOOD)
    code = main(
        ["disparity", str(path), "--comparator", "ethnic_group=Mixed or Multiple ethnic groups",
         "--tolerance", "0.5,2.5", "--no-suppress"]
    )  # fmt: skip
    assert code == 0
    _, out = read_output(capsys.readouterr().out)
    assert set(out["comparator"]) == {"Mixed or Multiple ethnic groups"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("measure,group,numerator,denominator\nx,White,1,2\n", "missing column(s) characteristic"),
        (GOOD.replace("120,600", "-120,600"), "line 3: numerator -120 is negative"),
        (GOOD.replace("120,600", "700,600"), "line 3: numerator 700 is above denominator 600"),
        (GOOD.replace("300,3000", "lots,3000"), "line 2: numerator 'lots' is not a whole number"),
        ("", "empty"),
    ],
)
def test_bad_input_names_the_line_and_the_problem(tmp_path: Path, capsys, text, message) -> None:
    assert main(["disparity", str(_write(tmp_path, text)), "--no-suppress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "counts.csv" in err
    assert "Traceback" not in err


def test_missing_comparator_is_an_error(tmp_path: Path, capsys) -> None:
    code = main(
        ["disparity", str(_write(tmp_path, GOOD)), "--comparator", "Asian", "--no-suppress"]
    )
    assert code == 2
    assert "Asian" in capsys.readouterr().err


@pytest.mark.slow
def test_runs_as_a_command(tmp_path: Path) -> None:
    folder = _protected_folder(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "equality_core", "disparity", str(_write(tmp_path, GOOD)),
         "--data", str(folder)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "comparator" in read_output(result.stdout)[1].columns
    bad = subprocess.run(
        [sys.executable, "-m", "equality_core", "disparity", str(tmp_path / "none.csv")],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr
