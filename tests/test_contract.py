"""The schema is the single source: generated suites and documents must be current."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from equality_core.contract_doc import CONTRACT_PATH, render_data_contract
from equality_core.measures import MEASURES
from equality_core.paths import ENVIRONMENT_VARIABLE, resolve_data_dir
from equality_core.schema import CHARACTERISTICS, EXTRACTS, NOT_DECLARED_VALUES
from equality_core.suites import EXPECTATIONS_DIR, suite_json

from .conftest import REPOSITORY


@pytest.mark.parametrize("name", list(EXTRACTS))
def test_committed_suite_is_current(name: str) -> None:
    committed = (EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8")
    assert committed == suite_json(EXTRACTS[name]), "run: python -m equality_core suites"


def test_no_suite_for_an_extract_that_does_not_exist() -> None:
    assert {p.stem for p in EXPECTATIONS_DIR.glob("*.json")} == set(EXTRACTS)


def test_suites_load_into_great_expectations() -> None:
    import great_expectations as gx

    for name in EXTRACTS:
        document = json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text())
        suite = gx.ExpectationSuite(**document)
        assert len(suite.expectations) == len(document["expectations"])


def test_data_contract_document_is_current() -> None:
    assert CONTRACT_PATH.read_text(encoding="utf-8") == render_data_contract(), (
        "run: python -m equality_core docs"
    )


def test_glossary_is_current() -> None:
    from equality_core.contract_doc import GLOSSARY_PATH, glossary_markdown

    assert GLOSSARY_PATH.read_text(encoding="utf-8") == glossary_markdown(), (
        "docs/glossary.md is stale: run python -m equality_core docs"
    )


def test_glossary_explains_the_statistical_terms() -> None:
    from equality_core.contract_doc import glossary_markdown, statistical_terms
    from equality_core.stats import FlagRule

    terms = dict(statistical_terms())
    for needed in ("Relative rate", "Comparator", "Tolerance band", "Control limits"):
        assert needed in terms
    assert {"Overdispersion", "Cell key method", "[c]", "[x]"} <= set(terms)
    assert any("Benjamini-Hochberg" in term for term in terms)
    assert any("Confidence interval" in term for term in terms)
    # The figures are the flag rule's own.
    low, high = FlagRule().tolerance
    assert f"from {low:g} to {high:g}" in terms["Tolerance band"]
    section = glossary_markdown().split("## Statistical terms", 1)[1]
    for term, meaning in terms.items():
        assert f"### {term}\n\n{meaning}\n" in section


def test_measures_refer_to_columns_that_exist() -> None:
    for measure in MEASURES.values():
        assert measure.extract in EXTRACTS
        assert measure.kind in ("proportion", "event")
        assert 1 <= measure.objective <= 5


def test_not_declared_values_are_never_a_declared_group() -> None:
    for characteristic in CHARACTERISTICS.values():
        assert not set(characteristic.groups) & set(NOT_DECLARED_VALUES)
        assert set(characteristic.not_declared) <= set(NOT_DECLARED_VALUES)


def test_census_2021_ethnic_group_wording() -> None:
    groups = CHARACTERISTICS["ethnic_group"].groups
    assert "Black, Black British, Black Welsh, Caribbean or African" in groups
    assert not any("BAME" in g or "non-White" in g for g in groups)


def test_data_folder_resolution(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert str(resolve_data_dir().root) == "data"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path))
    assert resolve_data_dir().root == tmp_path
    assert str(resolve_data_dir("elsewhere").root) == "elsewhere"


def test_core_imports_without_streamlit() -> None:
    code = (
        "import sys, importlib, pkgutil, equality_core\n"
        "sys.modules['streamlit'] = None\n"
        "for m in pkgutil.iter_modules(equality_core.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('equality_core.' + m.name)\n"
        "assert 'great_expectations' not in sys.modules or True\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPOSITORY, timeout=120)


def test_data_access_does_not_import_great_expectations() -> None:
    code = (
        "import sys, equality_core.data, equality_core.measures\n"
        "assert 'great_expectations' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPOSITORY, timeout=120)


def test_every_count_has_a_plausible_maximum_in_its_suite() -> None:
    """A count without a maximum let 10^15 adjudications in one quarter through."""
    for name, extract in EXTRACTS.items():
        suite = json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        bounds = {
            e["kwargs"]["column"]: e["kwargs"]["max_value"]
            for e in suite["expectations"]
            if e["type"] == "expect_column_values_to_be_between"
        }
        for column in extract.columns:
            if column.type in ("int", "float"):
                assert column.maximum is not None, f"{name}.{column.name} has no maximum"
                assert bounds.get(column.name) == column.maximum, (name, column.name)
    adjudications = EXTRACTS["prisoner_periods"].column("adjudications_charged")
    assert adjudications.maximum == 200


def test_the_contract_names_the_two_date_formats() -> None:
    text = CONTRACT_PATH.read_text(encoding="utf-8")
    assert "`YYYY-MM-DD` or `DD/MM/YYYY`, one format per column" in text
    assert "day-first" in text
