"""The report page's reconciliation with the HMIS portal, from made-up data (no database)."""

from datetime import datetime
from html.parser import HTMLParser

import pytest

from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.report import sections
from hmis.report.page import render_page
from hmis.report.queries import Rates, Reconciliation, ReconciliationRow, ReportData
from hmis.templates import render

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
PERIOD = "2026-10"
PULL = "portal/2026-11-07/20261107T110000__A-Haryana_Oct.xls"
NASTY = 'Deliveries <b>at</b> "home" & more'


class Elements(HTMLParser):
    """Every element's tag, attributes and text (its descendants' included); what is left open."""

    VOID = {"br", "meta", "link", "img", "hr", "input", "wbr"}

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict, list[str]]] = []
        self.open: list[tuple[str, dict, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        element = (tag, dict(attrs), [])
        self.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element[2].append(data)


def _parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def _text(element) -> str:
    return " ".join("".join(element[2]).split())


def _data(reconciliation: list[Reconciliation] | None) -> ReportData:
    return ReportData(
        district="Hisar", state="Haryana", period=PERIOD, periods=[PERIOD], as_of=AS_OF, due_at=due_at(PERIOD),
        blocks=["Adampur"], district_rates={PERIOD: Rates(1, 1, 1, 1.0, 1.0)}, block_rates={}, facilities=[],
        statuses={}, block_officers={},
        item_names={"1.1.1": ("ANC registered within 1st trimester", "पहली तिमाही में पंजीकृत"),
                    "2.1": (NASTY, None), "10.1": ("Children fully immunised", "पूर्ण प्रतिरक्षित बच्चे"),
                    "17.1": ("Vaccine - DPT", None)},
        reconciliation=reconciliation,
    )


def _reconciled() -> list[Reconciliation]:
    month = Reconciliation("month", PULL, datetime(2026, 11, 7, 5, 30, tzinfo=REPORTING_TZ), 300, 296, [
        ReconciliationRow("10.1", "TOTAL", 1234, 1241, -7, "differs"),
        ReconciliationRow("2.1", "TOTAL", 5012, 5009, 3, "differs"),
        ReconciliationRow("17.1", "2. Stocks Received", None, 42, -42, "only_portal"),
        ReconciliationRow("1.1.1", "TOTAL", 17, None, 17, "only_ours"),
    ])
    year = Reconciliation("financial_year_to_date", PULL.replace("Oct", "UpTo_Oct"), None, 300, 300, [])
    return [month, year]


def test_the_section_lists_each_difference_in_the_formats_order_with_its_figures():
    shaped = sections.reconciliation(_data(_reconciled()))
    assert shaped["available"] is True
    month, year = shaped["reports"]
    assert month["basis"] == "month" and month["pull"] == "A-Haryana_Oct.xls"
    assert month["status_as_on"] == datetime(2026, 11, 7, 5, 30, tzinfo=REPORTING_TZ)
    assert month["counts"] == {"differs": 2, "only_ours": 1, "only_portal": 1}
    assert [(r["item_code"], r["ours"], r["portal"], r["difference"], r["status"]) for r in month["rows"]] == [
        ("1.1.1", "17", "–", "+17", "only_ours"),
        ("2.1", "5,012", "5,009", "+3", "differs"),
        ("10.1", "1,234", "1,241", "−7", "differs"),
        ("17.1", "–", "42", "−42", "only_portal"),
    ]
    assert month["rows"][3]["sub_item"] == "2. Stocks Received" and month["rows"][0]["sub_item"] is None
    assert month["rows"][0]["name_hi"] == "पहली तिमाही में पंजीकृत" and month["rows"][1]["name_hi"] is None
    assert year["rows"] == [] and year["matching"] == year["compared"] == 300


def test_the_page_shows_the_differences_in_english_and_hindi():
    page = render_page(_data(_reconciled()))
    parsed = _parse(page)
    assert not parsed.open, "every element is closed"
    section = next(e for e in parsed.elements if e[0] == "section" and e[1].get("id") == "reconciliation")
    heading = next(e for e in parsed.elements if e[0] == "h2" and "Reconciliation" in _text(e))
    assert _text(heading) == "Reconciliation with the HMIS portalएचएमआईएस पोर्टल के आँकड़ों से मिलान"
    assert any(e[0] == "span" and e[1].get("lang") == "hi" and e[1].get("class") == "hi"
               and "एचएमआईएस पोर्टल" in _text(e) for e in parsed.elements)
    rows = [e for e in parsed.elements if e[0] == "tr" and "data-item" in e[1]]
    assert [(r[1]["data-item"], r[1]["data-status"]) for r in rows] == [
        ("1.1.1", "only_ours"), ("2.1", "differs"), ("10.1", "differs"), ("17.1", "only_portal")]
    start = parsed.elements.index(rows[2])
    cells = [_text(e) for e in parsed.elements[start + 1:parsed.elements.index(rows[3])] if e[0] in ("td", "th")]
    assert cells == ["10.1", "Children fully immunisedपूर्ण प्रतिरक्षित बच्चे", "1,234", "1,241", "−7",
                     "≠ differs / अंतर है"]
    assert "Vaccine - DPT — 2. Stocks Received" in _text(rows[3]) and "केवल पोर्टल पर" in _text(rows[3])
    assert "केवल हमारे आँकड़ों में" in _text(rows[0])
    headings = [_text(e) for e in parsed.elements if e[0] == "th" and e[1].get("scope") == "col"]
    for english, hindi in (("Item", "मद"), ("Ours", "हमारे आँकड़े"), ("Portal", "पोर्टल"),
                           ("Difference", "अंतर"), ("Status", "स्थिति")):
        assert f"{english} {hindi}" in headings
    text = _text(section)
    assert "4 of 300 items differ" in text and "2 differ, 1 only in our figures, 1 only on the portal" in text
    assert "A-Haryana_Oct.xls, status as on 7 November 2026 05:30 IST" in text
    assert "अक्टूबर 2026: 4 मदों में हमारे और एचएमआईएस पोर्टल के आँकड़ों में अंतर है।" in text
    # The cumulative report agreed everywhere.
    assert ("All 300 items of our district totals agree with the HMIS portal's Data ItemWise Report for "
            "April to October 2026 (financial year to date) (A-Haryana_UpTo_Oct.xls)") in text
    # A name is text, never markup.
    assert "<b>at</b>" not in page and "Deliveries &lt;b&gt;at&lt;/b&gt; &#34;home&#34; &amp; more" in page


def test_without_a_reconciliation_the_page_leaves_the_section_out():
    data = _data(None)
    assert sections.reconciliation(data) == {"available": False, "district": "Hisar", "period": PERIOD,
                                             "reports": []}
    page = render_page(data)
    assert 'id="reconciliation"' not in page and "Reconciliation with" not in page
    assert render("report/reconciliation.html", **sections.page(data)).strip() == ""
    # An empty list (a mart without rows for the month) is no reconciliation either.
    assert 'id="reconciliation"' not in render_page(_data([]))
