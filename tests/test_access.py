"""Scoping happens in ``equality_core``: a scoped user's figures never use another place's rows.

The access file, the grants a user's claims give, and the rows a scope keeps, checked on
the small demo. The central test plants changes in every row outside a user's places
(other outcomes, other groups) and shows that nothing computed for the user moves,
while England and Wales (the national path) does, and hands out no place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equality_core import access, analysis, data
from equality_core.access import AccessConfigError, Scope
from equality_core.analysis import Selection
from equality_core.cellkey import demo_config

REGION = "Women's Estate"  # two establishments in the small demo: CHA and CRN
PROBATION_REGION = "Wales"


@pytest.fixture(scope="module")
def frames(small_demo) -> dict[str, pd.DataFrame]:
    paths = small_demo.pinned()
    establishments = data.load_validated(paths, "establishments")
    out = {"establishments": establishments}
    for name in (*analysis.MATRIX_EXTRACTS, "benchmarks"):
        frame = data.load_validated(paths, name)
        if "establishment" in frame.columns:
            frame = data.attach_establishment_attributes(frame, establishments)
        out[name] = frame
    return out


def _loader(frames: dict[str, pd.DataFrame]):
    return lambda name: frames.get(name)


def _scrambled(frames: dict[str, pd.DataFrame], scope: Scope) -> dict[str, pd.DataFrame]:
    """Every row outside ``scope`` given another row's outcomes and characteristics.

    The values of each outcome and characteristic column are permuted among the rows
    outside the scope, so every group's counts outside it change; rows inside are left
    exactly as they were.
    """
    rng = np.random.default_rng(7)
    keep = {"period", "person_id", "staff_id", "termination_id", *access.NationalPath.PLACE_COLUMNS}
    out = dict(frames)
    for name in analysis.MATRIX_EXTRACTS:
        frame = frames[name].copy()
        outside = ~access.in_scope(frame, name, scope, frames["establishments"])
        assert outside.any() and (~outside).any(), name
        for column in frame.columns:
            if column in keep or column in ("function", "estate", "record_key"):
                continue
            series = frame[column]
            values = series.to_numpy(copy=True)
            values[outside] = rng.permutation(values[outside])
            frame[column] = pd.Series(values, index=frame.index).astype(series.dtype)
        out[name] = frame
    return out


def test_scope_parse_and_describe() -> None:
    scope = Scope.parse(["region:Yorkshire", "establishment:CHA", "division:Cardiff"])
    assert scope.of("region") == {"Yorkshire"}
    assert not scope.national
    assert Scope.parse(["England and Wales", "region:X"]).national
    assert scope.describe({"CHA": "HMP Chalmere"}) == (
        "Cardiff, HMP Chalmere and the Yorkshire prison group"
    )
    with pytest.raises(AccessConfigError, match="'county:Kent' is not a place"):
        Scope.parse(["county:Kent"])


def test_access_file_errors_name_file_and_entry(tmp_path) -> None:
    path = tmp_path / "access.toml"
    path.write_text('[users."a@b"]\nplaces = ["region:X"]\npermissions = ["everything"]\n')
    with pytest.raises(AccessConfigError) as error:
        access.load_access_file(path)
    assert str(path) in str(error.value) and "everything" in str(error.value)
    path.write_text("[settings]\nsession_hours = 0\n")
    with pytest.raises(AccessConfigError, match="session_hours"):
        access.load_access_file(path)
    assert access.load_access_file(tmp_path / "missing.toml").users == {}


def test_grants_add_up_from_user_groups_and_claims(tmp_path) -> None:
    path = tmp_path / "access.toml"
    path.write_text(
        "[settings]\nplaces_claim = 'eqm_places'\n"
        '[users."Jo@Example.org"]\nplaces = ["establishment:CHA"]\npermissions = ["download"]\n'
        '[groups."g-1"]\nplaces = ["region:Yorkshire"]\npermissions = ["exact_figures"]\n'
    )
    config = access.load_access_file(path)
    found = access.access_for(
        {"email": "jo@example.org", "groups": ["g-1", "g-2"], "eqm_places": ["division:Cardiff"]},
        config,
    )
    assert found is not None
    assert found.scope.places == {
        ("establishment", "CHA"),
        ("region", "Yorkshire"),
        ("division", "Cardiff"),
    }
    assert found.permissions == {"download", "exact_figures"}
    assert found.may("download") and not found.may("validation_details")
    # No place, no access, whatever else is held.
    assert access.access_for({"email": "someone@else.org", "groups": ["g-2"]}, config) is None
    assert access.access_for({}, config) is None


def test_restrict_keeps_only_rows_in_scope(frames) -> None:
    scope = Scope.parse([f"region:{REGION}", f"probation_region:{PROBATION_REGION}"])
    establishments = frames["establishments"]
    codes = set(establishments.loc[establishments["region"] == REGION, "code"].astype(str))
    assert len(codes) >= 2
    prisoners = access.restrict(
        frames["prisoner_periods"], "prisoner_periods", scope, establishments
    )
    assert set(prisoners["establishment"].astype(str)) == codes
    community = access.restrict(
        frames["community_terminations"], "community_terminations", scope, establishments
    )
    assert set(community["probation_region"].astype(str)) == {PROBATION_REGION}
    names = access.restrict(establishments, "establishments", scope, establishments)
    assert set(names["code"].astype(str)) == codes
    # Organisation-wide reference tables are everyone's; an unknown extract is refused.
    assert (
        access.restrict(frames["benchmarks"], "benchmarks", scope, establishments)
        is (frames["benchmarks"])
    )
    with pytest.raises(ValueError, match="no scoping rule"):
        access.restrict(frames["benchmarks"], "something_new", scope, establishments)


@pytest.mark.parametrize("characteristic", ["ethnic_group", "disability"])
def test_scoped_figures_never_use_rows_outside_the_scope(frames, characteristic) -> None:
    scope = Scope.parse([f"region:{REGION}", f"probation_region:{PROBATION_REGION}"])
    planted = _scrambled(frames, scope)
    protection = demo_config()
    periods = [str(p) for p in frames["prisoner_periods"]["period"].cat.categories]
    selection = Selection("rolling", data.period_choices(periods, "rolling")[0])

    def scoped_matrix(source):
        scoped = access.ScopedData(scope, _loader(source))
        wanted = {name: scoped.extract(name) for name in analysis.MATRIX_EXTRACTS}
        return analysis.emt_matrix(
            wanted, selection=selection, characteristic=characteristic, protection=protection
        )

    before, after = scoped_matrix(frames), scoped_matrix(planted)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before, after)

    # England and Wales, through the national path, does see the changed rows...
    rule = analysis.DEFAULT_RULE
    whole = access.NationalPath(_loader(frames)).matrix(
        selection, characteristic=characteristic, protection=protection, comparator=None, rule=rule
    )
    changed = access.NationalPath(_loader(planted)).matrix(
        selection, characteristic=characteristic, protection=protection, comparator=None, rule=rule
    )
    assert not whole[["numerator", "denominator"]].equals(changed[["numerator", "denominator"]])
    # ...and hands out no column that names a place.
    assert not set(access.NationalPath.PLACE_COLUMNS) & set(whole.columns)


def test_national_path_refuses_place_questions(frames) -> None:
    national = access.NationalPath(_loader(frames))
    selection = Selection("rolling", "2025-Q4", (("establishment", "CHA"),))
    with pytest.raises(ValueError, match="England and Wales only"):
        national.matrix(
            selection,
            characteristic="ethnic_group",
            protection=None,
            comparator=None,
            rule=analysis.DEFAULT_RULE,
        )
    with pytest.raises(AssertionError, match="place columns"):
        national.aggregate(
            "prisoner_periods",
            lambda f: f.groupby("establishment", observed=True).size().reset_index(),
        )


def test_scoped_funnel_is_centred_on_england_and_wales(frames) -> None:
    scope = Scope.parse([f"region:{REGION}"])
    scoped = access.ScopedData(scope, _loader(frames))
    periods = [str(p) for p in frames["prisoner_periods"]["period"].cat.categories]
    selection = Selection("rolling", data.period_choices(periods, "rolling")[0])
    centre = scoped.national().funnel_centre(
        selection, extract="prisoner_periods", measure="use_of_force", protection=None
    )
    records = analysis.select(frames["prisoner_periods"], selection, "prisoner_periods")
    measure = analysis.MEASURES["use_of_force"]
    population = measure.population(records).to_numpy(dtype=bool)
    outcome = np.asarray(measure.numerator(records)).astype(bool) & population
    assert centre == pytest.approx(outcome.sum() / population.sum())
    mine = analysis.select(scoped.extract("prisoner_periods"), selection, "prisoner_periods")
    table = analysis.funnel(mine, measure="use_of_force", protection=None, centre=centre)
    assert set(table["establishment"]) <= set(
        frames["establishments"].loc[frames["establishments"]["region"] == REGION, "code"]
    )
