"""The portal's facility-wise report ("Monthly Data Item Wise Report Across Facility") is read
from each of the forms it circulates in, and one facility's bad row never rejects the report.

The sheets are shaped like the real download (the Delhi CHC report of Jun-2020 described in
/work/shared/reference/README.md): title, "Data as on" row, descriptor header with section
headers spanning their items, an item row of "<code> <name>" cells with the real CHC item names,
one row per facility, and the footer as label and value cells. ``tests/fixtures/portal/`` holds
two committed copies (the HTML ".xls" download and a CSV re-saved by pandas, with its index
column and BOM); the builder below makes the variants.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from hmis.ingest.parse import SubmissionError, parse_csv
from hmis.ingest.portal_report import PortalReport, read_portal_report, to_submission_csv
from hmis.reference.formats import load_catalogue
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "portal"
LIMIT = 5 * 1024 * 1024

CODES = ("1.1", "1.1.1", "1.2.1", "1.2.2", "1.2.4", "1.2.7", "1.3.1", "1.3.1.a", "2.1", "2.1.1", "2.1.2",
         "3.1", "4.1.1.a", "4.1.1.b", "4.1.3", "5.1", "9.1.2", "9.1.3", "9.1.9", "9.2.1", "14.1.1", "14.2.1",
         "14.3.1.a", "14.8.1", "15.3.3.c", "16.1.1", "16.1.2.a", "16.1.2.b", "17.1")
_CHC = {item.code: item for item in load_catalogue().items["hmis2017_chc"]}
ITEMS = tuple((code, _CHC[code].name) for code in CODES)
SECTIONS = {1: "M1 [Ante Natal Care (ANC)]", 2: "M2 [Deliveries]", 3: "M3 [Number of Caesarean (C-Section) deliveries]",
            4: "M4 [Pregnancy outcome & details of new-born]", 5: "M5 [Complicated Pregnancies]",
            9: "M9 [CHILD IMMUNISATION]", 14: "M14 [Patient Services]", 15: "M15 [Laboratory Testing]",
            16: "M16 [Drugs]", 17: "M17 [Details of deaths reported with probable causes:]"}
DESCRIPTORS = ("#", "State", "Zone", "District", "District Category", "Sub-district", "Block", "Health Block",
               "Sub-Division", "ULB", "Facility Type", "Facility Code", "Facility Name", "Category", "Bed Count",
               "Facility NIN Number", "Rural/Urban", "Ownership", "Physical/Notional", "Status")
CHC = "Community Health Centre"


def facility(code, name, sub_district, block, nin="", beds="30"):
    return {"State": "Haryana(6)", "District": "Hisar(63)", "District Category": "Non High Priority",
            "Sub-district": sub_district, "Block": block, "Facility Type": CHC, "Facility Code": code,
            "Facility Name": name, "Category": "24X7", "Bed Count": beds, "Facility NIN Number": nin,
            "Rural/Urban": "Rural", "Ownership": "Public", "Physical/Notional": "Physical", "Status": "Open"}


FACILITIES = (
    (facility("100201", "CHC Agroha", "Hisar(394)", "Agroha(485)", nin="1112382260"),
     {"1.1": "42", "1.1.1": "30", "1.2.1": "38", "2.1": "25", "4.1.1.a": "13", "4.1.1.b": "12", "5.1": "3",
      "9.1.3": "0", "14.2.1": "4210", "16.1.1": "27/05/2020", "16.1.2.a": "Adequate", "16.1.2.b": "Inadequate"}),
    (facility("100202", "CHC Barwala", "Barwala(6440)", "Barwala(486)"),
     {"1.1": "55", "1.2.1": "51", "2.1": "40", "14.2.1": "6032", "15.3.3.c": "0", "17.1": "1"}),
    (facility("100203", "CHC Uklana", "Uklana ST(6441)", "Uklana(492)", beds="0"), {}),   # sent nothing
    (facility("100204", "CHC Adampur", "Adampur(393)", "Adampur(484)"),
     {"1.1": "18", "9.1.2": "20", "14.1.1": "75", "14.2.1": "2985"}),
)
MONTH_LABEL = {"2020-04": "Apr-2020", "2020-05": "May-2020", "2020-06": "Jun-2020"}


# --------------------------------------------------------------------------- the builder


class Sheet:
    """A report laid out as a grid: rows of cells, and merged areas (row, col, rows, cols)."""

    def __init__(self):
        self.rows: list[list[str]] = []
        self.merges: list[tuple[int, int, int, int]] = []
        self.header_rows = 0


def month_values(values: dict[str, str], shift: int) -> dict[str, str]:
    """A facility's values in another month: every count moved by ``shift``."""
    return {code: str(int(v) + shift) if v.isdigit() else v for code, v in values.items()}


def build(periods=("2020-06",), layout="single", facilities=FACILITIES, overrides=None,
          data_as_on="Data as on 24th February 2021 11:20:24 AM", title=None, selected=None,
          footer_inline=False, items=ITEMS) -> Sheet:
    """The report's grid. ``layout``: single (one month), column (a Month descriptor column) or
    blocks (one block of rows per month under a month heading). ``overrides``:
    {(facility index, period): {code: value}}."""
    overrides = overrides or {}
    descriptors = DESCRIPTORS + (("Month",) if layout == "column" else ())
    width = len(descriptors) + len(items)
    first, last = MONTH_LABEL.get(periods[0], periods[0]), MONTH_LABEL.get(periods[-1], periods[-1])
    sheet = Sheet()
    sheet.rows.append([title or f"Monthly Data Item Wise Report Across Facility From {first} To {last}"])
    sheet.merges.append((0, 0, 1, width))
    if data_as_on is not None:
        sheet.rows.append([data_as_on])
        sheet.merges.append((len(sheet.rows) - 1, 0, 1, width))
    header = list(descriptors)
    item_row = [""] * len(descriptors)
    module_start: dict[int, int] = {}
    for code, name in items:
        module = int(code.split(".")[0])
        if module not in module_start:
            module_start[module] = len(header)
            header.append(SECTIONS[module])
        else:
            header.append("")
        item_row.append(f"{code} {name}")
    h = len(sheet.rows)
    sheet.rows += [header, item_row]
    sheet.merges += [(h, c, 2, 1) for c in range(len(descriptors))]
    for module, start in module_start.items():
        span = sum(1 for code, _ in items if int(code.split(".")[0]) == module)
        if span > 1:
            sheet.merges.append((h, start, 1, span))
    sheet.header_rows = h + 2
    serial = 0
    for shift, period in enumerate(periods):
        if layout == "blocks":
            sheet.rows.append([f"Month : {MONTH_LABEL[period]}"])
            sheet.merges.append((len(sheet.rows) - 1, 0, 1, width))
        if layout == "single" and shift:
            break
        for index, (descr, values) in enumerate(facilities):
            serial += 1
            values = {**month_values(values, shift), **overrides.get((index, period), {})}
            row = [str(serial)] + [descr.get(name, "") for name in DESCRIPTORS[1:]]
            if layout == "column":
                row.append(MONTH_LABEL[period])
            row += [values.get(code, "") for code, _ in items]
            sheet.rows.append(row)
    selected = selected or f"{first} To {last}"
    if footer_inline:
        sheet.rows.append(["Selected Parameter", "Dated : 24th February 2021", "Time : 11:20:24",
                           "Report Name : Monthly Data Item wise report", f"Facility Type : {CHC}", "Category : All"])
        sheet.rows.append(["Urban / Rural : All", "Ownership : All", "Facility Status : Open",
                           "Report Type : Across Facility", f"Selected Period : {selected}"])
    else:
        sheet.rows.append([" Selected Parameter ", " Dated :", "24th February 2021", "Time :", "11:20:24",
                           "Report Name :", "Monthly Data Item wise report", "Facility Type :", CHC,
                           "Category :", "All"])
        sheet.rows.append([" Urban / Rural :", "All", "Ownership :", "All", "Facility Status :", "Open",
                           "Report Type :", "Across Facility", "Selected Period :", selected])
    return sheet


def to_html(sheet: Sheet) -> bytes:
    """The portal's ".xls": an HTML table, spans as colspan/rowspan, blanks as &nbsp;."""
    covered, origin = set(), {}
    for r, c, rows, cols in sheet.merges:
        origin[(r, c)] = (rows, cols)
        covered |= {(r + i, c + j) for i in range(rows) for j in range(cols)} - {(r, c)}
    out = ['<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8">',
           '<style>td { mso-number-format:"\\@"; }</style></head><body>', '<table border="1">']
    for r, row in enumerate(sheet.rows):
        tag = "th" if 1 < r < sheet.header_rows else "td"
        out.append("<tr>")
        for c, text in enumerate(row):
            if (r, c) in covered:
                continue
            rows, cols = origin.get((r, c), (1, 1))
            span = (f' rowspan="{rows}"' if rows > 1 else "") + (f' colspan="{cols}"' if cols > 1 else "")
            body = html.escape(text) if text.strip() else "&nbsp;"
            if r == 0:
                body = f"<b>{body}</b>"
            out.append(f"<{tag}{span}>\n    {body}\n  </{tag}>")
        out.append("</tr>")
    out.append("</table></body></html>")
    return "\n".join(out).encode("utf-8")


def to_csv(sheet: Sheet, index=True, bom=True) -> bytes:
    """The report re-saved by pandas (read_excel, then to_csv): the title row became the
    header (its other cells "Unnamed: n"), every row gained a leading index."""
    width = max(len(row) for row in sheet.rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for number, row in enumerate(sheet.rows):
        row = row + [""] * (width - len(row))
        if number == 0 and index:
            row = [row[0]] + [f"Unnamed: {n}" for n in range(1, width)]
        writer.writerow(([""] if number == 0 else [str(number - 1)]) + row if index else row)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheet: Sheet, top=2, left=1) -> bytes:
    """A workbook copy: merged title and section cells, numbers as numbers (stored as 42.0, as
    Apache POI and other writers store them), the supply date as a date, the sheet shifted
    down and right."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "Report"
    for r, row in enumerate(sheet.rows):
        for c, text in enumerate(row):
            if not text:
                continue
            value = text
            if r >= sheet.header_rows and text.isdigit() and c > 0:
                value = int(text)
            elif r >= sheet.header_rows and len(text) == 10 and text[2] == "/" and text[5] == "/":
                value = datetime(int(text[6:]), int(text[3:5]), int(text[:2]))
            ws.cell(row=top + r + 1, column=left + c + 1, value=value)
    for r, c, rows, cols in sheet.merges:
        ws.merge_cells(start_row=top + r + 1, start_column=left + c + 1,
                       end_row=top + r + rows, end_column=left + c + cols)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename.startswith("xl/worksheets/sheet"):
                content = re.sub(rb'(t="n"><v>)(\d+)(</v>)', rb"\1\2.0\3", content)
                assert b".0</v>" in content
            target.writestr(entry, content)
    return out.getvalue()


def read(data: bytes, name="report.xls") -> PortalReport:
    return read_portal_report(data, name, LIMIT)


def by_code(report: PortalReport, period="2020-06"):
    return {row.facility_code: row for row in report.rows if row.period == period}


# --------------------------------------------------------------------------- the three forms


def check_june_report(report: PortalReport):
    """What every form of the Jun-2020 report must give."""
    assert report.title == "Monthly Data Item Wise Report Across Facility From Jun-2020 To Jun-2020"
    assert report.data_as_on == datetime(2021, 2, 24, 11, 20, 24, tzinfo=REPORTING_TZ)
    assert report.periods == ("2020-06",)
    assert report.facility_type == CHC and report.facility_type_code == "CHC"
    assert report.items == ITEMS
    assert [row.facility_code for row in report.rows] == ["100201", "100202", "100203", "100204"]
    rows = by_code(report)
    for descr, values in FACILITIES:
        row = rows[descr["Facility Code"]]
        assert row.values == values
        assert row.reported is bool(values)
        assert row.problem is None
        assert row.period == "2020-06"
        assert row.descriptors["facility_name"] == descr["Facility Name"]
        assert row.descriptors["facility_type"] == CHC
    agroha = rows["100201"]
    assert agroha.lgd == {"state": "6", "district": "63", "sub_district": "394", "block": "485"}
    assert {k: agroha.descriptors[k] for k in ("state", "district", "sub_district", "block")} == {
        "state": "Haryana", "district": "Hisar", "sub_district": "Hisar", "block": "Agroha"}
    assert agroha.descriptors["nin"] == "1112382260"
    assert agroha.descriptors["rural_urban"] == "Rural" and agroha.descriptors["ownership"] == "Public"
    assert agroha.descriptors["status"] == "Open" and agroha.descriptors["serial"] == "1"
    assert rows["100203"].lgd["sub_district"] == "6441" and rows["100203"].descriptors["sub_district"] == "Uklana ST"
    assert report.footer["selected_period"] == "Jun-2020 To Jun-2020"
    assert report.footer["report_type"] == "Across Facility"


def test_the_portals_html_xls_download_is_read():
    data = (FIXTURES / "chc_hisar_2020-06.xls").read_bytes()
    assert b"&nbsp;" in data and b"colspan" in data and b"rowspan" in data   # the fixture keeps the oddities
    report = read(data, "chc_hisar_2020-06.xls")
    assert report.form == "html"
    check_june_report(report)
    # An item name longer than a data cell may be (5.1 has 166 characters) is kept whole.
    assert dict(report.items)["5.1"].endswith("Sepsis, Eclampsia and others)")
    # Rows are numbered as the table's rows: title, data as on, header, items, then facilities.
    assert [row.line for row in report.rows] == [5, 6, 7, 8]


def test_a_csv_resaved_with_an_index_column_and_a_byte_order_mark_is_read():
    data = (FIXTURES / "chc_hisar_2020-06_resaved.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf,Monthly Data Item Wise Report") and b"Unnamed: 1" in data
    report = read(data, "chc_hisar_2020-06_resaved.csv")
    assert report.form == "csv"
    check_june_report(report)
    assert [row.line for row in report.rows] == [5, 6, 7, 8]     # CSV lines


def test_an_xlsx_copy_with_merged_sections_and_shifted_rows_is_read():
    data = to_xlsx(build())
    report = read(data, "copy.xlsx")
    assert report.form == "xlsx"
    check_june_report(report)   # numbers stored as 42.0 read as "42", the date as 27/05/2020
    assert [row.line for row in report.rows] == [7, 8, 9, 10]    # Excel's row numbers, two rows shifted


def test_the_form_is_told_by_content_not_by_the_name():
    assert read(to_html(build()), "report.csv").form == "html"
    assert read(to_xlsx(build()), "report.xls").form == "xlsx"
    assert read(to_csv(build(), index=False, bom=False), "report.xls").form == "csv"


def test_the_committed_fixtures_are_what_the_builder_makes():
    """So the fixtures show exactly what the variants below are variants of."""
    assert (FIXTURES / "chc_hisar_2020-06.xls").read_bytes() == to_html(build())
    assert (FIXTURES / "chc_hisar_2020-06_resaved.csv").read_bytes() == to_csv(build(footer_inline=False))


def test_footer_labels_and_values_in_one_cell_are_read_too():
    report = read(to_csv(build(footer_inline=True)))
    assert report.footer["facility_type"] == CHC and report.footer["selected_period"] == "Jun-2020 To Jun-2020"
    assert report.footer["dated"] == "24th February 2021" and report.footer["time"] == "11:20:24"


# --------------------------------------------------------------------------- facilities and months


def test_a_facility_whose_item_cells_are_all_blank_sent_nothing():
    report = read(to_html(build()))
    uklana = by_code(report)["100203"]
    assert uklana.reported is False and uklana.values == {} and uklana.problem is None
    assert uklana.descriptors["facility_name"] == "CHC Uklana"
    assert [row.reported for row in report.rows] == [True, True, False, True]
    with pytest.raises(SubmissionError, match="sent nothing for 2020-06"):
        to_submission_csv(report, uklana, "HR-HIS-0003")


@pytest.mark.parametrize("form", [to_html, to_csv, to_xlsx])
@pytest.mark.parametrize("layout", ["column", "blocks"])
def test_a_multi_month_report_gives_each_row_its_month(form, layout):
    periods = ("2020-04", "2020-05", "2020-06")
    report = read(form(build(periods=periods, layout=layout)))
    assert report.periods == periods
    assert report.title.endswith("From Apr-2020 To Jun-2020")
    assert [row.period for row in report.rows] == [p for p in periods for _ in FACILITIES]
    for shift, period in enumerate(periods):
        agroha = by_code(report, period)["100201"]
        assert agroha.values["1.1"] == str(42 + shift) and agroha.values["16.1.2.a"] == "Adequate"
        assert agroha.problem is None
        assert by_code(report, period)["100203"].reported is False


def test_a_multi_month_report_whose_rows_carry_no_month_is_refused():
    sheet = build(periods=("2020-04", "2020-05", "2020-06"), layout="single")
    with pytest.raises(SubmissionError, match=r"covers 3 months \(2020-04 to 2020-06\).*one month at a time"):
        read(to_csv(sheet))


def test_a_row_for_a_month_outside_the_report_is_that_rows_problem():
    sheet = build(periods=("2020-05", "2020-06"), layout="column")
    sheet.rows[sheet.header_rows + 1][len(DESCRIPTORS)] = "Aug-2020"    # CHC Barwala, first month
    report = read(to_csv(sheet))
    problems = {(row.facility_code, row.period): row.problem for row in report.rows if row.problem}
    assert list(problems) == [("100202", "2020-08")]
    assert "outside the report's period 2020-05 to 2020-06" in problems[("100202", "2020-08")]


def test_a_multi_month_csv_from_pandas_keeps_the_month_cells_excel_turned_into_dates():
    sheet = build(periods=("2020-05", "2020-06"), layout="column")
    for row in sheet.rows[sheet.header_rows:sheet.header_rows + 8]:
        row[len(DESCRIPTORS)] = {"May-2020": "2020-05-01 00:00:00", "Jun-2020": "01/06/2020"}[row[len(DESCRIPTORS)]]
    report = read(to_csv(sheet))
    assert [row.period for row in report.rows] == ["2020-05"] * 4 + ["2020-06"] * 4
    assert all(row.problem is None for row in report.rows)


def test_a_blank_month_cell_or_a_row_above_the_first_month_heading_is_that_rows_problem():
    sheet = build(periods=("2020-05", "2020-06"), layout="column")
    sheet.rows[sheet.header_rows + 2][len(DESCRIPTORS)] = ""                  # CHC Uklana, May
    report = read(to_html(sheet))
    assert [(row.facility_code, row.period) for row in report.rows if row.problem] == [("100203", None)]
    assert "the Month cell is blank" in report.rows[2].problem
    sheet = build(periods=("2020-05", "2020-06"), layout="blocks")
    del sheet.rows[sheet.header_rows]                                         # the May heading
    report = read(to_csv(sheet))
    assert [row.problem is not None for row in report.rows] == [True] * 4 + [False] * 4
    assert "before the first month heading" in report.rows[0].problem


def test_a_total_row_is_no_facility():
    sheet = build()
    sheet.rows.insert(sheet.header_rows + 4, ["Total"] + [""] * (len(DESCRIPTORS) - 1) + ["115"] * len(ITEMS))
    report = read(to_csv(sheet))
    assert [row.facility_code for row in report.rows] == ["100201", "100202", "100203", "100204"]


def test_a_twelve_digit_number_in_an_item_cell_is_only_that_rows_problem():
    digits = "987654321012"
    for form in (to_html, to_csv, to_xlsx):
        report = read(form(build(overrides={(1, "2020-06"): {"1.2.1": digits}})))
        rows = by_code(report)
        barwala = rows["100202"]
        assert barwala.problem is not None
        assert "CHC Barwala" in barwala.problem and "item 1.2.1" in barwala.problem
        assert "12-digit number" in barwala.problem and digits not in barwala.problem
        assert "1.2.1" not in barwala.values and barwala.values["1.1"] == "55"
        assert [code for code, row in rows.items() if row.problem] == ["100202"]
        with pytest.raises(SubmissionError, match="cannot be loaded"):
            to_submission_csv(report, barwala, "HR-HIS-0002")


def test_a_formula_or_a_multi_line_descriptor_cell_is_that_rows_problem():
    sheet = build()
    sheet.rows[sheet.header_rows][DESCRIPTORS.index("Bed Count")] = "=SUM(A1:A9)"       # CHC Agroha
    sheet.rows[sheet.header_rows + 3][DESCRIPTORS.index("Category")] = "24X7\nFRU"     # CHC Adampur
    report = read(to_csv(sheet))
    rows = by_code(report)
    assert "'Bed Count' cell holds a spreadsheet formula" in rows["100201"].problem
    assert "SUM" not in rows["100201"].problem and "bed_count" not in rows["100201"].descriptors
    assert "'Category' cell runs over several lines" in rows["100204"].problem
    assert rows["100202"].problem is None and rows["100203"].problem is None


def test_a_nin_is_kept_when_it_is_ten_digits_and_screened_otherwise():
    sheet = build()
    sheet.rows[sheet.header_rows + 1][DESCRIPTORS.index("Facility NIN Number")] = "98765 432101"
    rows = by_code(read(to_csv(sheet)))
    assert rows["100201"].descriptors["nin"] == "1112382260" and rows["100201"].problem is None
    assert "'Facility NIN Number' cell holds a 11-digit number" in rows["100202"].problem
    assert "nin" not in rows["100202"].descriptors


def test_the_same_facility_twice_in_a_month_is_a_problem_of_both_rows():
    sheet = build()
    sheet.rows[sheet.header_rows + 3][DESCRIPTORS.index("Facility Code")] = "100201"
    report = read(to_csv(sheet))
    flagged = [row.line for row in report.rows if row.problem]
    assert flagged == [5, 8]
    assert all("appears 2 times for 2020-06 (rows 5, 8)" in row.problem for row in report.rows if row.problem)


@pytest.mark.parametrize(("agroha", "barwala", "expected"), [
    # The real re-saved CSV: dates with a day above 12 stayed text, the others were read month
    # first (2 June became 6 February, written 2020-02-06 00:00:00) — so they are turned back.
    ("27/05/2020", "2020-02-06 00:00:00", "02/06/2020"),
    # A stored date with a day above 12 shows a day-first reader: dates are taken as stored.
    ("2020-05-27 00:00:00", "2020-06-05 00:00:00", "05/06/2020"),
    # No sign either way: taken as stored.
    ("", "2020-06-05", "05/06/2020"),
])
def test_dates_a_spreadsheet_made_of_the_portals_text_are_turned_back_into_it(agroha, barwala, expected):
    overrides = {(0, "2020-06"): {"16.1.1": agroha}, (1, "2020-06"): {"16.1.1": barwala}}
    rows = by_code(read(to_csv(build(overrides=overrides))))
    assert rows["100202"].values["16.1.1"] == expected and rows["100202"].problem is None
    assert rows["100201"].values.get("16.1.1", "") in ("", "27/05/2020")


def test_a_date_that_could_be_either_way_round_in_a_file_showing_both_readers_is_its_rows_problem():
    overrides = {(0, "2020-06"): {"16.1.1": "27/05/2020"}, (1, "2020-06"): {"16.1.1": "2020-02-06 00:00:00"},
                 (3, "2020-06"): {"16.1.1": "2020-05-28 00:00:00"}}
    rows = by_code(read(to_csv(build(overrides=overrides))))
    assert "item 16.1.1 cell holds a date a spreadsheet tool converted" in rows["100202"].problem
    assert "16.1.1" not in rows["100202"].values and rows["100202"].values["1.1"] == "55"
    assert rows["100204"].values["16.1.1"] == "28/05/2020" and rows["100204"].problem is None
    assert rows["100201"].values["16.1.1"] == "27/05/2020" and rows["100201"].problem is None


def test_an_excel_date_in_a_date_item_is_read_as_the_portal_prints_it():
    overrides = {(0, "2020-06"): {"16.1.1": "05/06/2020"}}    # the builder stores it as an Excel date
    rows = by_code(read(to_xlsx(build(overrides=overrides))))
    assert rows["100201"].values["16.1.1"] == "05/06/2020" and rows["100201"].problem is None


def test_a_facility_of_another_type_is_that_rows_problem():
    sheet = build()
    sheet.rows[sheet.header_rows + 2][DESCRIPTORS.index("Facility Type")] = "Primary Health Centre"
    rows = by_code(read(to_html(sheet)))
    assert "is a 'Primary Health Centre' but the report holds 'Community Health Centre'" in rows["100203"].problem
    assert rows["100201"].problem is None


# --------------------------------------------------------------------------- "Data as on"


@pytest.mark.parametrize(("text", "expected"), [
    ("Data as on 24th February 2021 11:20:24 AM", datetime(2021, 2, 24, 11, 20, 24)),
    ("Data as on 1st March 2021 12:05:00 AM", datetime(2021, 3, 1, 0, 5, 0)),
    ("Data as on 22nd Mar 2021 04:30 PM", datetime(2021, 3, 22, 16, 30, 0)),
    ("Data as on : 24-Feb-2021 16:07:09", datetime(2021, 2, 24, 16, 7, 9)),
    ("Data as on 24/02/2021 11:20:24 AM", datetime(2021, 2, 24, 11, 20, 24)),
    ("Data as on 2021-02-24 11:20:24", datetime(2021, 2, 24, 11, 20, 24)),
    ("Data as on February 24, 2021", datetime(2021, 2, 24)),
    ("Data as on 3rd June 2021 11:20:24 AM IST", datetime(2021, 6, 3, 11, 20, 24)),
])
def test_the_data_as_on_moment_is_read_in_india_time(text, expected):
    report = read(to_html(build(data_as_on=text)))
    assert report.data_as_on == expected.replace(tzinfo=REPORTING_TZ)


@pytest.mark.parametrize("text", ["Data as on 31st February 2021 11:20:24 AM", "Data as on yesterday",
                                  "Data as on 24th February 2021 13:20:24 PM"])
def test_a_data_as_on_that_is_no_moment_is_none_and_does_not_reject(text):
    sheet = build(data_as_on=text)
    sheet.rows = [row for row in sheet.rows if not row[0].startswith(" Selected")]   # no footer date either
    report = read(to_csv(sheet))
    assert report.data_as_on is None and len(report.rows) == 4


def test_without_a_data_as_on_row_the_footers_date_and_time_are_used():
    report = read(to_csv(build(data_as_on=None)))
    assert report.data_as_on == datetime(2021, 2, 24, 11, 20, 24, tzinfo=REPORTING_TZ)


# --------------------------------------------------------------------------- not a report


def test_a_plain_long_csv_is_not_a_portal_report():
    data = b"facility_id,period,item_code,value\nHR-HIS-0001,2020-06,1.1,12\n"
    with pytest.raises(SubmissionError, match="facility's monthly file.*not the portal's"):
        read(data, "HR-HIS-0001.csv")


@pytest.mark.parametrize(("data", "words"), [
    (b"name,count\nAgroha,3\n", "no row names the descriptor columns"),
    (b"", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old Excel 97-2003"),
    (b"<html><body><p>Session expired, please log in</p></body></html>", "holds no <table>"),
])
def test_files_that_are_no_report_are_refused_with_a_reason(data, words):
    with pytest.raises(SubmissionError, match=words):
        read(data)


def test_a_report_without_its_item_row_is_refused():
    sheet = build()
    del sheet.rows[sheet.header_rows - 1]
    with pytest.raises(SubmissionError, match="no item row follows it"):
        read(to_csv(sheet))


def test_an_item_cell_without_its_code_is_refused():
    sheet = build()
    sheet.rows[sheet.header_rows - 1][len(DESCRIPTORS) + 2] = "Number of PW given TT1/ Td1"
    with pytest.raises(SubmissionError, match=r"column X holds 'Number of PW given TT1/ Td1', which is not an item"):
        read(to_csv(sheet, index=True))


def test_an_item_row_naming_one_code_twice_is_refused():
    sheet = build()
    sheet.rows[sheet.header_rows - 1][len(DESCRIPTORS) + 1] = "1.1 Total number of pregnant women registered for ANC"
    with pytest.raises(SubmissionError, match="item 1.1 appears twice"):
        read(to_html(sheet))


def test_an_identifier_in_a_header_cell_rejects_the_whole_report():
    sheet = build()
    sheet.rows[sheet.header_rows - 1][-1] = "17.1 Infant deaths, call 9876543210 " + "x" * 90   # long, too
    with pytest.raises(SubmissionError, match="10-digit number") as caught:
        read(to_html(sheet))
    assert "9876543210" not in str(caught.value)


def test_a_title_and_footer_naming_different_months_are_refused():
    with pytest.raises(SubmissionError, match="title names 2020-06 to 2020-06 but the footer"):
        read(to_csv(build(selected="May-2020 To May-2020")))


def test_another_report_type_is_refused():
    sheet = build()
    sheet.rows[-1][7] = "Across Block"
    with pytest.raises(SubmissionError, match="report type is 'Across Block'"):
        read(to_csv(sheet))


def test_size_limit_and_archives():
    data = to_html(build())
    with pytest.raises(SubmissionError, match="over the limit"):
        read_portal_report(data, "big.xls", len(data) - 1)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("report.xls", data)
    with pytest.raises(SubmissionError, match="archives are never opened"):
        read(archive.getvalue(), "report.zip")


# --------------------------------------------------------------------------- the long CSV


def test_a_row_becomes_the_projects_long_csv_in_report_order():
    report = read((FIXTURES / "chc_hisar_2020-06.xls").read_bytes())
    agroha = by_code(report)["100201"]
    data = to_submission_csv(report, agroha, "HR-HIS-0001")
    assert data.decode().splitlines()[:3] == [
        "facility_id,period,item_code,value", "HR-HIS-0001,2020-06,1.1,42", "HR-HIS-0001,2020-06,1.1.1,30"]
    frame = parse_csv(data)
    assert frame["item_code"].tolist() == [code for code in CODES if code in FACILITIES[0][1]]
    assert dict(zip(frame["item_code"], frame["value_raw"])) == FACILITIES[0][1]
    assert set(frame["facility_id"]) == {"HR-HIS-0001"} and set(frame["period"]) == {"2020-06"}
