"""The report page's and the feedback documents' templates, rendered from made-up data (no database)."""

import csv
import io
import tomllib
from datetime import date, datetime
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hmis.compliance.registration_gap import GapRow
from hmis.quality.feedback import render_csv, render_html
from hmis.quality.findings import Finding
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.report import sections
from hmis.report.page import render_page
from hmis.report.queries import Contact, Facility, Rates, ReportData, Signal, Status, Ultrasound
from hmis.templates import render

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "src" / "hmis"
AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
PERIOD = "2026-10"
NASTY = 'PHC <b>Adampur</b> & "Sons"'
SECTIONS = ("header", "summary", "block_rates", "trend", "outstanding", "signals", "ultrasound",
            "registration_gap", "heatmap", "footer")


class Text(HTMLParser):
    """Every element's tag, attributes and own text, and whether the document closes what it opens."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict, list[str]]] = []
        self.open: list[tuple[str, dict, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        element = (tag, dict(attrs), [])
        self.elements.append(element)
        if tag not in ("br", "meta", "link", "img", "hr", "input", "wbr"):
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), []))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element[2].append(data)


def _parse(page: str) -> Text:
    parser = Text()
    parser.feed(page)
    return parser


def _text(element) -> str:
    return "".join(element[2])


def report_data() -> ReportData:
    periods = [f"2025-{m:02d}" for m in range(11, 13)] + [f"2026-{m:02d}" for m in range(1, 11)]
    facilities = [Facility("F1", NASTY, "PHC", "private", "Adampur"),
                  Facility("F2", "SC Two", "SC", "public", "Adampur"),
                  Facility("F3", "CHC Three", "CHC", "public", "Barwala")]
    statuses = {("F1", "2026-09"): Status("on_time", None, due_at("2026-09")),
                ("F1", PERIOD): Status("rejected", None, due_at(PERIOD)),
                ("F2", PERIOD): Status("late", None, due_at(PERIOD)),
                ("F3", PERIOD): Status("missing", None, due_at(PERIOD))}
    return ReportData(
        district="Hisar", state="Haryana", period=PERIOD, periods=periods, as_of=AS_OF, due_at=due_at(PERIOD),
        blocks=["Adampur", "Barwala"],
        district_rates={"2026-09": Rates(3, 1, 1, 1 / 3, 1 / 3), PERIOD: Rates(3, 1, 0, 1 / 3, 0.0)},
        block_rates={"Adampur": {PERIOD: Rates(2, 1, 0, 0.5, 0.0)}},
        facilities=facilities, statuses=statuses,
        block_officers={"Adampur": Contact("Dr <Officer>", "bmo@example.org", "98100 00000")},
        item_names={"14.1.7": ("Outpatient - Dengue", "डेंगू")},
        registration_gap=[GapRow("G1", "Clinic <One>", "clinic", "private", True, "Barwala", "Hisar", "Haryana",
                                 False, None, date(2025, 4, 1), "opened_on", 605)],
        ultrasound=[Ultrasound("F1", NASTY, "Adampur", 10, 4, 0.4, 0.9, True)],
        signals=[Signal("block", "Barwala", "14.1.7", PERIOD, "C2", 924, 100.0, 266.8, True)],
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_page(report_data())


def test_a_rejected_facility_row_shows_its_status_in_both_languages_and_its_name_escaped(page):
    parsed = _parse(page)
    rows = [e for e in parsed.elements if e[0] == "tr" and "F1" in _text(e) and "Days" not in _text(e)]
    outstanding = next(r for r in rows if "rejected (errors in file)" in _text(r))
    assert "अस्वीकृत" in _text(outstanding) and "R" in _text(outstanding)
    assert NASTY in _text(outstanding)  # the name reads as written …
    assert "<b>Adampur</b>" not in page and "PHC &lt;b&gt;Adampur&lt;/b&gt; &amp; &#34;Sons&#34;" in page  # … as text
    assert "Dr &lt;Officer&gt;" in page and "Clinic &lt;One&gt;" in page
    assert not parsed.open, "every element is closed"


def test_words_come_from_the_glossary(page):
    assert "ब्लॉक" in page and "खंड" not in page  # one Hindi word for "block"
    assert "ब्लॉकवार रिपोर्टिंग एवं समय पर रिपोर्टिंग दर" in page
    assert "अक्टूबर 2026" in page and "अंतिम तिथि: 5 नवंबर 2026" in page and "स्थिति: 27 नवंबर 2026 06:00" in page
    assert "due by the end of <b>5 November 2026</b>" in page
    assert "Block Medical Officer" in page  # the glossary's role label heads the officers' column
    legend = [e for e in _parse(page).elements if e[0] == "ul" and "legend" in e[1].get("class", "")]
    assert len(legend) == 1
    for key in sections.HEATMAP_STATUSES:
        assert f'class="cell st-{key}"' in page
    assert "not expected that month / अपेक्षित नहीं" in " ".join(_text(legend[0]).split())


def test_heatmap_cells_carry_symbol_and_word_beside_the_colour(page):
    cells = [e for e in _parse(page).elements if e[0] == "td" and "cell" in e[1].get("class", "").split()]
    # Three facilities × the two months with compliance data.
    assert len(cells) == 6
    by_key = {(c[1]["data-facility"], c[1]["data-period"]): c for c in cells}
    assert _text(by_key[("F1", PERIOD)]) == "R" and "st-rejected" in by_key[("F1", PERIOD)][1]["class"]
    assert by_key[("F1", PERIOD)][1]["title"] == f"{NASTY}, October 2026: rejected (errors in file)"
    assert _text(by_key[("F2", "2026-09")]) == "·"  # not expected that month


def test_page_is_self_contained_with_charts_and_every_heading_bilingual(page):
    lowered = page.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert needle not in lowered, needle
    assert lowered.count("http") == lowered.count('xmlns="http://www.w3.org/2000/svg"') > 0
    assert "<style>" in page and ":root {" in page and "{#" not in page
    assert 'id="trend-chart"' in page and 'id="signal-chart-0"' in page and 'class="sparkline"' in page
    assert "<title id=\"trend-chart-title\">Hisar district: reporting and on-time rates by month</title>" in page
    parsed = _parse(page)
    headings = [e for e in parsed.elements if e[0] in ("h1", "h2")]
    assert len(headings) == 9  # the title and one per section but the footer
    his = [e for e in parsed.elements if e[0] == "span" and e[1].get("lang") == "hi" and "hi" in e[1].get("class", "")]
    assert len(his) == len(headings)


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_template_renders_alone(section):
    context = sections.page(report_data())
    html = render(f"report/{section}.html", **context)
    assert html.strip()
    assert "खंड" not in html
    if section not in ("header", "summary", "footer"):
        assert "<section" in html and "</section>" in html


def test_sections_without_their_tables_say_so():
    data = report_data()
    data.registration_gap = data.ultrasound = data.signals = None
    data.missing_tables = ["compliance.registration_gap", "marts.ultrasound_compliance", "marts.disease_signals"]
    page = render_page(data)
    for table in data.missing_tables:
        assert f"no {table} table yet" in page
    assert "Not yet in this warehouse: compliance.registration_gap, marts.ultrasound_compliance" in page


FINDING = Finding(7, "values_are_counts", "blocking", "value", 1, "-3", ">= 0",
                  "Item 1.1 is <negative> & must be a count", "1.1", "मद 1.1 ऋणात्मक है")


def test_feedback_page_for_a_rejected_file_in_both_languages_with_the_name_escaped():
    page = render_html({"facility_id": "F1", "name": NASTY}, PERIOD, "submissions/2026-10/F1.csv", [FINDING],
                       "rejected", AS_OF).decode("utf-8")
    assert "not accepted" in page and "स्वीकार नहीं" in page
    assert "<title>HMIS feedback — PHC &lt;b&gt;Adampur&lt;/b&gt; &amp; &#34;Sons&#34; — October 2026</title>" in page
    assert "<b>Adampur</b>" not in page
    assert "Item 1.1 is &lt;negative&gt; &amp; must be a count" in page and "मद 1.1 ऋणात्मक है" in page
    assert "(F1)" in page and "checked 27 Nov 2026" in page
    assert "समस्या और क्या करें" in page
    assert not _parse(page).open


def test_feedback_page_for_a_flagged_file_and_for_a_file_of_no_known_facility():
    flagged = render_html({"facility_id": "F1"}, PERIOD, "k", [], "flagged", AS_OF).decode("utf-8")
    assert "<b>accepted</b>" in flagged and "स्वीकार हुई" in flagged and "not accepted" not in flagged
    assert "HMIS monthly report: F1 (F1)" in flagged
    unknown = render_html({"facility_id": None}, None, "k", [], "rejected", AS_OF).decode("utf-8")
    assert "HMIS monthly report: unknown facility</h1>" in unknown and "None" not in unknown
    assert "unknown month" in unknown


def test_feedback_csv_header_comes_from_its_template():
    raw = render_csv("F1", PERIOD, "k", [FINDING])
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["facility_id", "period", "file", "severity", "check", "item_code", "problem", "समस्या"]
    assert rows[1] == ["F1", PERIOD, "k", "blocking", "values_are_counts", "1.1",
                       "Item 1.1 is <negative> & must be a count", "मद 1.1 ऋणात्मक है"]


def test_every_template_file_ships_with_the_package():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["hmis"]
    templates = [p for p in (PACKAGE / "templates").rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert any(p.parts[-2] == "report" for p in templates) and any(p.parts[-2] == "feedback" for p in templates)
    unshipped = [str(p.relative_to(PACKAGE)) for p in templates
                 if not any(fnmatch(str(p.relative_to(PACKAGE)), pattern) for pattern in patterns)]
    assert not unshipped, unshipped
    assert any(fnmatch("i18n/glossary.yaml", pattern) for pattern in patterns)


def test_chart_words_from_the_templates_are_escaped_once():
    data = report_data()
    data.blocks = ["Adampur", "Hisar & <Rural>"]
    data.block_rates["Hisar & <Rural>"] = {PERIOD: Rates(1, 1, 1, 1.0, 1.0)}
    page = render_page(data)
    assert 'aria-label="Hisar &amp; &lt;Rural&gt;, on-time rate' in page
    assert "&amp;amp;" not in page and "&amp;lt;" not in page
