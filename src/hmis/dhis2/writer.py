"""Write ``dataValueSets`` documents — JSON, CSV, ADX — for DHIS2's import.

Two levels:

- :func:`data_value_set_json`, :func:`data_value_set_csv` and :func:`data_value_set_adx`
  write :class:`hmis.dhis2.readers.DataValue` objects as they are (ids untouched, a
  ``YYYY-MM`` period as ``YYYYMM`` or ``YYYY-MM-01/P1M``), value by value: nothing is
  merged, so what a reader read is written back unchanged.
- :func:`district_documents` turns district aggregates (rows of district, period,
  ``item_code`` = the catalogue's data element, disaggregation, value) into
  :class:`Dhis2Document` objects, naming each value by the mapping's UIDs where it has them
  (the data element and category option combo of HISP India's pair) and by code otherwise.

DHIS2 reads one id scheme per kind of object for a whole import (the ``dataElementIdScheme``,
``categoryOptionComboIdScheme``, ``orgUnitIdScheme`` and ``idScheme`` parameters), so values
named by UID and values named by code never share a document: a district's month becomes one
document per combination, each with :meth:`Dhis2Document.import_parameters` and a sidecar
(:meth:`Dhis2Document.sidecar`) that says how to post it. The schemes are declared as import
parameters only — not as properties inside the JSON, which the import is not documented here
to read — so the sidecar's query string must go with the POST.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET  # noqa: S405 - writing only
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from hmis.dhis2.mapping import CODE, NAME, UID, Dhis2Mapping, check_scheme, is_default_coc, load_mapping
from hmis.dhis2.readers import ADX_NAMESPACE, CSV_COLUMNS, DataValue
from hmis.reference.formats import TOTAL

IMPORT_ENDPOINT = "/api/dataValueSets"
CONTENT_TYPES = {"json": "application/json", "csv": "application/csv", "adx": "application/adx+xml"}
SUFFIXES = {"json": "json", "csv": "csv", "adx": "adx.xml"}
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_XML_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def period_to_dhis2(period: str) -> str:
    """``YYYYMM`` for a ``YYYY-MM`` month; anything else as it is."""
    match = _MONTH_RE.match(period)
    return f"{match.group(1)}{match.group(2)}" if match else period


def period_to_adx(period: str) -> str:
    """ADX's ISO 8601 ``start/duration`` for a ``YYYY-MM`` month (``2026-10-01/P1M``)."""
    match = _MONTH_RE.match(period)
    return f"{match.group(1)}-{match.group(2)}-01/P1M" if match else period


def value_text(value) -> str:
    """A value as DHIS2 text: whole numbers without a decimal point."""
    if value is None:
        raise ValueError("a data value has no value; DHIS2 imports values, not blanks")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"the value {value!r} is not a number DHIS2 can store")
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "item"):          # numpy scalars
        return value_text(value.item())
    return str(value)


def _date_text(value: date | datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- low level


def _json_value(v: DataValue) -> dict:
    entry = {"dataElement": v.data_element, "period": period_to_dhis2(v.period), "orgUnit": v.org_unit}
    if not is_default_coc(v.category_option_combo):
        entry["categoryOptionCombo"] = v.category_option_combo
    if not is_default_coc(v.attribute_option_combo):
        entry["attributeOptionCombo"] = v.attribute_option_combo
    entry["value"] = v.value
    for name, text in (("storedBy", v.stored_by), ("created", v.created), ("lastUpdated", v.last_updated),
                       ("comment", v.comment), ("followup", v.followup)):
        if text:
            entry[name] = text
    if v.deleted:
        entry["deleted"] = True
    return entry


def data_value_set_json(values: Iterable[DataValue], *, data_set: str | None = None,
                        complete_date: date | datetime | str | None = None, period: str | None = None,
                        org_unit: str | None = None) -> dict:
    """A ``dataValueSets`` JSON document; every value names its own period and org unit (the
    document's ``period`` and ``orgUnit`` are written too when given, as DHIS2's single org
    unit form has them). ``completeDate`` is written only when given (it registers the data
    set's month as complete, so it needs the data set)."""
    if complete_date is not None and not data_set:
        raise ValueError("a completeDate registers a data set as complete: name the data set")
    document: dict = {}
    if data_set:
        document["dataSet"] = data_set
    if complete_date is not None:
        document["completeDate"] = _date_text(complete_date)
    if period is not None:
        document["period"] = period_to_dhis2(period)
    if org_unit is not None:
        document["orgUnit"] = org_unit
    document["dataValues"] = [_json_value(v) for v in values]
    return document


def data_value_set_csv(values: Iterable[DataValue], *, header: bool = True) -> bytes:
    """DHIS2's data value CSV, columns in DHIS2's order (with the header row by default)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for v in values:
        writer.writerow([v.data_element, period_to_dhis2(v.period), v.org_unit,
                         "" if is_default_coc(v.category_option_combo) else v.category_option_combo,
                         "" if is_default_coc(v.attribute_option_combo) else v.attribute_option_combo,
                         v.value, v.stored_by, v.last_updated, v.comment, v.followup])
    return out.getvalue().encode("utf-8")


def _category_attributes(combo: str, field_name: str) -> dict[str, str]:
    """ADX attributes for a category option combo: a key of category attributes read from an
    ADX document (``SEX=M;AGE=U5``) becomes those attributes again; any other combo (a UID or
    code) DHIS2's ``categoryOptionCombo`` / ``attributeOptionCombo`` attribute."""
    if is_default_coc(combo):
        return {}
    if "=" not in combo:
        return {field_name: combo}
    attributes = {}
    for part in combo.split(";"):
        name, _, option = part.partition("=")
        if not _XML_NAME_RE.match(name):
            raise ValueError(f"{name!r} cannot be an ADX category attribute name")
        attributes[name] = option
    return attributes


def data_value_set_adx(values: Iterable[DataValue], *, data_set: str | None = None,
                       complete_date: date | datetime | str | None = None) -> bytes:
    """An ADX document: one ``group`` per org unit, period and attribute option combo, in the
    order they first appear; each value keeps its place in its group."""
    if complete_date is not None and not data_set:
        raise ValueError("a completeDate registers a data set as complete: name the data set")
    ET.register_namespace("", ADX_NAMESPACE)
    root = ET.Element(f"{{{ADX_NAMESPACE}}}adx")
    groups: dict[tuple[str, str, str], ET.Element] = {}
    for v in values:
        key = (v.org_unit, v.period, "" if is_default_coc(v.attribute_option_combo) else v.attribute_option_combo)
        group = groups.get(key)
        if group is None:
            attributes = {}
            if data_set:
                attributes["dataSet"] = data_set
            attributes.update(orgUnit=v.org_unit, period=period_to_adx(v.period))
            if complete_date is not None:
                attributes["completeDate"] = _date_text(complete_date)
            attributes.update(_category_attributes(key[2], "attributeOptionCombo"))
            group = groups[key] = ET.SubElement(root, f"{{{ADX_NAMESPACE}}}group", attributes)
        attributes = {"dataElement": v.data_element, **_category_attributes(v.category_option_combo, "categoryOptionCombo"),
                      "value": v.value}
        element = ET.SubElement(group, f"{{{ADX_NAMESPACE}}}dataValue", attributes)
        if v.comment:
            ET.SubElement(element, f"{{{ADX_NAMESPACE}}}annotation").text = v.comment
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


# --------------------------------------------------------------------------- district aggregates


@dataclass
class Dhis2Document:
    """One importable document: values that share their id schemes."""

    district: str
    period: str                               # YYYY-MM
    org_unit: str
    schemes: dict[str, str]                   # import parameter -> scheme
    values: list[DataValue] = field(default_factory=list)
    data_set: str | None = None
    complete_date: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``uid`` or ``code``: how the document names its data elements (for file names)."""
        return self.schemes["dataElementIdScheme"].split(":", 1)[0].lower()

    def import_parameters(self) -> dict[str, str]:
        return dict(self.schemes)

    def payload(self) -> dict:
        return data_value_set_json(self.values, data_set=self.data_set, complete_date=self.complete_date,
                                   period=self.period, org_unit=self.org_unit)

    def render(self, form: str = "json") -> bytes:
        if form == "json":
            return json.dumps(self.payload(), indent=1, ensure_ascii=False).encode("utf-8")
        if form == "csv":
            return data_value_set_csv(self.values)
        if form == "adx":
            return data_value_set_adx(self.values, data_set=self.data_set, complete_date=self.complete_date)
        raise ValueError(f"unknown form {form!r}; expected json, csv or adx")

    def sidecar(self, document_name: str, form: str = "json", mapping: Dhis2Mapping | None = None) -> dict:
        """How to import the document: endpoint, content type, import parameters, what the id
        schemes mean, whether the month is registered complete."""
        params = self.import_parameters()
        described = {
            "document": document_name,
            "method": "POST",
            "endpoint": IMPORT_ENDPOINT,
            "content_type": CONTENT_TYPES[form],
            "import_parameters": params,
            "query": urlencode(params),
            "id_schemes": dict(self.notes),
            "district": self.district,
            "period": period_to_dhis2(self.period),
            "org_unit": self.org_unit,
            "data_set": self.data_set,
            "complete_date": self.complete_date,
            "values": len(self.values),
        }
        if mapping is not None:
            described["mapping"] = mapping.describe()
        return described


def district_documents(frame, period: str | None = None, *, district_lgd: dict[str, str] | None = None,
                       mapping: Dhis2Mapping | None = None, data_set: str | None = None,
                       data_set_scheme: str = CODE, complete_date: date | datetime | str | None = None,
                       complete_dates: Mapping[str, date | datetime | str] | None = None,
                       ) -> list[Dhis2Document]:
    """District aggregates as importable documents, one per district, month and id-scheme set.

    ``frame`` has columns ``district``, ``item_code`` (the catalogue's data element),
    ``disaggregation`` (``TOTAL`` or a stock sub-item) and ``value``, and ``period`` unless
    ``period`` is given. A value whose element and disaggregation the mapping knows goes by
    its DHIS2 data element and category option combo UIDs; any other by the element's code,
    its stock sub-item as the category option combo code (none for TOTAL, so DHIS2's
    default). The district's org unit is its UID in the mapping (scope ``district``, by LGD
    code), else its LGD code under the mapping's org-unit fallback scheme, else its name
    (``NAME``). ``completeDate`` is set only when ``complete_date`` is given — pass it only
    for a month that is complete and approved — or, per district, for the districts
    ``complete_dates`` names (district -> the date its month was approved; any other district's
    documents carry none)."""
    mapping = mapping or load_mapping()
    district_lgd = district_lgd or {}
    check_scheme(data_set_scheme)
    if (complete_date is not None or complete_dates) and not data_set:
        raise ValueError("a completeDate registers a data set as complete: name the data set")
    complete = _date_text(complete_date)
    documents: dict[tuple, Dhis2Document] = {}
    for row in frame.itertuples(index=False):
        month = period or row.period
        district = str(row.district)
        lgd = district_lgd.get(district)
        ou_uid = mapping.org_unit_uid("district", lgd) if lgd else None
        if ou_uid:
            org_unit, ou_scheme, ou_note = ou_uid, UID, "UID (registry/dhis2_org_units.csv, by the district's LGD code)"
        elif lgd:
            org_unit, ou_scheme = str(lgd), mapping.org_unit_fallback
            ou_note = f"{ou_scheme} (the district's LGD code; no UID is listed for it)"
        else:
            org_unit, ou_scheme, ou_note = district, NAME, "NAME (the district's name; it has no LGD code)"
        disaggregation = row.disaggregation or TOTAL
        entry = mapping.for_element(row.item_code, disaggregation)
        if entry is not None:
            data_element, coc, scheme = entry.data_element, entry.category_option_combo, UID
            de_note = "UID (HISP India's data element UIDs, official/dhis2_id_scheme.csv)"
            coc_note = "UID (HISP India's category option combo UIDs; HllvX50cXC0 is DHIS2's default)"
        else:
            data_element, coc, scheme = str(row.item_code), "" if disaggregation == TOTAL else disaggregation, \
                mapping.element_fallback
            de_note = f"{scheme} (the catalogue's data element code; the mapping has no UID for it)"
            coc_note = f"{scheme} (the stock sub-item's text; omitted for a total, which is DHIS2's default)"
        key = (district, month, org_unit, ou_scheme, scheme)
        document = documents.get(key)
        if document is None:
            schemes = {"idScheme": data_set_scheme if data_set else UID, "dataElementIdScheme": scheme,
                       "categoryOptionComboIdScheme": scheme, "orgUnitIdScheme": ou_scheme}
            notes = {"dataElement": de_note, "categoryOptionCombo": coc_note, "orgUnit": ou_note}
            if data_set:
                notes["dataSet"] = f"{data_set_scheme} (idScheme)"
            completed = _date_text(complete_dates.get(district)) if complete_dates is not None else complete
            document = documents[key] = Dhis2Document(district, month, org_unit, schemes, [], data_set, completed, notes)
        document.values.append(DataValue(len(document.values) + 1, data_element, month, org_unit, coc, "",
                                         value_text(row.value)))
    return sorted(documents.values(), key=lambda d: (d.district, d.period, d.label != "uid", d.org_unit))


def export_files(documents: Sequence[Dhis2Document], stem_of=None, forms: Sequence[str] = ("json",),
                 mapping: Dhis2Mapping | None = None) -> dict[str, bytes]:
    """File name → bytes for each document in each form, and a sidecar ``<name>.import.json``
    beside each. ``stem_of(document)`` names a document without suffix; the default is
    ``<district>-<YYYYMM>.<uid|code>``."""
    def default_stem(document: Dhis2Document) -> str:
        return f"{document.district.lower()}-{period_to_dhis2(document.period)}.{document.label}"

    stem_of = stem_of or default_stem
    files: dict[str, bytes] = {}
    for document in documents:
        stem = stem_of(document)
        for form in forms:
            name = f"{stem}.{SUFFIXES[form]}"
            if name in files:
                raise ValueError(f"two documents would both be written as {name}")
            files[name] = document.render(form)
            sidecar = document.sidecar(name, form, mapping)
            files[f"{stem}.{form}.import.json"] = json.dumps(sidecar, indent=1, sort_keys=True).encode("utf-8")
    return files
