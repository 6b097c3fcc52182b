"""Read DHIS2 ``dataValueSets`` — JSON, CSV or ADX XML — into records of HMIS items.

Reading is two steps. :func:`parse_json`, :func:`parse_csv` and :func:`parse_adx` read a
document as DHIS2 wrote it into :class:`DataValue` objects (ids as sent; a ``YYYYMM`` or
ADX ``YYYY-MM-01/P1M`` period becomes ``YYYY-MM``; the document's own period, org unit and
attribute option combo are given to every value that does not name its own).
:func:`translate` then turns each value into a :class:`Record`
``(line, org_unit, period, data_element, value, category_option_combo, attribute_option_combo)``
through the id-scheme mapping (:mod:`hmis.dhis2.mapping`): a known (data element, category
option combo) pair becomes the facility's own item code and sub-item, a known org unit its
facility id (or LGD code); anything the mapping does not know is kept as sent, as a code.

Nothing is ever merged: two values that differ only by category option combo or attribute
option combo stay two records, and so do two identical ones (the suite reports the second).
Problems are raised as :class:`hmis.ingest.parse.SubmissionError` with a sentence the sender
can act on; kept cells are screened as every other submission's are (no identifiers, no
formulas, nothing multi-line).

XML is parsed with :mod:`xml.etree.ElementTree` only after the text is found to hold no
``DOCTYPE`` or ``ENTITY`` declaration, so no entity is ever expanded or fetched (``defusedxml``
is not installed; ADX never needs a DTD).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - used only after the DOCTYPE/ENTITY guard below
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from hmis.dhis2.mapping import Dhis2Mapping, is_default_coc, load_mapping
from hmis.ingest.parse import SubmissionError, _csv_rows, _decode, _screen
from hmis.reference.formats import format_title

ADX_NAMESPACE = "urn:ihe:qrph:adx:2015"
# DHIS2's CSV import reads its columns in this order; a header row may name them.
CSV_COLUMNS = ("dataelement", "period", "orgunit", "catoptcombo", "attroptcombo", "value",
               "storedby", "lastupdated", "comment", "followup")
_CSV_ALIASES = {
    "data_element": "dataelement", "org_unit": "orgunit", "categoryoptioncombo": "catoptcombo",
    "category_option_combo": "catoptcombo", "attributeoptioncombo": "attroptcombo",
    "attribute_option_combo": "attroptcombo", "created": "created", "deleted": "deleted",
}
_CSV_REQUIRED = ("dataelement", "period", "orgunit", "value")
FORMS = ("json", "csv", "adx")
MAX_PROBLEMS_SHOWN = 5

_DHIS2_MONTH_RE = re.compile(r"^(\d{4})(\d{2})$")
_ADX_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})-01/P1M$")
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DECLARATION_RE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Attributes of an ADX element that are not category codes.
_ADX_GROUP_FIELDS = {"dataSet", "orgUnit", "period", "completeDate", "attributeOptionCombo"}
_ADX_VALUE_FIELDS = {"dataElement", "value", "categoryOptionCombo"}


@dataclass(frozen=True)
class DataValue:
    """One DHIS2 data value, ids as the document wrote them."""

    line: int                         # entry number (JSON, ADX) or line number (CSV)
    data_element: str
    period: str                       # YYYY-MM for a month, else as sent
    org_unit: str
    category_option_combo: str = ""   # "" when the document names none (DHIS2's default)
    attribute_option_combo: str = ""
    value: str = ""
    stored_by: str = ""
    created: str = ""
    last_updated: str = ""
    comment: str = ""
    followup: str = ""
    deleted: bool = False


@dataclass
class DataValueSet:
    """A parsed document: its header and its values, in the document's order."""

    form: str                         # json | csv | adx
    values: list[DataValue]
    data_set: str = ""
    complete_date: str = ""
    period: str = ""
    org_unit: str = ""
    attribute_option_combo: str = ""
    unit: str = "dataValues entry"    # what a value is called in messages ("line" in a CSV)


class Record(NamedTuple):
    line: int
    org_unit: str
    period: str
    data_element: str
    value: str
    category_option_combo: str        # the sub-item ("" for none) once translated
    attribute_option_combo: str       # "" for DHIS2's default


# --------------------------------------------------------------------------- periods


def period_from_dhis2(text: str) -> str:
    """``YYYY-MM`` for a DHIS2 month (``202610``) or an ADX month (``2026-10-01/P1M``); any
    other period is kept as sent, for the suite to judge."""
    text = text.strip()
    for pattern in (_DHIS2_MONTH_RE, _ADX_MONTH_RE):
        match = pattern.match(text)
        if match:
            return f"{match.group(1)}-{match.group(2)}"
    return text


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _screened(where: str, column: str, text: str, screen: bool) -> str:
    return _screen(where, column, text) if screen and text else text.strip()


def _value(where: str, entry: dict, screen: bool, **defaults: str) -> DataValue:
    """A DataValue from a dict of DHIS2 JSON names (CSV and ADX are turned into them first)."""
    line = defaults.pop("line")

    def get(name: str, column: str) -> str:
        raw = entry.get(name)
        text = _text(raw) if raw is not None else defaults.get(name, "")
        return _screened(where, column, text, screen)

    data_element = get("dataElement", "dataElement")
    org_unit = get("orgUnit", "orgUnit")
    period = get("period", "period")
    missing = [name for name, text in (("dataElement", data_element), ("period", period), ("orgUnit", org_unit))
               if not text]
    if missing:
        raise SubmissionError(
            f"{where} has no {' and no '.join(missing)}; every DHIS2 data value names its data element, "
            "period and org unit (or the document names the period and org unit once for all values)")
    return DataValue(
        line=line, data_element=data_element, period=period_from_dhis2(period), org_unit=org_unit,
        category_option_combo=get("categoryOptionCombo", "categoryOptionCombo"),
        attribute_option_combo=get("attributeOptionCombo", "attributeOptionCombo"),
        value=get("value", "value"),
        stored_by=_text(entry.get("storedBy")).strip(), created=_text(entry.get("created")).strip(),
        last_updated=_text(entry.get("lastUpdated")).strip(), comment=_text(entry.get("comment")),
        followup=_text(entry.get("followup")).strip(),
        deleted=_text(entry.get("deleted")).strip().lower() == "true",
    )


def _empty_check(values: list, allow_empty: bool, what: str) -> None:
    if not values and not allow_empty:
        raise SubmissionError(f"the {what} holds no data values; send the month's values")


# --------------------------------------------------------------------------- JSON


def parse_json(data: bytes, *, screen: bool = True, allow_empty: bool = False) -> DataValueSet:
    """Read a ``dataValueSets`` JSON document. Numbers keep the text that was sent."""
    text = _decode(data, "json")
    if text.lstrip()[:1] not in ("{", "["):
        looks = "CSV text" if "," in text.split("\n", 1)[0] else "plain text"
        raise SubmissionError(f"the file is named .json but is {looks}, not JSON; upload a CSV as .csv")
    try:
        document = json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"the JSON is malformed at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise SubmissionError("the JSON is nested too deeply to be a DHIS2 dataValueSets document") from None
    if not isinstance(document, dict):
        raise SubmissionError("the JSON is a list, not a DHIS2 dataValueSets document (an object with a "
                              "'dataValues' list)")
    entries = document.get("dataValues")
    if entries is None and allow_empty:
        entries = []
    if not isinstance(entries, list):
        raise SubmissionError("the JSON has no 'dataValues' list; send a DHIS2 dataValueSets document")
    _empty_check(entries, allow_empty, "JSON document's 'dataValues' list")
    header = {name: _text(document.get(name)).strip()
              for name in ("dataSet", "completeDate", "period", "orgUnit", "attributeOptionCombo")}
    values = []
    for number, entry in enumerate(entries, start=1):
        where = f"dataValues entry {number}"
        if not isinstance(entry, dict):
            raise SubmissionError(f"{where} is not an object with dataElement, period, orgUnit and value")
        values.append(_value(where, entry, screen, line=number, period=header["period"],
                             orgUnit=header["orgUnit"], attributeOptionCombo=header["attributeOptionCombo"]))
    return DataValueSet("json", values, header["dataSet"], header["completeDate"], period_from_dhis2(header["period"]),
                        header["orgUnit"], header["attributeOptionCombo"], "dataValues entry")


# --------------------------------------------------------------------------- CSV


def _csv_header(cells: list[str]) -> list[str] | None:
    """The column names of a DHIS2 CSV header row, or None when the row is data."""
    names = [_CSV_ALIASES.get(name, name)
             for name in (cell.strip().lstrip("\ufeff").lower().replace(" ", "") for cell in cells)]
    return names if "dataelement" in names and "period" in names else None


def looks_like_dhis2_csv(data: bytes) -> bool:
    """Whether a CSV's first line is a DHIS2 header (naming ``dataelement`` and ``period``); a
    headerless DHIS2 CSV cannot be told from other CSVs and is read only when asked for."""
    first = data.lstrip(b"\xef\xbb\xbf \r\n\t").split(b"\n", 1)[0].decode("utf-8", "replace")
    return _csv_header(first.split(",")) is not None


def parse_csv(data: bytes, *, screen: bool = True, allow_empty: bool = False) -> DataValueSet:
    """Read a DHIS2 data value CSV: ``dataelement,period,orgunit,catoptcombo,attroptcombo,value,
    storedby,lastupdated,comment,followup``. With a header row columns are found by name
    (DHIS2's export names ``categoryoptioncombo`` / ``attributeoptioncombo`` are accepted);
    without one they are taken in DHIS2's order."""
    text = _decode(data, "csv")
    rows = [(number, row) for number, row in _csv_rows(text) if any(cell.strip() for cell in row)]
    if not rows:
        raise SubmissionError("the file is empty: it holds only blank lines or spaces")
    header = _csv_header(rows[0][1])
    if header is not None:
        missing = [name for name in _CSV_REQUIRED if name not in header]
        if missing:
            raise SubmissionError(f"the DHIS2 CSV header lacks {', '.join(missing)}; it must be {','.join(CSV_COLUMNS)}")
        duplicated = sorted({name for name in header if header.count(name) > 1 and name in CSV_COLUMNS})
        if duplicated:
            raise SubmissionError(f"column(s) {', '.join(duplicated)} appear more than once in the header")
        positions = {name: header.index(name) for name in set(header)}
        body = rows[1:]
    else:
        positions = {name: i for i, name in enumerate(CSV_COLUMNS)}
        body = rows
    # Optional columns after the last required one may be left off a row.
    width = max(positions[name] for name in _CSV_REQUIRED) + 1
    _empty_check(body, allow_empty, "CSV")
    json_names = {"dataelement": "dataElement", "period": "period", "orgunit": "orgUnit",
                  "catoptcombo": "categoryOptionCombo", "attroptcombo": "attributeOptionCombo", "value": "value",
                  "storedby": "storedBy", "lastupdated": "lastUpdated", "comment": "comment",
                  "followup": "followup", "created": "created", "deleted": "deleted"}
    values = []
    for number, row in body:
        if len(row) < width:
            columns = ",".join(header[:width]) if header is not None else ",".join(CSV_COLUMNS[:width])
            raise SubmissionError(f"line {number} has {len(row)} fields but a DHIS2 CSV row needs at least {width} "
                                  f"({columns}); every row holds a value")
        entry = {json_names[name]: row[pos] for name, pos in positions.items() if name in json_names and pos < len(row)}
        values.append(_value(f"line {number}", entry, screen, line=number))
    return DataValueSet("csv", values, unit="line")


# --------------------------------------------------------------------------- ADX


def _local(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _categories(attributes: dict[str, str], skip: set[str]) -> str:
    """ADX category attributes (``SEX="M"``) as one key, ``SEX=M;AGE=U5`` (names sorted), so
    values told apart by them stay apart; the writer turns the key back into attributes."""
    pairs = sorted((name, value) for name, value in attributes.items() if name not in skip and not name.startswith("{"))
    return ";".join(f"{name}={value}" for name, value in pairs)


def parse_adx(data: bytes, *, screen: bool = True, allow_empty: bool = False) -> DataValueSet:
    """Read an ADX document (``<adx xmlns="urn:ihe:qrph:adx:2015"><group dataSet orgUnit period
    completeDate><dataValue dataElement value …/></group></adx>``). A value's category option
    combo is its ``categoryOptionCombo`` attribute (DHIS2's) or, failing that, its category
    attributes as one key; a group's attribute option combo likewise."""
    text = _decode(data, "xml")
    declared = _DECLARATION_RE.search(text)
    if declared:
        raise SubmissionError(
            f"the XML holds a <!{declared.group(1).upper()}> declaration; ADX documents need none, and files that declare "
            "one are refused so that no entity is ever expanded or fetched — export the ADX again without it")
    try:
        root = ET.fromstring(text)  # noqa: S314 - DOCTYPE and ENTITY declarations were refused above
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise SubmissionError(f"the XML is malformed at line {line}, column {column + 1}; export the ADX again") from None
    namespace, name = _local(root.tag)
    if name != "adx" or namespace not in (ADX_NAMESPACE, None):
        raise SubmissionError(f"the XML's root element is {name!r}{f' in namespace {namespace}' if namespace else ''}; "
                              f"an ADX document's root is <adx xmlns=\"{ADX_NAMESPACE}\">")
    values, number = [], 0
    header: dict[str, str] = {}
    for group_no, group in enumerate(root, start=1):
        if _local(group.tag)[1] != "group":
            continue
        attrs = dict(group.attrib)
        if not header:
            header = {k: attrs.get(k, "") for k in ("dataSet", "completeDate", "period", "orgUnit")}
        aoc = attrs.get("attributeOptionCombo") or _categories(attrs, _ADX_GROUP_FIELDS)
        for element in group:
            if _local(element.tag)[1] != "dataValue":
                continue
            number += 1
            where = f"dataValue {number} (group {group_no})"
            value_attrs = dict(element.attrib)
            coc = value_attrs.get("categoryOptionCombo") or _categories(value_attrs, _ADX_VALUE_FIELDS)
            comment = " ".join((child.text or "").strip() for child in element if _local(child.tag)[1] == "annotation")
            entry = {"dataElement": value_attrs.get("dataElement"), "value": value_attrs.get("value"),
                     "categoryOptionCombo": coc, "attributeOptionCombo": aoc, "period": attrs.get("period"),
                     "orgUnit": attrs.get("orgUnit"), "comment": comment or None}
            values.append(_value(where, entry, screen, line=number))
    _empty_check(values, allow_empty, "ADX document")
    return DataValueSet("adx", values, header.get("dataSet", ""), header.get("completeDate", ""),
                        period_from_dhis2(header.get("period", "")), header.get("orgUnit", ""), unit="dataValue")


# --------------------------------------------------------------------------- any form


def form_of(extension: str, data: bytes = b"") -> str:
    """Which reader a file needs: ``json``, ``csv`` or ``adx`` (``.xml`` / ``.adx``)."""
    extension = extension.lower().lstrip(".")
    if extension in ("xml", "adx"):
        return "adx"
    if extension in ("json", "csv"):
        return extension
    head = data.lstrip(b"\xef\xbb\xbf \r\n\t")[:1]
    if head == b"{":
        return "json"
    if head == b"<":
        return "adx"
    return "csv"


def parse_data_value_set(data: bytes, form: str, *, screen: bool = True, allow_empty: bool = False) -> DataValueSet:
    """Read a document of the given form (``json``, ``csv`` or ``adx``)."""
    readers = {"json": parse_json, "csv": parse_csv, "adx": parse_adx}
    if form not in readers:
        raise ValueError(f"unknown DHIS2 form {form!r}; expected one of {', '.join(FORMS)}")
    return readers[form](data, screen=screen, allow_empty=allow_empty)


# --------------------------------------------------------------------------- translation


def _date_value(value: str) -> str:
    """DHIS2 stores a DATE as ``YYYY-MM-DD``; the HMIS formats write ``DD/MM/YYYY``."""
    match = _ISO_DATE_RE.match(value.strip())
    return f"{match.group(3)}/{match.group(2)}/{match.group(1)}" if match else value


def _names(combos) -> str:
    return ", ".join(f"{e.category_option_combo} ({e.name})" for e in combos)


def translate(value_set: DataValueSet | Iterable[DataValue], mapping: Dhis2Mapping | None = None,
              format_id: str | None = None) -> list[Record]:
    """Records of the values, ids translated through the mapping.

    A known (data element, category option combo) pair becomes the item code it has in
    ``format_id`` — the facility's format, when the caller knows it — or in the mapping's own
    format (HISP's Sub-Centre items, numbered as the CHC format numbers them) when it does
    not; its category option combo becomes the sub-item (``""`` for a plain count, HISP's
    status option for a drop-down pair). A DHIS2 ``YYYY-MM-DD`` date becomes ``DD/MM/YYYY``.
    A data element the mapping does not know is taken as the sender's item code (id scheme
    CODE) and its category option combo as the sub-item. Deleted values are left out.

    Raises :class:`SubmissionError` naming every value whose data element the mapping knows
    but not with that category option combo, or whose pair is in no HMIS format (or not in
    the facility's)."""
    mapping = mapping or load_mapping()
    if isinstance(value_set, DataValueSet):
        values, unit = value_set.values, value_set.unit
    else:
        values, unit = list(value_set), "dataValues entry"
    records, problems = [], []
    for value in values:
        if value.deleted:
            continue
        where = f"{unit} {value.line}"
        unit_id = mapping.org_unit(value.org_unit)
        org_unit = unit_id.code if unit_id else value.org_unit
        aoc = "" if is_default_coc(value.attribute_option_combo) else value.attribute_option_combo
        combos = mapping.combos_of(value.data_element)
        if not combos:
            sub_item = "" if is_default_coc(value.category_option_combo) else value.category_option_combo
            records.append(Record(value.line, org_unit, value.period, value.data_element, value.value, sub_item, aoc))
            continue
        entry = mapping.pair(value.data_element, value.category_option_combo)
        if entry is None:
            sent = value.category_option_combo or "none (DHIS2's default)"
            problems.append(f"{where}: data element {value.data_element} is carried by the category option combo(s) "
                            f"{_names(combos)}; the value's category option combo {sent} is not one of them")
            continue
        placement = mapping.place(entry, format_id)
        if placement is None:
            if not entry.placed:
                problems.append(f"{where}: data element {entry.data_element} with category option combo "
                                f"{entry.category_option_combo} is HISP India's '{entry.name}', which no HMIS "
                                "format in the catalogue holds")
            else:
                problems.append(f"{where}: data element {entry.data_element} with category option combo "
                                f"{entry.category_option_combo} is '{entry.name}' (item {entry.item_code} of "
                                f"{format_title(entry.format_id)}), which {format_title(format_id)} has no item for")
            continue
        text = _date_value(value.value) if placement.value_type == "date" else value.value
        records.append(Record(value.line, org_unit, value.period, placement.item_code, text, placement.sub_item, aoc))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise SubmissionError(f"{len(problems)} value(s) cannot be read as HMIS items — {shown}{more}")
    return records


def read_records(data: bytes, form: str, mapping: Dhis2Mapping | None = None, format_id: str | None = None,
                 *, screen: bool = True) -> list[Record]:
    """Parse a document and translate its values (:func:`parse_data_value_set` + :func:`translate`)."""
    return translate(parse_data_value_set(data, form, screen=screen), mapping, format_id)


def long_records(records: list[Record]) -> list[tuple]:
    """The long table's ``(line, facility_id, period, item_code, value, sub_item)`` tuples.

    The long table has no attribute option combo, so a document whose values carry more than
    one (the default counting as one) is refused rather than merged; a single one is dropped."""
    combos = sorted({r.attribute_option_combo for r in records})
    if len(combos) > 1:
        named = ", ".join(c or "default" for c in combos[:5])
        raise SubmissionError(
            f"the values carry {len(combos)} attribute option combos ({named}); an HMIS monthly report holds one "
            "value per item and facility-month — send one file per attribute option combo, or the values without one")
    return [(r.line, r.org_unit, r.period, r.data_element, r.value, r.category_option_combo) for r in records]
