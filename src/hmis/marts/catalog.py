"""THE list of marts (``marts.yaml`` beside this module), read and checked.

Every table of schema ``marts`` is listed once, with its key, grain, description, every
column's meaning, its scope (``district``, ``state`` or ``internal``), whether the marts
build rebuilds it and whether the export carries it. The access step, the export, the data
dictionary and the build read it from here; nothing else keeps a list of marts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from hmis.platform.settings import PACKAGE_DIR

MARTS_FILE = PACKAGE_DIR / "marts" / "marts.yaml"
SCOPES = ("district", "state", "internal")
READER_SCOPES = ("district", "state")
DISTRICT_COLUMN = "district"


class CatalogError(ValueError):
    """The list of marts contradicts itself; the message names the table and the problem."""


@dataclass(frozen=True)
class Table:
    """One listed table; ``scope`` is None for the documented tables outside ``marts``."""

    schema: str
    name: str
    key: tuple[str, ...]
    grain: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (column, meaning), in the order readers see them
    written_by: str
    scope: str | None = None
    rebuilt: bool = False
    exported: bool = False
    export_columns: tuple[str, ...] = ()
    not_exported_because: str | None = None
    policy_lookup: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _meaning in self.columns)

    @property
    def reader_facing(self) -> bool:
        return self.scope in READER_SCOPES

    def meaning(self, column: str) -> str:
        """The listed meaning of ``column``, or "" when the list does not describe it."""
        return dict(self.columns).get(column, "")


@dataclass(frozen=True)
class Catalog:
    marts: tuple[Table, ...]
    compliance: tuple[Table, ...]

    def mart(self, name: str) -> Table:
        for table in self.marts:
            if table.name == name:
                return table
        raise KeyError(f"marts.{name} is not in the list of marts ({MARTS_FILE.name})")

    def in_scope(self, scope: str) -> tuple[Table, ...]:
        return tuple(t for t in self.marts if t.scope == scope)

    @property
    def rebuilt(self) -> tuple[Table, ...]:
        """The marts the marts build rebuilds, in list order."""
        return tuple(t for t in self.marts if t.rebuilt)

    @property
    def exported(self) -> tuple[Table, ...]:
        """The marts each exported period carries, in list order."""
        return tuple(t for t in self.marts if t.exported)

    @property
    def documented(self) -> tuple[Table, ...]:
        """What the readers' data dictionary describes: reader-facing marts, then compliance tables."""
        return tuple(t for t in self.marts if t.reader_facing) + self.compliance


def _text(entry: dict, field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: needs a {field} (a sentence)")
    return " ".join(value.split())


def _table(schema: str, entry: dict) -> Table:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise CatalogError(f"{schema}: every entry needs a name")
    where = f"{schema}.{entry['name']}"
    columns = entry.get("columns") or {}
    if not isinstance(columns, dict) or not columns:
        raise CatalogError(f"{where}: needs its columns, each with what it means")
    described = tuple((str(name), _text(columns, name, f"{where}.{name}")) for name in columns)
    names = [name for name, _meaning in described]
    key = tuple(entry.get("key") or ())
    if not key or not set(key) <= set(names):
        raise CatalogError(f"{where}: key {list(key)} must name listed columns")
    fields = {"schema": schema, "name": entry["name"], "key": key, "grain": _text(entry, "grain", where),
              "description": _text(entry, "description", where), "columns": described,
              "written_by": _text(entry, "written_by", where)}
    if schema != "marts":
        extra = set(entry) - {"name", "key", "grain", "description", "columns", "written_by"}
        if extra:
            raise CatalogError(f"{where}: scope, build and export apply to marts only, not {sorted(extra)}")
        return Table(**fields)
    scope = entry.get("scope")
    if scope not in SCOPES:
        raise CatalogError(f"{where}: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if scope == "district" and DISTRICT_COLUMN not in names:
        raise CatalogError(f"{where}: a district-scoped mart needs a {DISTRICT_COLUMN} column for row-level security")
    exported = bool(entry.get("exported", False))
    export_columns = tuple(entry.get("export_columns") or (names if exported else ()))
    reason = entry.get("not_exported_because")
    if exported and scope == "internal":
        raise CatalogError(f"{where}: an internal table is never exported")
    if exported and not set(export_columns) <= set(names):
        raise CatalogError(f"{where}: export_columns must be listed columns")
    if exported and "period" not in names:
        raise CatalogError(f"{where}: the export is per period, so an exported mart needs a period column")
    if exported and reason:
        raise CatalogError(f"{where}: exported, so it needs no not_exported_because")
    if not exported and scope in READER_SCOPES and not reason:
        raise CatalogError(f"{where}: a reader-facing mart is exported unless not_exported_because says why")
    policy_lookup = bool(entry.get("policy_lookup", False))
    if policy_lookup and scope != "internal":
        raise CatalogError(f"{where}: only an internal table can be a policy lookup")
    return Table(**fields, scope=scope, rebuilt=bool(entry.get("rebuilt", False)), exported=exported,
                 export_columns=export_columns, policy_lookup=policy_lookup,
                 not_exported_because=_text(entry, "not_exported_because", where) if reason else None)


@functools.cache
def load_catalog(path: Path = MARTS_FILE) -> Catalog:
    """The list of marts in ``path``, checked (:class:`CatalogError` names the first problem)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    marts = tuple(_table("marts", entry) for entry in data.get("marts") or ())
    compliance = tuple(_table("compliance", entry) for entry in data.get("compliance") or ())
    seen: set[str] = set()
    for table in marts + compliance:
        if table.qualified in seen:
            raise CatalogError(f"{table.qualified} is listed twice in {path.name}")
        seen.add(table.qualified)
    return Catalog(marts, compliance)
