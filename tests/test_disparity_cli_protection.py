"""The disparity command protects its output by default (cell keys from coordinates).

The reference for the keys and the noise is the cell key API itself
(:mod:`equality_core.cellkey`, tested against ONS's package in ``test_disclosure.py``):
here the command must use it as documented, compute every figure from the counts shown
and say which protection it applied.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from equality_core import cellkey
from equality_core.cli import main
from equality_core.paths import DataPaths
from tests.test_disparity_cli import SECRET_TOML, read_output

#: Many groups and periods, so that noise shows in some counts and not in others.
GROUPS = ["White", "Black", "Asian", "Mixed", "Other ethnic group", "Not stated"]


def _counts_text() -> str:
    rows = ["measure,characteristic,group,period,numerator,denominator"]
    rng = np.random.default_rng(7)
    for period in ("2024-Q1", "2024-Q2", "2024-Q3"):
        for group, size in zip(GROUPS, (3000, 600, 500, 200, 150, 90), strict=True):
            rows.append(f"uof,ethnic_group,{group},{period},{rng.binomial(size, 0.12)},{size}")
    return "\n".join(rows) + "\n"


def _folder(tmp_path, name: str = "secure", toml: str = SECRET_TOML):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "disclosure.toml").write_text(toml, encoding="utf-8")
    return folder


def _run(tmp_path, capsys, *options: str, text: str | None = None):
    path = tmp_path / "counts.csv"
    path.write_text(text or _counts_text(), encoding="utf-8")
    code = main(["disparity", str(path), *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _true_counts() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(_counts_text()), dtype={"period": str})


def test_output_is_perturbed_by_coordinate_keys_and_says_so(tmp_path, capsys) -> None:
    folder = _folder(tmp_path)
    code, out, err = _run(tmp_path, capsys, "--data", str(folder))
    assert code == 0, err
    preamble, table = read_output(out)
    config = cellkey.load_config(folder)
    assert any(config.describe() in line for line in preamble)
    assert any("coordinates" in line and "weaker" in line for line in preamble)

    true = _true_counts()
    coordinates = ["measure", "characteristic", "group", "period"]
    for part in ("numerator", "denominator"):
        keys = cellkey.coordinate_keys(
            true.assign(_count=part), [*coordinates, "_count"], secret=config.secret
        )
        expected = config.ptable.perturb(true[part], keys)
        shown = pd.to_numeric(table[part], errors="coerce").to_numpy()
        visible = ~np.isnan(shown)
        np.testing.assert_array_equal(shown[visible], expected[visible])
        noise = cellkey.load_ptable().max_noise
        assert (np.abs(shown[visible] - true[part].to_numpy()[visible]) <= noise).all()
    # Numerator and denominator of a cell get different keys.
    numerator_keys = cellkey.coordinate_keys(
        true.assign(_count="numerator"), [*coordinates, "_count"], secret=config.secret
    )
    denominator_keys = cellkey.coordinate_keys(
        true.assign(_count="denominator"), [*coordinates, "_count"], secret=config.secret
    )
    assert (numerator_keys != denominator_keys).any()
    # Some counts moved: the output is not the exact table.
    shown_numerators = pd.to_numeric(table["numerator"], errors="coerce")
    assert (shown_numerators.dropna() != true.loc[shown_numerators.notna(), "numerator"]).any()


def test_every_figure_is_made_from_the_counts_shown(tmp_path, capsys) -> None:
    code, out, err = _run(tmp_path, capsys, "--data", str(_folder(tmp_path)))
    assert code == 0, err
    table = read_output(out)[1]
    numbers = table[["numerator", "denominator", "rate", "relative_rate"]].apply(
        pd.to_numeric, errors="coerce"
    )
    visible = numbers["numerator"].notna()
    np.testing.assert_allclose(
        numbers.loc[visible, "rate"],
        numbers.loc[visible, "numerator"] / numbers.loc[visible, "denominator"],
    )
    white = table["group"] == "White"
    for period in ("2024-Q1", "2024-Q2", "2024-Q3"):
        here = table["period"] == period
        comparator_rate = numbers.loc[here & white, "rate"].iloc[0]
        black = here & (table["group"] == "Black")
        assert numbers.loc[black, "relative_rate"].iloc[0] == pytest.approx(
            numbers.loc[black, "rate"].iloc[0] / comparator_rate
        )


def test_the_same_input_gives_the_same_output_and_another_secret_another(tmp_path, capsys) -> None:
    first = _run(tmp_path, capsys, "--data", str(_folder(tmp_path, "a")))[1]
    again = _run(tmp_path, capsys, "--data", str(tmp_path / "a"))[1]
    other_toml = SECRET_TOML.replace("a-test-secret", "another-secret")
    other = _run(tmp_path, capsys, "--data", str(_folder(tmp_path, "b", other_toml)))[1]
    assert first == again
    assert (
        read_output(first)[1]["numerator"].tolist() != read_output(other)[1]["numerator"].tolist()
    )


def test_small_counts_read_c_and_so_does_what_is_made_from_them(tmp_path, capsys) -> None:
    text = (
        "measure,characteristic,group,numerator,denominator\n"
        "uof,ethnic_group,White,300,3000\n"
        "uof,ethnic_group,Black,120,600\n"
        "uof,ethnic_group,Mixed,3,40\n"
    )
    code, out, err = _run(tmp_path, capsys, "--data", str(_folder(tmp_path)), text=text)
    assert code == 0, err
    mixed = read_output(out)[1].set_index("group").loc["Mixed"]
    for column in ("numerator", "denominator", "rate", "relative_rate", "p_value", "flag"):
        assert mixed[column] == "[c]", column


def test_no_configuration_is_an_error_saying_what_to_do(tmp_path, capsys) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    code, out, err = _run(tmp_path, capsys, "--data", str(empty))
    assert code == 2 and out == ""
    assert "disclosure.toml" in err and "--no-suppress" in err and "Traceback" not in err


def test_the_data_folder_comes_from_the_environment_too(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(_folder(tmp_path)))
    code, out, err = _run(tmp_path, capsys)
    assert code == 0, err
    assert any("test-1" in line for line in read_output(out)[0])


def test_the_demo_folder_uses_the_demo_key_and_warns(tmp_path, capsys) -> None:
    demo = DataPaths(tmp_path / "demo")
    demo.raw.mkdir(parents=True)
    demo.demo_marker.write_text("{}", encoding="utf-8")
    code, out, err = _run(tmp_path, capsys, "--data", str(demo.root))
    assert code == 0, err
    assert any(cellkey.DEMO_SECRET_VERSION in line for line in read_output(out)[0])
    assert "warning" in err and "demo" in err


def test_the_threshold_can_be_raised_never_lowered(tmp_path, capsys) -> None:
    folder = _folder(tmp_path, toml=SECRET_TOML + "threshold = 10\n")
    code, _, err = _run(tmp_path, capsys, "--data", str(folder), "--threshold", "5")
    assert code == 2 and "can only be raised" in err
    plain = _folder(tmp_path, "plain")
    code, out, err = _run(tmp_path, capsys, "--data", str(plain), "--threshold", "10")
    assert code == 0, err
    assert any("threshold 10" in line for line in read_output(out)[0])


def test_no_suppress_gives_exact_figures_and_says_so(tmp_path, capsys) -> None:
    code, out, err = _run(tmp_path, capsys, "--no-suppress")
    assert code == 0, err
    preamble, table = read_output(out)
    assert any("Exact figures" in line for line in preamble)
    assert table["numerator"].astype(int).tolist() == _true_counts()["numerator"].tolist()
