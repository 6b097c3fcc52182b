"""The diseases the signals watch: one list, ``diseases.yaml``, checked against the official catalogue.

Each entry is a data element of the anchor format (the 2017 district consolidation) with the
names officers read in alerts and reports. Everything that needs to know which counts are
diseases reads this module: the signal series (:mod:`hmis.signals.series`), the names in
alarms, e-mails and the report, and the validation stage, which exempts these counts from
outlier checks (an epidemic rise is a signal, not a data error).

The list is checked when it is loaded: every element must be a count of the anchor format
and carry the official name the file says it has, so a code that comes to mean something
else (as 14.1.x did) stops the pipeline instead of signalling the wrong disease.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from hmis.reference.formats import CatalogueError, load_catalogue, normalise

DISEASES_PATH = Path(__file__).with_name("diseases.yaml")


class DiseaseListError(CatalogueError):
    """``diseases.yaml`` names an element the catalogue does not have, or not as a count."""


@dataclass(frozen=True)
class Disease:
    element: str    # the anchor format's code, as facts.monthly_value.item_code holds it
    name: str       # English, mid-sentence form: "dengue (RDT positive)"
    name_hi: str    # Hindi: "डेंगू (आरडीटी पॉज़िटिव)"
    official: str   # the catalogue's name of the element


def read_diseases(path: Path = DISEASES_PATH) -> tuple[Disease, ...]:
    """The diseases listed in ``path``, in its order, each checked against the catalogue."""
    where = path.name
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("diseases")
    if not entries:
        raise DiseaseListError(f"{where}: no diseases listed")
    catalogue = load_catalogue()
    anchor = {item.element: item for item in catalogue.elements() if item.format_id == catalogue.anchor}
    diseases: list[Disease] = []
    for entry in entries:
        element = entry.get("element")
        # An unquoted 10.11 arrives as a float: say so rather than look up "10.11" by luck.
        if not isinstance(element, str):
            raise DiseaseListError(f"{where}: element {element!r} must be a quoted code such as \"11.3.1\"")
        missing = [key for key in ("official", "name", "name_hi") if not str(entry.get(key) or "").strip()]
        if missing:
            raise DiseaseListError(f"{where}: element {element} has no {', '.join(missing)}")
        item = anchor.get(element)
        if item is None:
            raise DiseaseListError(f"{where}: {element} is not an element of {catalogue.anchor}")
        if item.value_type != "count":
            raise DiseaseListError(f"{where}: {element} ({item.name}) is a {item.value_type}, not a count")
        if normalise(entry["official"]) != normalise(item.name):
            raise DiseaseListError(
                f"{where}: {element} is {item.name!r} in {catalogue.anchor}, not {entry['official']!r}")
        if any(d.element == element for d in diseases):
            raise DiseaseListError(f"{where}: {element} is listed twice")
        diseases.append(Disease(element, entry["name"].strip(), entry["name_hi"].strip(), item.name))
    return tuple(diseases)


@cache
def load_diseases() -> tuple[Disease, ...]:
    """The package's list (``diseases.yaml``), read and checked once per process."""
    return read_diseases(DISEASES_PATH)


def disease_elements() -> tuple[str, ...]:
    """The elements of the watched diseases: the signal series, and the counts exempt from
    outlier checks."""
    return tuple(d.element for d in load_diseases())


def disease(element: str) -> Disease | None:
    """The watched disease of ``element``, or None if the signals do not watch it."""
    return next((d for d in load_diseases() if d.element == element), None)


def display_names(element: str, name: str | None = None, name_hi: str | None = None) -> tuple[str, str]:
    """(English, Hindi) names of ``element`` for officers.

    A watched disease has the list's names. Any other element (a mart row from before the
    list changed) keeps the name it was read with (``name``, ``name_hi``, e.g. from
    ``ref.data_item``), else the catalogue's, else its code; Hindi falls back to English.
    """
    known = disease(element)
    if known is not None:
        return known.name, known.name_hi
    official, official_hi = load_catalogue().element_names.get(element, (element, None))
    english = name or official
    return english, name_hi or official_hi or english
