"""The portal's district-level "Data ItemWise Report" is read from each form it circulates in.

The sheets are shaped like the real download (the Andhra Pradesh workbooks of FY 2021-22 named
in /work/shared/reference/README.md, here for Hisar and two of its blocks): three title rows and
a legend, a header of the kind of area spanning every area, area names (with LGD codes) each
spanning five columns and the five labels under each, then item rows of section, ``'<code>``,
name and sub-item, with the section merged over its items and a stock item's name over its
five rows. ``tests/fixtures/portal_itemwise/`` holds the committed copies: the HTML ".xls" of
April 2021, the same month as ``.xlsx`` (floats, blank strings, merged cells, the sheet size
declared as "A1" as the portal writes it) and the cumulative report to June 2021 re-saved as
CSV by pandas (index column, thousands separators). The builder below makes them and the
variants.
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

from hmis.ingest.parse import SubmissionError
from hmis.ingest.portal_itemwise import COLUMNS, ItemwiseReport, read_itemwise_report
from hmis.reference.formats import STOCK_SUB_ITEMS, TOTAL, load_catalogue
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "portal_itemwise"
LIMIT = 5 * 1024 * 1024

AREAS = ("Hisar(63)", "Adampur(484)", "Agroha(485)")
SECTIONS = {1: "M1 [Ante Natal Care (ANC)]", 8: "M8 [Family Planning]", 9: "M9 [CHILD IMMUNISATION]",
            17: "M17 [Vaccines]", 24: "M24 [Maternal Death Reviews (MDR) Done]", 26: "M26 [Other]"}
UNKNOWN = ("26.1", "Number of ABHA health accounts created (an item the 2017 formats do not have)")
BLANK = (None,) * 5
B, R, U, D, T = STOCK_SUB_ITEMS
# (code, sub-item) -> the five columns (Total, Public, Private, Urban, Rural) of each area
MONTH = {
    ("1.1", TOTAL): [(3412, 2890, 522, 1204, 2208), (298, 298, 0, 0, 298), (251, 251, 0, 0, 251)],
    ("1.1.1", TOTAL): [(2967, 2521, 446, 1012, 1955), (262, 262, 0, 0, 262), (219, 219, 0, 0, 219)],
    ("8.13", TOTAL): [(112345, 101200, 11145, 40210, 72135), (9012, 9012, 0, 0, 9012), (7344, 7344, 0, 0, 7344)],
    ("9.1.2", TOTAL): [(3105, 2204, 901, 1588, 1517), (201, 201, 0, 0, 201), (187, 187, 0, 0, 187)],
    ("17.1", B): [(12450, 12450, 0, 3100, 9350), (910, 910, 0, 0, 910), (845, 845, 0, 0, 845)],
    ("17.1", R): [(20000, 20000, 0, 5000, 15000), (1500, 1500, 0, 0, 1500), (1400, 1400, 0, 0, 1400)],
    ("17.1", U): [(120, 120, 0, 30, 90), (10, 10, 0, 0, 10), (8, 8, 0, 0, 8)],
    ("17.1", D): [(18230, 18230, 0, 4410, 13820), (1380, 1380, 0, 0, 1380), (1210, 1210, 0, 0, 1210)],
    ("17.1", T): [(14100, 14100, 0, 3660, 10440), (1020, 1020, 0, 0, 1020), (1027, 1027, 0, 0, 1027)],
    ("24.2", TOTAL): [(1, None, None, None, None), BLANK, BLANK],
    (UNKNOWN[0], TOTAL): [(7, 7, 0, 2, 5), (1, 1, 0, 0, 1), (0, 0, 0, 0, 0)],
}
# April to June: three times the month is near enough for a reader's test.
CUMULATIVE = {key: [tuple(None if v is None else 3 * v for v in five) for five in areas]
              for key, areas in MONTH.items()}
_CATALOGUE = load_catalogue()
LEGEND = ("Total [(A+B) OR (C+D)] =[(\xa0Public Facilities + Private Facilities) OR "
          "(Rural Facilities + Urban Facilities)]")
LABELS = ("Total [(A+B) or (C+D)]", "Public [A]", "Private [B]", "Urban [C]", "Rural [D]")


def name_of(code: str) -> str:
    item = _CATALOGUE.item(_CATALOGUE.anchor, code)
    return item.name if item else UNKNOWN[1]


def build(data=None, *, state="Haryana", month="Apr-2021", fy="2021-2022", status="21 Jun 2021,10:49:13",
          areas=AREAS, area_label="Blocks", cells=None, title_extra=()) -> dict:
    """The report as a sheet model: title lines, header, and item rows of
    (section, code cell, name, sub-item, 5 x areas value cells). ``cells`` overrides single
    value cells: {(code, sub-item, area index, column index): text}."""
    data = MONTH if data is None else data
    titles = [f"Data ItemWise Report for {state}", f"Provisional Figures for - {fy} and Month - {month}",
              f"Status As On: {status}", *title_extra, LEGEND]
    items = []
    for (code, sub), per_area in data.items():
        values = [v for five in per_area for v in five]
        for (c, s, area, column), text in (cells or {}).items():
            if (c, s) == (code, sub):
                values[area * 5 + column] = text
        items.append([SECTIONS[int(code.split(".")[0])], f"'{code}", name_of(code), sub, *values])
    return {"titles": titles, "area_label": area_label, "areas": list(areas), "labels": list(LABELS),
            "items": items}


def _runs(items, column):
    """Lengths of the runs of equal cells in one descriptor column (the portal merges them)."""
    runs, start = {}, 0
    for index in range(1, len(items) + 1):
        if index == len(items) or items[index][column] != items[start][column]:
            runs[start] = index - start
            start = index
    return runs


def _stock_name_runs(items):
    """Each stock item's name spans its five rows; a count item's name is its own cell."""
    runs, start = {}, 0
    for index in range(1, len(items) + 1):
        if index == len(items) or items[index][1] != items[start][1] or items[start][3] == TOTAL:
            runs[start] = index - start
            start = index
    return runs


def _h(text: str) -> str:
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


def _td(text: str, rowspan: int = 1, tag: str = "td") -> str:
    span = f' rowspan="{rowspan}"' if rowspan > 1 else ""
    return f"<{tag}{span}>{_h(text)}</{tag}>"


def to_html(sheet, *, code_rowspan=False) -> bytes:
    """As the portal's ".xls" download: one HTML table, spans for every merged cell, &nbsp; for blanks."""
    width = 4 + 5 * len(sheet["areas"])
    out = ['<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>',
           '<table border="1" cellspacing="0">']
    for title in sheet["titles"]:
        out.append(f'<tr><td colspan="{width}"><b>{_h(title)}</b></td></tr>')
    out.append(f'<tr><td colspan="{width}">&nbsp;</td></tr>')
    header = '<tr><th rowspan="3" colspan="4">&nbsp;</th>'
    if sheet["area_label"] is not None:
        header += f'<th colspan="{5 * len(sheet["areas"])}">{_h(sheet["area_label"])}</th>'
    out.append(header + "</tr>")
    out.append("<tr>" + "".join(f'<th colspan="5">{_h(a)}</th>' for a in sheet["areas"]) + "</tr>")
    out.append("<tr>" + "".join(_td(label, tag="th") for label in sheet["labels"]) * len(sheet["areas"]) + "</tr>")
    items = sheet["items"]
    sections, names = _runs(items, 0), _stock_name_runs(items)
    codes = _stock_name_runs(items) if code_rowspan else {i: 1 for i in range(len(items))}
    for index, row in enumerate(items):
        cells = []
        for column, runs in ((0, sections), (1, codes), (2, names)):
            if index in runs:
                cells.append(_td(row[column], runs[index]))
        cells.append(_td(row[3]))
        cells += ["<td>&nbsp;</td>" if v is None else f'<td align="right">{_h(str(v))}</td>' for v in row[4:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></body></html>")
    return ("\n".join(out) + "\n").encode("utf-8")


def to_grid(sheet) -> list[list]:
    """The sheet as a spreadsheet shows it: merged cells hold their text in the first cell only."""
    width = 4 + 5 * len(sheet["areas"])
    grid = [[title] + [None] * (width - 1) for title in sheet["titles"]]
    grid.append([None] * width)
    grid.append([""] + [None] * 3 + [sheet["area_label"]] + [None] * (width - 5))
    grid.append([None] * 4 + [cell for area in sheet["areas"] for cell in (area, None, None, None, None)])
    grid.append([None] * 4 + sheet["labels"] * len(sheet["areas"]))
    items = sheet["items"]
    sections, names = _runs(items, 0), _stock_name_runs(items)
    for index, row in enumerate(items):
        grid.append([row[0] if index in sections else None, row[1], row[2] if index in names else None, *row[3:]])
    return grid


def to_xlsx(sheet, *, numeric_codes=(), floats=True) -> bytes:
    """As the portal writes .xlsx: counts as floats, blank cells as empty strings, merged headers,
    sections and stock names, and the sheet's size declared as "A1". ``floats=False``: counts
    stored as whole numbers, as Excel saves them."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "Data Item Wise Report"
    grid = to_grid(sheet)
    first_item = len(grid) - len(sheet["items"]) + 1
    for r, row in enumerate(grid, start=1):
        for c, cell in enumerate(row, start=1):
            if r >= first_item and c > 4:
                cell = "" if cell is None else float(cell) if isinstance(cell, int) else cell
            elif r >= first_item and c == 2 and cell.lstrip("'") in numeric_codes:
                cell = float(cell.lstrip("'"))
            if cell is not None:
                ws.cell(r, c, cell)
    header = len(sheet["titles"]) + 2
    ws.merge_cells(start_row=header, start_column=1, end_row=header + 2, end_column=4)
    ws.merge_cells(start_row=header, start_column=5, end_row=header, end_column=4 + 5 * len(sheet["areas"]))
    for a in range(len(sheet["areas"])):
        ws.merge_cells(start_row=header + 1, start_column=5 + 5 * a, end_row=header + 1, end_column=9 + 5 * a)
    items = sheet["items"]
    for column, runs in ((1, _runs(items, 0)), (3, _stock_name_runs(items))):
        for start, length in runs.items():
            if length > 1:
                ws.merge_cells(start_row=first_item + start, start_column=column,
                               end_row=first_item + start + length - 1, end_column=column)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source, target = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1"/>', content)
                if floats:   # the portal's "3412.0"
                    content = re.sub(rb'(t="n"><v>-?\d+)(</v>)', rb"\g<1>.0\g<2>", content)
            if entry.filename == "docProps/core.xml":   # the moment of saving, fixed so the file is too
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2021-06-21T05:19:12Z", content)
            fixed = zipfile.ZipInfo(entry.filename, date_time=(2021, 6, 21, 10, 49, 12))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(fixed, content)
    return target.getvalue()


def separated(value) -> str:
    """A count as a re-saving tool writes it: Western thousands, Indian lakhs above 99,999, or a float."""
    if not isinstance(value, int):
        return "" if value is None else str(value)
    if value >= 100_000:
        head, tail = str(value)[:-3], str(value)[-3:]
        pairs = [head[max(0, i - 2):i] for i in range(len(head), 0, -2)][::-1]
        return ",".join(pairs) + "," + tail
    if value >= 1000:
        return f"{value:,}"
    return f"{value}.0"


def to_csv(sheet, *, index=True, number=separated) -> bytes:
    """As pandas re-saves the workbook read without a header: an index column and a row of column numbers."""
    grid = to_grid(sheet)
    first_item = len(grid) - len(sheet["items"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    width = len(grid[0])
    if index:
        writer.writerow(["", *range(width)])
    for r, row in enumerate(grid):
        cells = [number(c) if r >= first_item and i > 3 else ("" if c is None else c) for i, c in enumerate(row)]
        writer.writerow([r, *cells] if index else cells)
    return buffer.getvalue().encode("utf-8")


def read(data: bytes, name: str = "report.xls") -> ItemwiseReport:
    return read_itemwise_report(data, name, LIMIT)


def table(report: ItemwiseReport) -> dict:
    return {(v.area, v.item_code, v.sub_item, v.column): v.value for v in report.values}


def expected(data) -> dict:
    names = [re.sub(r"\(\d+\)$", "", area) for area in AREAS]
    return {(names[a], code, sub, COLUMNS[c]): five[c]
            for (code, sub), per_area in data.items() if code != UNKNOWN[0]
            for a, five in enumerate(per_area) for c in range(5)}


# --------------------------------------------------------------------------- the committed forms


def test_the_committed_fixtures_are_what_the_builder_makes():
    assert (FIXTURES / "hisar_blocks_2021-04.xls").read_bytes() == to_html(build())
    assert (FIXTURES / "hisar_blocks_upto_2021-06_resaved.csv").read_bytes() == to_csv(
        build(CUMULATIVE, month="Apr-2021 To Jun-2021", status="05 Jul 2021,09:02:41"))
    assert (FIXTURES / "hisar_blocks_2021-04.xlsx").read_bytes() == to_xlsx(build())


def test_the_html_download_gives_title_areas_and_every_cell():
    report = read((FIXTURES / "hisar_blocks_2021-04.xls").read_bytes(), "A-Haryana_Hisar_Apr.xls")
    assert (report.state, report.financial_year, report.period, report.cumulative) == (
        "Haryana", "2021-2022", "2021-04", False)
    assert report.status_as_on == datetime(2021, 6, 21, 10, 49, 13, tzinfo=REPORTING_TZ)
    assert report.areas == (("Hisar", "63"), ("Adampur", "484"), ("Agroha", "485"))
    assert report.area_label == "Blocks"
    assert table(report) == expected(MONTH)
    assert len(report.values) == len(expected(MONTH))   # no cell twice


def test_stock_rows_keep_their_five_sub_items():
    report = read((FIXTURES / "hisar_blocks_2021-04.xls").read_bytes())
    agroha = [(v.sub_item, v.value) for v in report.values
              if v.item_code == "17.1" and v.area == "Agroha" and v.column == "total"]
    assert agroha == list(zip(STOCK_SUB_ITEMS, (845, 1400, 8, 1210, 1027)))


def test_a_blank_cell_is_none_and_its_raw_text_empty():
    report = read((FIXTURES / "hisar_blocks_2021-04.xls").read_bytes())
    cells = {(v.area, v.column): v for v in report.values if v.item_code == "24.2"}
    assert (cells[("Hisar", "total")].value, cells[("Hisar", "total")].raw) == (1, "1")
    assert (cells[("Adampur", "rural")].value, cells[("Adampur", "rural")].raw) == (None, "")
    assert cells[("Hisar", "public")].value is None


def test_an_item_code_the_consolidation_lacks_is_listed_and_not_read():
    report = read((FIXTURES / "hisar_blocks_2021-04.xls").read_bytes())
    assert not any(v.item_code == UNKNOWN[0] for v in report.values)
    assert len(report.problems) == 1
    assert "row 19: item code 26.1 is not in the HMIS 2017 revised formats, district and state consolidation" \
        in report.problems[0]


def test_the_xlsx_with_merged_cells_float_counts_and_an_a1_size_reads_the_same():
    data = (FIXTURES / "hisar_blocks_2021-04.xlsx").read_bytes()
    assert b'<dimension ref="A1"/>' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    report = read(data, "A-Haryana_Hisar_Apr.xlsx")
    html_report = read((FIXTURES / "hisar_blocks_2021-04.xls").read_bytes())
    assert [(v.area, v.lgd, v.item_code, v.sub_item, v.column, v.value) for v in report.values] == \
        [(v.area, v.lgd, v.item_code, v.sub_item, v.column, v.value) for v in html_report.values]
    assert (report.period, report.cumulative, report.areas, report.status_as_on) == (
        html_report.period, False, html_report.areas, html_report.status_as_on)
    first = report.values[0]
    assert (first.item_code, first.value, first.raw) == ("1.1", 3412, "3412.0")
    assert report.problems == html_report.problems


def test_a_workbook_saved_again_by_excel_holds_whole_numbers_and_reads_the_same():
    report = read(to_xlsx(build(), floats=False), "report.xlsx")
    assert table(report) == expected(MONTH)
    assert (report.values[0].value, report.values[0].raw) == (3412, "3412")


def test_the_cumulative_csv_resave_reads_separators_and_floats():
    report = read((FIXTURES / "hisar_blocks_upto_2021-06_resaved.csv").read_bytes(),
                  "A-Haryana_Hisar_UpTo_Jun.csv")
    assert (report.financial_year, report.period, report.cumulative) == ("2021-2022", "2021-06", True)
    assert report.status_as_on == datetime(2021, 7, 5, 9, 2, 41, tzinfo=REPORTING_TZ)
    assert table(report) == expected(CUMULATIVE)
    raws = {(v.area, v.item_code, v.column): (v.raw, v.value) for v in report.values if v.sub_item == TOTAL}
    assert raws[("Hisar", "1.1", "total")] == ("10,236", 10236)          # Western thousands
    assert raws[("Hisar", "8.13", "total")] == ("3,37,035", 337035)      # Indian lakhs
    assert raws[("Adampur", "1.1", "total")] == ("894.0", 894)           # a float re-save
    assert [p for p in report.problems if "26.1" not in p] == []


def test_the_form_is_told_by_content_not_by_the_name():
    sheet = build()
    assert table(read(to_html(sheet), "report.csv")) == expected(MONTH)
    assert table(read(to_xlsx(sheet), "report.xls")) == expected(MONTH)
    assert table(read(to_csv(sheet, index=False), "report.xlsx")) == expected(MONTH)


def test_semicolon_separated_resaves_are_read():
    text = to_csv(build(), index=False, number=lambda v: "" if v is None else str(v)).decode()
    rows = list(csv.reader(io.StringIO(text)))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows(rows)
    assert table(read(buffer.getvalue().encode(), "report.csv")) == expected(MONTH)


# --------------------------------------------------------------------------- the month and the variant


@pytest.mark.parametrize(("month", "name", "extra", "period", "cumulative"), [
    ("Apr-2021", "A-Haryana_Hisar_Apr.xls", (), "2021-04", False),
    ("Apr-2021", "A-Haryana_UpTo_Apr.xls", (), "2021-04", True),            # the portal's cumulative file name
    ("Jun-2021", "report.xls", ("Report Type : B.Cummulative",), "2021-06", True),
    ("Apr-2021 To Sep-2021", "report.xls", (), "2021-09", True),
    ("Jan-2022", "report.xls", (), "2022-01", False),
    ("Apr-2021 To Mar-2022", "report.xls", (), "2022-03", True),
])
def test_the_title_gives_the_month_and_whether_it_is_cumulative(month, name, extra, period, cumulative):
    report = read(to_html(build(month=month, title_extra=extra)), name)
    assert (report.period, report.cumulative, report.financial_year) == (period, cumulative, "2021-2022")


def test_the_facility_report_style_of_moment_is_read_too():
    report = read(to_html(build(status="24th February 2021 11:20:24 AM")))
    assert report.status_as_on == datetime(2021, 2, 24, 11, 20, 24, tzinfo=REPORTING_TZ)


def test_an_unreadable_status_moment_is_a_problem_not_a_refusal():
    report = read(to_html(build(status="yesterday evening")))
    assert report.status_as_on is None
    assert any("'Status As On'" in p for p in report.problems)
    assert table(report) == expected(MONTH)


def test_the_state_drops_its_lgd_code():
    assert read(to_html(build(state="Haryana(6)"))).state == "Haryana"


def test_areas_without_lgd_codes_and_a_district_label():
    report = read(to_html(build(areas=("Hisar", "Adampur", "Agroha"), area_label="Sub-Districts")))
    assert report.areas == (("Hisar", None), ("Adampur", None), ("Agroha", None))
    assert report.area_label == "Sub-Districts"


# --------------------------------------------------------------------------- cells and rows with problems


def test_cells_that_hold_no_count_are_listed_by_row_item_area_and_column():
    bad = {("1.1.1", TOTAL, 1, 2): "NA", ("9.1.2", TOTAL, 2, 4): "98765 43210",
           ("1.1", TOTAL, 0, 0): "=SUM(F13:G13)", ("17.1", U, 1, 0): "12.5"}
    report = read(to_csv(build(cells=bad)), "report.csv")
    cell_problems = [p for p in report.problems if "26.1" not in p]
    assert len(cell_problems) == 4
    assert any(p.startswith("line 11 (item 1.1.1), Adampur(484) Private: the cell holds 'NA', which is not a "
                            "whole number") for p in cell_problems)
    assert any(p.startswith("line 13 (item 9.1.2), Agroha(485) Rural: the value cell holds a 10-digit number")
               for p in cell_problems)
    assert any(p.startswith("line 10 (item 1.1), Hisar(63) Total: the value cell holds a spreadsheet formula")
               for p in cell_problems)
    assert any(p.startswith("line 16 (item 17.1, 3. Unusable Stock), Adampur(484) Total: the cell holds '12.5'")
               for p in cell_problems)
    assert not any("43210" in p or "98765" in p for p in report.problems)
    values = table(report)
    assert ("Adampur", "1.1.1", TOTAL, "private") not in values and ("Hisar", "1.1", TOTAL, "total") not in values
    assert len(values) == len(expected(MONTH)) - 4
    assert values[("Hisar", "1.1", TOTAL, "public")] == 2890   # the rest of the row is read


def test_a_float_that_is_not_whole_in_a_workbook_is_a_problem():
    report = read(to_xlsx(build(cells={("1.1", TOTAL, 2, 1): 251.5})), "report.xlsx")
    assert any(p.startswith("row 9 (item 1.1), Agroha(485) Public: the cell holds 251.5, not a whole number")
               for p in report.problems)
    assert ("Agroha", "1.1", TOTAL, "public") not in table(report)


def test_a_sub_item_the_item_does_not_have_and_a_repeated_row_are_listed():
    data = dict(MONTH)
    data[("1.1", B)] = MONTH[("1.1", TOTAL)]           # a stock row on a count item
    sheet = build(data)
    sheet["items"].append(list(sheet["items"][1]))     # 1.1.1 again at the end
    report = read(to_html(sheet))
    assert any("item 1.1 has no sub-item '1. Balance From Previous Month' in the consolidation (expected TOTAL)" in p
               for p in report.problems)
    assert any("row 21 repeats item 1.1.1 (TOTAL) of row 10; the repeat was not read" in p for p in report.problems)
    assert table(report) == expected(MONTH)


def test_a_stock_item_printed_without_its_sub_items_is_listed():
    data = {key: v for key, v in MONTH.items() if key[0] != "17.1"}
    data[("17.1", TOTAL)] = MONTH[("17.1", B)]
    report = read(to_html(build(data)))
    assert any("item 17.1 has no sub-item 'TOTAL'" in p and "1. Balance From Previous Month" in p
               for p in report.problems)


def test_stock_rows_under_one_merged_code_cell_take_the_code_of_the_first():
    report = read(to_html(build(), code_rowspan=True))
    assert table(report) == expected(MONTH)
    sheet = build()
    for row in sheet["items"]:
        if row[1] == "'17.1" and row[3] != B:
            row[1] = ""
    assert table(read(to_csv(sheet), "report.csv")) == expected(MONTH)


def test_a_row_with_values_but_no_item_code_is_listed():
    sheet = build()
    sheet["items"][1][1] = "see note"
    sheet["items"].append(["", "Report generated by the HMIS portal", "", "", *([None] * 15)])   # a footer
    report = read(to_html(sheet))
    assert report.problems[0] == ("row 10 holds values but its item code cell holds 'see note', not an item code "
                                  "such as '1.1; the row was not read")
    assert len(report.problems) == 2 and "26.1" in report.problems[1]   # the footer is no problem
    assert ("Hisar", "1.1.1", TOTAL, "total") not in table(report)


def test_a_code_excel_turned_into_a_number_is_read_unless_it_is_ambiguous():
    report = read(to_xlsx(build(), numeric_codes=("1.1", "17.1")), "report.xlsx")
    assert table(report)[("Hisar", "1.1", TOTAL, "total")] == 3412
    assert not any(v.item_code in ("17.1", "17.10") for v in report.values)
    assert any("the item code is stored as the number 17.1, which could be 17.1 or 17.10" in p
               for p in report.problems)


def test_many_bad_cells_are_counted_after_the_first_hundred():
    bad = {(code, sub, a, c): "x" for (code, sub) in MONTH for a in range(3) for c in range(5)}
    report = read(to_html(build(cells=bad)))
    assert report.values == []
    assert len(report.problems) == 102   # the unknown code, 100 cells, and the count of the rest
    assert report.problems[-1].startswith("… and 50 more cells")


# --------------------------------------------------------------------------- files that cannot be read


def _without_labels(sheet):
    sheet["labels"] = ["", "", "", "", ""]
    return sheet


def _without_codes(sheet):
    for row in sheet["items"]:
        row[1] = ""
    return sheet


def _one_label_short(data: bytes) -> bytes:
    """The last area's Rural label gone (a column deleted from the header only)."""
    return b"<th>&nbsp;</th>".join(data.rsplit(b"<th>Rural [D]</th>", 1))


def _nameless_areas(sheet):
    sheet["areas"] = ["", "", ""]
    return sheet


def _nameless_area(sheet):
    sheet["areas"][1] = ""
    return sheet


@pytest.mark.parametrize(("data", "words"), [
    (to_html(_without_labels(build())), "no area header"),
    (to_html(_without_codes(build())), "no item rows"),
    (_one_label_short(to_html(build())), "column(s) 15, 16, 17, 18 are not part of a group of all five"),
    (to_html(_nameless_areas(build())), "labels the columns Total / Public / Private / Urban / Rural but no row"),
    (to_html(_nameless_area(build())), "names no area above columns 10-14"),
    (to_html(build(areas=("Hisar(63)", "Adampur(484)", "Adampur(484)"))), "heads two groups of columns"),
    (to_html(build(month="May-2021 To Jun-2021")), "only one month"),
    (to_html(build(month="Apr-2022")), "not in the financial year 2021-2022"),
    (to_html(build(fy="2021-2023")), "not a financial year"),
    (to_html(build(month="sometime")), "do not say which month"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old binary Excel 97-2003 workbook"),
    (b"PK\x05\x06" + b"\x00" * 18, "not an Excel workbook"),
    (b"", "empty"),
    ("<html><table><tr><td>x</td></tr></table>".encode("utf-16"), "UTF-16"),
])
def test_a_file_that_is_not_the_report_is_refused_with_a_reason(data, words):
    with pytest.raises(SubmissionError, match=re.escape(words)):
        read(data)


def test_a_file_over_the_limit_is_refused_before_it_is_read():
    with pytest.raises(SubmissionError, match="over the limit of 100"):
        read_itemwise_report(to_html(build()), "report.xls", 100)


def test_a_label_beyond_the_last_group_is_refused():
    data = to_html(build()).replace(b"<th>Rural [D]</th></tr>", b"<th>Rural [D]</th><th>Total</th></tr>", 1)
    with pytest.raises(SubmissionError, match=r"row 8 labels .* column\(s\) 20 are not part of a group of all five"):
        read(data)


def test_an_identifier_in_an_area_name_is_refused_without_repeating_it():
    with pytest.raises(SubmissionError) as caught:
        read(to_html(build(areas=("Hisar(63)", "Adampur 9876543210", "Agroha(485)"))))
    assert "10-digit number" in str(caught.value) and "9876543210" not in str(caught.value)
