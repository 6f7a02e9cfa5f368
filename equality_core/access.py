"""Who may see what: places, permissions, and the rows a user's figures are made from.

Each signed-in user has **places** (England and Wales, prison groups, establishments,
probation regions or probation delivery units) and **permissions** (see exact figures,
download, see the data page's validation details). They come from the access file
(``EQUALITY_MONITOR_ACCESS_FILE``, else ``access.toml`` in the data folder), by user and
by group, and optionally from the identity provider's claims.

Scoping is enforced here, not in the widgets: :func:`restrict` keeps only the rows of an
extract that lie in the user's places, and every figure a page shows is computed from
what it returns. The one exception is England and Wales, which every user sees: those
figures come from :class:`NationalPath`, which holds the whole extracts but hands out only
aggregate tables with no place in them.

An example access file::

    [settings]
    session_hours = 10         # how long a sign-in lasts, from the ID token's issue time
    groups_claim = "groups"    # the claim that lists a user's groups (Entra ID: object ids)

    [users."jo.bloggs@justice.gov.uk"]
    places = ["England and Wales"]
    permissions = ["exact_figures", "download", "validation_details"]

    [groups."3f1c0d2e-…"]      # a group of governors of one prison group
    places = ["region:Yorkshire"]
    permissions = ["download"]
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: The place every user may see totals for.
NATIONAL = "England and Wales"

#: What a user may be allowed beyond seeing protected figures for their places.
PERMISSIONS: dict[str, str] = {
    "exact_figures": "see exact figures (without disclosure control)",
    "download": "download tables, images, board packs and summaries",
    "validation_details": "see the data page's validation details",
}

#: Kinds of place a scope can name, as ``kind:value`` in the access file.
PLACE_KINDS: dict[str, str] = {
    "region": "prison group",
    "establishment": "establishment (by code)",
    "probation_region": "probation region",
    "division": "probation delivery unit",
}

#: Extracts whose rows belong to an establishment (by its code).
BY_ESTABLISHMENT = frozenset(
    {
        "prisoner_periods",
        "deaths_in_custody",
        "staff_periods",
        "prisoner_survey",
        "staff_survey",
        "counts",
    }
)
#: Extracts whose rows belong to a probation region and delivery unit.
BY_PROBATION = frozenset({"community_terminations", "community_journey"})
#: Extracts about the organisation as a whole, not about any place or person in a place:
#: every user sees them (benchmarks from the census, equality analyses of national
#: policies, the national delivery plan).
NATIONWIDE = frozenset({"benchmarks", "equality_analyses", "delivery_plan"})

ACCESS_FILE = "access.toml"
ACCESS_FILE_VARIABLE = "EQUALITY_MONITOR_ACCESS_FILE"
SESSION_HOURS = 10.0


class AccessConfigError(ValueError):
    """The access file cannot be used: names the file, the entry and the rule broken."""


@dataclass(frozen=True)
class Scope:
    """The places a user's figures may be made from.

    ``national`` means every place. Otherwise ``places`` holds ``(kind, value)`` pairs:
    a prison group covers its establishments, a probation region its delivery units.
    """

    national: bool = False
    places: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str], *, where: str = "places") -> Scope:
        """A scope from the access file's place entries ('England and Wales', 'kind:value')."""
        national = False
        places: set[tuple[str, str]] = set()
        for entry in entries:
            text = str(entry).strip()
            if text.lower() in (NATIONAL.lower(), "national"):
                national = True
                continue
            kind, sep, value = text.partition(":")
            kind = kind.strip()
            if not sep or kind not in PLACE_KINDS or not value.strip():
                kinds = ", ".join(f"'{k}:…'" for k in PLACE_KINDS)
                raise AccessConfigError(
                    f"{where}: {text!r} is not a place. Write {NATIONAL!r} or one of {kinds}."
                )
            places.add((kind, value.strip()))
        return cls(national=national, places=frozenset() if national else frozenset(places))

    def __or__(self, other: Scope) -> Scope:
        if self.national or other.national:
            return Scope(national=True)
        return Scope(places=self.places | other.places)

    @property
    def empty(self) -> bool:
        """True if the scope names no place at all."""
        return not self.national and not self.places

    def of(self, kind: str) -> frozenset[str]:
        """The values of one kind of place in the scope."""
        return frozenset(value for k, value in self.places if k == kind)

    def key(self) -> str:
        """A stable text for cache keys: the same scope, the same key."""
        if self.national:
            return "national"
        return ";".join(f"{k}:{v}" for k, v in sorted(self.places))

    def establishment_codes(self, establishments: pd.DataFrame | None) -> frozenset[str]:
        """Codes of the establishments in scope: named ones and those of named prison groups."""
        codes = set(self.of("establishment"))
        regions = self.of("region")
        if regions and establishments is not None and len(establishments):
            in_region = establishments["region"].astype(str).isin(regions).to_numpy()
            codes |= set(establishments.loc[in_region, "code"].astype(str))
        return frozenset(codes)

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """The places in words, e.g. 'HMP Caldwick and the Yorkshire prison group'."""
        if self.national:
            return NATIONAL
        names = names or {}
        words = []
        for kind, value in sorted(self.places):
            if kind == "establishment":
                words.append(names.get(value, value))
            elif kind == "region":
                words.append(f"the {value} prison group")
            elif kind == "probation_region":
                words.append(f"the {value} probation region")
            else:
                words.append(value)
        if not words:
            return "no places"
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def restrict(
    frame: pd.DataFrame, extract: str, scope: Scope, establishments: pd.DataFrame | None
) -> pd.DataFrame:
    """The rows of ``extract`` in the scope's places: what a scoped user's figures come from.

    ``establishments`` is the whole establishments table (to find a prison group's
    establishments). A national scope returns ``frame`` itself. Extracts about the whole
    organisation (:data:`NATIONWIDE`) are returned whole; an extract this module does not
    know is refused rather than shown unscoped.
    """
    if scope.national or extract in NATIONWIDE:
        return frame
    mask = in_scope(frame, extract, scope, establishments)
    return frame[mask].reset_index(drop=True)


def in_scope(
    frame: pd.DataFrame, extract: str, scope: Scope, establishments: pd.DataFrame | None
) -> np.ndarray:
    """A boolean mask of the rows of ``extract`` that lie in the scope's places."""
    if scope.national or extract in NATIONWIDE:
        return np.ones(len(frame), dtype=bool)
    if extract == "establishments":
        codes = scope.establishment_codes(establishments)
        return frame["code"].astype(str).isin(codes).to_numpy()
    if extract in BY_ESTABLISHMENT:
        codes = scope.establishment_codes(establishments)
        return _isin(frame["establishment"], codes)
    if extract in BY_PROBATION:
        regions = scope.of("probation_region")
        divisions = scope.of("division")
        return _isin(frame["probation_region"], regions) | _isin(frame["division"], divisions)
    raise ValueError(
        f"no scoping rule for the {extract!r} extract: it is not shown to scoped users"
    )


def _isin(column: pd.Series, values: frozenset[str]) -> np.ndarray:
    if not values:
        return np.zeros(len(column), dtype=bool)
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Compare the few categories, not millions of strings.
        wanted = np.asarray([str(c) in values for c in column.cat.categories])
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, wanted[np.maximum(codes, 0)], False)
    return column.astype(str).isin(values).to_numpy()


@dataclass(frozen=True)
class Access:
    """What one user may see: their places and permissions, and who they are."""

    user: str
    name: str
    scope: Scope
    permissions: frozenset[str] = frozenset()
    signed_in: bool = False
    issued_at: float | None = None

    def may(self, permission: str) -> bool:
        """True if the user holds ``permission`` (one of :data:`PERMISSIONS`)."""
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        return permission in self.permissions

    @property
    def exact(self) -> bool:
        """True if the user sees exact figures (no disclosure control)."""
        return "exact_figures" in self.permissions


@dataclass(frozen=True)
class Grant:
    """Places and permissions given to a user or a group in the access file."""

    scope: Scope
    permissions: frozenset[str]


@dataclass(frozen=True)
class Settings:
    """The access file's ``[settings]``."""

    sign_in: str = "required"
    session_hours: float = SESSION_HOURS
    groups_claim: str = "groups"
    places_claim: str | None = None
    permissions_claim: str | None = None


@dataclass(frozen=True)
class AccessFile:
    """The parsed access file: settings, and grants by user and by group."""

    path: Path | None
    settings: Settings = field(default_factory=Settings)
    users: Mapping[str, Grant] = field(default_factory=dict)
    groups: Mapping[str, Grant] = field(default_factory=dict)


def access_file_path(data_root: Path) -> Path:
    """``EQUALITY_MONITOR_ACCESS_FILE`` if set, else ``access.toml`` in the data folder."""
    named = os.environ.get(ACCESS_FILE_VARIABLE, "").strip()
    return Path(named) if named else Path(data_root) / ACCESS_FILE


def load_access_file(path: Path) -> AccessFile:
    """Read and check an access file; a missing file grants nobody anything."""
    if not path.exists():
        return AccessFile(path=None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise AccessConfigError(f"{path}: cannot be read as TOML ({error})") from error
    unknown = set(raw) - {"settings", "users", "groups"}
    if unknown:
        raise AccessConfigError(
            f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
            'expected [settings], [users."…"] and [groups."…"]'
        )
    settings = _settings(raw.get("settings", {}), path)
    users = {
        str(name).strip().lower(): _grant(entry, f"{path}: [users.{name!r}]")
        for name, entry in _table(raw, "users", path).items()
    }
    groups = {
        str(name).strip(): _grant(entry, f"{path}: [groups.{name!r}]")
        for name, entry in _table(raw, "groups", path).items()
    }
    return AccessFile(path=path, settings=settings, users=users, groups=groups)


def _table(raw: Mapping, name: str, path: Path) -> Mapping:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise AccessConfigError(f"{path}: [{name}] must be a table of tables")
    return value


def _settings(raw: object, path: Path) -> Settings:
    if not isinstance(raw, Mapping):
        raise AccessConfigError(f"{path}: [settings] must be a table")
    known = {"sign_in", "session_hours", "groups_claim", "places_claim", "permissions_claim"}
    unknown = set(raw) - known
    if unknown:
        raise AccessConfigError(
            f"{path}: [settings] has unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    sign_in = str(raw.get("sign_in", "required"))
    if sign_in not in ("required", "off"):
        raise AccessConfigError(f"{path}: [settings] sign_in must be 'required' or 'off'")
    hours = raw.get("session_hours", SESSION_HOURS)
    if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 24 * 30:
        raise AccessConfigError(
            f"{path}: [settings] session_hours must be a number of hours above 0 and at "
            f"most 720, not {hours!r}"
        )
    return Settings(
        sign_in=sign_in,
        session_hours=float(hours),
        groups_claim=str(raw.get("groups_claim", "groups")),
        places_claim=raw.get("places_claim") or None,
        permissions_claim=raw.get("permissions_claim") or None,
    )


def _grant(entry: object, where: str) -> Grant:
    if not isinstance(entry, Mapping):
        raise AccessConfigError(f"{where} must be a table with places and permissions")
    unknown = set(entry) - {"places", "permissions"}
    if unknown:
        raise AccessConfigError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}")
    places = entry.get("places", [])
    permissions = entry.get("permissions", [])
    if not isinstance(places, list) or not isinstance(permissions, list):
        raise AccessConfigError(f"{where}: places and permissions must be lists")
    return Grant(
        scope=Scope.parse(places, where=f"{where} places"),
        permissions=_permissions(permissions, where),
    )


def _permissions(values: Iterable[object], where: str) -> frozenset[str]:
    found = frozenset(str(v).strip() for v in values)
    unknown = found - set(PERMISSIONS)
    if unknown:
        raise AccessConfigError(
            f"{where}: unknown permission(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(PERMISSIONS)}"
        )
    return found


def user_key(claims: Mapping[str, object]) -> str:
    """Who a user is: the ``email`` claim, else ``preferred_username``, else ``sub``."""
    for claim in ("email", "preferred_username", "sub"):
        value = claims.get(claim)
        if value:
            return str(value).strip().lower()
    return ""


def _listed(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part] if value else []
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def access_for(claims: Mapping[str, object], config: AccessFile) -> Access | None:
    """The access a signed-in user's claims give under ``config``; None if none at all.

    Grants add up: the user's own entry, every group of theirs the file names, and (if
    the settings name them) places and permissions carried in claims. A user with no
    place gets no access, whatever permissions they hold.
    """
    user = user_key(claims)
    if not user:
        return None
    settings = config.settings
    grants = []
    if user in config.users:
        grants.append(config.users[user])
    for group in _listed(claims.get(settings.groups_claim)):
        if group in config.groups:
            grants.append(config.groups[group])
    if settings.places_claim:
        try:
            scope = Scope.parse(
                _listed(claims.get(settings.places_claim)), where="the places claim"
            )
        except AccessConfigError:
            scope = Scope()
        permissions: frozenset[str] = frozenset()
        if settings.permissions_claim:
            permissions = frozenset(_listed(claims.get(settings.permissions_claim))) & set(
                PERMISSIONS
            )
        grants.append(Grant(scope, permissions))
    scope = Scope()
    permissions = frozenset()
    for grant in grants:
        scope = scope | grant.scope
        permissions = permissions | grant.permissions
    if scope.empty:
        return None
    issued = claims.get("iat")
    return Access(
        user=user,
        name=str(claims.get("name") or user),
        scope=scope,
        permissions=permissions,
        signed_in=True,
        issued_at=float(issued) if isinstance(issued, int | float) else None,
    )


def open_access(*, permissions: Iterable[str] = ("download", "validation_details")) -> Access:
    """Everyone's access when sign-in is off: every place, figures protected."""
    return Access(
        user="anonymous",
        name="everyone (sign-in is off)",
        scope=Scope(national=True),
        permissions=frozenset(permissions),
        signed_in=False,
    )


class ScopedData:
    """The extracts as one user may compute from them.

    ``load(name)`` gives the whole published extract (or None); :meth:`extract` gives
    only the rows in the user's places, and is what every figure for that user is
    computed from. :meth:`national` gives the :class:`NationalPath` for England and Wales.
    """

    def __init__(self, scope: Scope, load: Callable[[str], pd.DataFrame | None]) -> None:
        self.scope = scope
        self._load = load

    def extract(self, name: str) -> pd.DataFrame | None:
        """The rows of extract ``name`` in the scope's places (None if not published)."""
        frame = self._load(name)
        if frame is None or self.scope.national or name in NATIONWIDE:
            return frame
        establishments = self._load("establishments")
        return restrict(frame, name, self.scope, establishments)

    def national(self) -> NationalPath:
        """England and Wales figures, aggregates only."""
        return NationalPath(self._load)


class NationalPath:
    """England and Wales totals for every user: whole extracts in, aggregates out.

    Only aggregate tables leave this class: comparisons by measure and group, with no
    column that names a place. A place-level question is refused.
    """

    #: Columns that would name a place; no table leaving the national path has one.
    PLACE_COLUMNS = ("establishment", "region", "probation_region", "division", "code", "name")

    def __init__(self, load: Callable[[str], pd.DataFrame | None]) -> None:
        self._load = load

    def matrix(
        self,
        selection: object,
        *,
        characteristic: str,
        protection: object,
        comparator: str | None,
        rule: object,
    ) -> pd.DataFrame:
        """Every comparison for England and Wales: one Benjamini-Hochberg family."""
        return self.matrices(
            [(selection, characteristic)], protection=protection, comparator=comparator, rule=rule
        )[0]

    def matrices(
        self,
        views: Sequence[tuple[object, str]],
        *,
        protection: object,
        comparator: str | None,
        rule: object,
    ) -> list[pd.DataFrame]:
        """:meth:`matrix` of each ``(selection, characteristic)`` view, worked out together."""
        from equality_core import analysis

        if any(getattr(selection, "places", ()) for selection, _ in views):
            raise ValueError("the national path answers for England and Wales only")
        frames = {name: self._load(name) for name in analysis.MATRIX_EXTRACTS}
        tables = analysis.emt_matrices(
            frames, views=views, protection=protection, comparator=comparator, rule=rule
        )
        return [self._aggregates_only(table) for table in tables]

    def funnel_centre(
        self,
        selection: object,
        *,
        extract: str,
        measure: str,
        protection: object,
        characteristic: str | None = None,
        group: str | None = None,
    ) -> float | None:
        """The England and Wales rate of a measure: the centre line of a scoped funnel plot."""
        from equality_core import analysis

        if getattr(selection, "places", ()):
            raise ValueError("the national path answers for England and Wales only")
        frame = self._load(extract)
        if frame is None:
            return None
        records = analysis.select(frame, selection, extract)
        return analysis.overall_rate(
            records,
            measure=measure,
            protection=protection,
            characteristic=characteristic,
            group=group,
        )

    def aggregate(
        self, extract: str, compute: Callable[[pd.DataFrame], pd.DataFrame]
    ) -> pd.DataFrame | None:
        """``compute`` applied to the whole extract; refused if its table names a place."""
        frame = self._load(extract)
        if frame is None:
            return None
        return self._aggregates_only(compute(frame))

    def _aggregates_only(self, table: pd.DataFrame) -> pd.DataFrame:
        named = [c for c in self.PLACE_COLUMNS if c in table.columns]
        if named:
            raise AssertionError(f"the national path would hand out place columns {named}")
        return table
