"""The district compliance report: built from a real pipeline run, rendered in a real browser.

Demo data goes through ``hmis_monthly`` (real Airflow, PostgreSQL and SMTP on loopback); the
page must show what the warehouse holds — a block rates table, one heatmap cell per
facility-month with its status, the trend chart, the registration gap — load nothing from
outside, and render in headless Chromium to a screenshot that is not blank.
"""

import argparse
import os
import struct
import subprocess
import zlib
from collections import Counter
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from hmis.cli.report import register
from hmis.platform.landing import LocalStore
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import connect, migrate
from hmis.platform.warehouse import fetch_all as _rows
from hmis.reference.periods import REPORTING_TZ
from hmis.report.page import render_report, write_report
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
PERIOD = "2026-10"
CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1400, 2400)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict, parents: list["Element"]):
        self.tag, self.attrs, self.parents, self.text = tag, attrs, parents, ""

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def inside(self, tag: str, **attrs) -> bool:
        return any(p.tag == tag and all(_matches(p, k, v) for k, v in attrs.items()) for p in self.parents)


def _matches(element: Element, key: str, value: str) -> bool:
    return value in element.classes if key == "class_" else element.attrs.get(key) == value


class Collector(HTMLParser):
    """Every element of a page with its ancestors and its text (descendants' text included)."""

    def __init__(self):
        super().__init__()
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), list(self.open))
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, dict(attrs), list(self.open)))

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                break

    def handle_data(self, data):
        for element in self.open:
            element.text += data


def _parse(page: str) -> list[Element]:
    collector = Collector()
    collector.feed(page)
    assert not collector.open, f"unclosed elements: {[e.tag for e in collector.open]}"
    return collector.elements




def _render(period: str = PERIOD) -> str:
    conn = connect()
    try:
        return render_report(conn, "Hisar", period, AS_OF)
    finally:
        conn.close()


def _hmis(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hmis")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def _assert_success(dag_run):
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state).endswith("success"), states


@pytest.fixture
def pipeline(warehouse, mail_sink, landing, airflow_home, monkeypatch):
    monkeypatch.setenv("HMIS_PSEUDONYM_KEY", "test-only-pseudonym-key")
    generate(landing, AS_OF, months=3)
    _assert_success(run_dag(load_settings(), AS_OF))
    # The signals DAG fills marts.ultrasound_compliance from the demo's ultrasound lists.
    from airflow.dag_processing.dagbag import DagBag

    _assert_success(DagBag(dag_folder=str(load_settings().root / "dags")).get_dag("hmis_signals").test(
        logical_date=AS_OF))
    return landing


def test_report_shows_what_the_warehouse_holds_and_renders_in_chromium(pipeline, tmp_path, capsys):
    page = _render()
    elements = _parse(page)

    # Self-contained: no script, no stylesheet or image to fetch, nothing on the network.
    lowered = page.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert needle not in lowered, needle
    assert lowered.count("http") == lowered.count('xmlns="http://www.w3.org/2000/svg"')

    # Block rates: one row per block of the registry, numbers as in marts.reporting_rates.
    rates = {area: (expected, reported, on_time) for area, expected, reported, on_time in _rows(
        """SELECT area, expected, reported, on_time FROM marts.reporting_rates
            WHERE level = 'block' AND district = 'Hisar' AND period = %s""", (PERIOD,))}
    blocks = {b for (b,) in _rows("SELECT DISTINCT block FROM ref.facility WHERE district = 'Hisar'")}
    row_heads = [e for e in elements if e.tag == "th" and e.attrs.get("scope") == "row"
                 and e.inside("table", class_="rates") and e.inside("tbody")]
    assert {e.text.strip() for e in row_heads} == blocks == set(rates)
    rate_rows = [e for e in elements if e.tag == "tr" and e.inside("table", class_="rates") and e.inside("tbody")]
    for row in rate_rows:
        cells = [e.text.strip() for e in elements if e.tag == "td" and row in e.parents and e.parents[-1] is row]
        block = next(e.text.strip() for e in row_heads if e.parents[-1] is row)
        assert tuple(int(c) for c in cells[:3]) == rates[block]
    assert any(e.tag == "svg" and "sparkline" in e.classes for e in elements)

    # Heatmap: exactly one cell per facility and month, coloured (and labelled) by its status.
    statuses = {(f, p): s for f, p, s in _rows(
        """SELECT s.facility_id, s.period, s.status FROM compliance.facility_status s
             JOIN ref.facility f USING (facility_id) WHERE f.district = 'Hisar'""")}
    cells = [e for e in elements if e.tag == "td" and "cell" in e.classes and e.inside("table", class_="heatmap")]
    shown = {(c.attrs["data-facility"], c.attrs["data-period"]): c for c in cells}
    assert len(cells) == len(shown) == len(statuses) == 266 * 3
    assert {key: next(k[3:] for k in c.classes if k.startswith("st-")) for key, c in shown.items()} == statuses
    symbols = {"on_time": "✓", "late": "L", "missing": "✗", "rejected": "R"}
    assert all(c.text == symbols[statuses[key]] for key, c in shown.items())
    assert any(e.tag == "ul" and "legend" in e.classes for e in elements)

    # Trend chart: an SVG with a dot per month and rate.
    trend = next(e for e in elements if e.tag == "svg" and e.attrs.get("id") == "trend-chart")
    assert trend.attrs.get("role") == "img"
    dots = [e for e in elements if e.tag == "circle" and trend in e.parents]
    assert len(dots) == 2 * 3

    # Registration gap: one row per unregistered institution.
    gap = _rows("SELECT count(*) FROM compliance.registration_gap WHERE district = 'Hisar'")[0][0]
    assert gap > 0
    gap_ids = [e for e in elements if e.tag == "td" and "id" in e.classes and e.inside("section", id="registration-gap")]
    assert len(gap_ids) == gap

    # Whom to call: every facility still without an accepted report.
    defaulters = sum(1 for (_f, p), s in statuses.items() if p == PERIOD and s in ("missing", "rejected"))
    listed = [e for e in elements if e.tag == "td" and "id" in e.classes and e.inside("section", id="outstanding")]
    assert len(listed) == defaulters > 0
    # Ultrasound: every facility's line, those below the threshold in the open table.
    scans = dict(_rows("""SELECT u.facility_id, u.below_threshold FROM marts.ultrasound_compliance u
                             JOIN ref.facility f USING (facility_id) WHERE f.district = 'Hisar' AND u.period = %s""",
                       (PERIOD,)))
    assert scans and any(scans.values())
    listed = {e.text: e for e in elements if e.tag == "td" and "id" in e.classes and e.inside("section", id="ultrasound")}
    assert set(listed) == set(scans)
    assert {f for f, e in listed.items() if not e.inside("details")} == {f for f, below in scans.items() if below}
    for section in ("signals", "ultrasound", "heatmap", "trend", "block-rates"):
        assert any(e.tag == "section" and e.attrs.get("id") == section for e in elements), section
    headings = [e for e in elements if e.tag in ("h1", "h2")]
    assert all(any(s.tag == "span" and s.attrs.get("lang") == "hi" and h in s.parents for s in elements)
               for h in headings), "every heading has a Hindi subtitle"

    # Writing: to a folder, to a landing store, and through `hmis report`.
    conn = connect()
    try:
        path = write_report(conn, tmp_path / "reports", "Hisar", PERIOD, AS_OF)
        key = write_report(conn, LocalStore(pipeline), "Hisar", PERIOD, AS_OF)
    finally:
        conn.close()
    assert Path(path) == tmp_path / "reports" / PERIOD / "compliance-hisar.html"
    assert Path(path).read_text(encoding="utf-8") == page
    assert key == f"reports/{PERIOD}/compliance-hisar.html"
    assert (pipeline / key).read_text(encoding="utf-8") == page
    out = tmp_path / "cli" / "hisar.html"
    assert _hmis("--district", "Hisar", "--out", str(out)) == 0  # latest period and its as-of by default
    assert "October 2026" in out.read_text(encoding="utf-8")
    assert _hmis("--period", "2026-13") == 2
    assert _hmis("--district", "Atlantis") == 2
    assert _hmis("--period", "2027-03") == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("hmis report: ") for line in errors)

    # A real browser renders it: a screenshot of the top of the page that is not blank.
    png = _screenshot(Path(path), tmp_path)
    pixels = decode_png(png.read_bytes())
    assert pixels.shape == (WINDOW[1], WINDOW[0], 3)
    flat = pixels.reshape(-1, 3)
    inked = float((flat.min(axis=1) < 235).mean())
    distinct = len(np.unique(flat, axis=0))
    assert inked > 0.03 and distinct > 200, (inked, distinct)
    # The status colours of the summary tiles, rate bars and badges made it to the screen.
    colours = Counter(map(tuple, flat.tolist()))
    for name, rgb in {"blue rule and bars": (0x15, 0x65, 0xC0), "on-time green": (0x2E, 0x7D, 0x32),
                      "missing red": (0xC6, 0x28, 0x28), "late amber": (0xF2, 0xA9, 0x00)}.items():
        assert colours[rgb] > 200, f"{name} {rgb} is not on the screenshot"


def test_missing_optional_tables_become_notes(warehouse):
    """A warehouse without the registration gap, ultrasound and signal tables still gets a page."""
    conn = connect()
    try:
        migrate(conn)
        with conn, conn.cursor() as cur:
            cur.execute(
                """INSERT INTO ref.facility (facility_id, name, facility_type, ownership, is_ayush, block, district,
                                             state, hmis_registered, registry_sha256, loaded_at)
                   VALUES ('F1', 'PHC One', 'PHC', 'public', false, 'North', 'Hisar', 'Haryana', true, 'x', %(t)s),
                          ('F2', 'SC Two', 'SC', 'public', false, 'South', 'Hisar', 'Haryana', true, 'x', %(t)s)""",
                {"t": AS_OF},
            )
            cur.execute(
                """INSERT INTO compliance.facility_status (facility_id, period, status, due_at, as_of)
                   VALUES ('F1', %(p)s, 'on_time', %(t)s, %(t)s), ('F2', %(p)s, 'missing', %(t)s, %(t)s)""",
                {"p": PERIOD, "t": AS_OF},
            )
            cur.execute("DROP TABLE compliance.registration_gap, marts.ultrasound_compliance, marts.disease_signals")
        page = render_report(conn, "Hisar", PERIOD, AS_OF)
    finally:
        conn.close()
    elements = _parse(page)
    notes = {s.attrs["id"]: " ".join(e.text for e in elements if e.tag == "p" and s in e.parents)
             for s in elements if s.tag == "section" and s.attrs.get("id")}
    assert "compliance.registration_gap" in notes["registration-gap"]
    assert "marts.ultrasound_compliance" in notes["ultrasound"]
    assert "marts.disease_signals" in notes["signals"]
    cells = [e for e in elements if e.tag == "td" and "cell" in e.classes]
    assert sorted(next(k for k in c.classes if k.startswith("st-")) for c in cells) == ["st-missing", "st-on_time"]


def test_a_disease_alarm_gets_a_chart_over_the_months(warehouse):
    conn = connect()
    try:
        migrate(conn)
        with conn, conn.cursor() as cur:
            cur.execute(
                """INSERT INTO ref.facility (facility_id, name, facility_type, ownership, is_ayush, block, district,
                                             state, hmis_registered, registry_sha256, loaded_at)
                   VALUES ('F1', 'PHC One', 'PHC', 'public', false, 'Barwala', 'Hisar', 'Haryana', true, 'x', %s)""",
                (AS_OF,),
            )
            # 11.3.1 is the consolidation's dengue RDT positives, a watched disease (reference/diseases.yaml).
            cur.execute("INSERT INTO ref.data_item VALUES ('11.3.1', 'Dengue - RDT Test Positive', 'डेंगू', "
                        "'M11 NVBDCP (vector-borne diseases)', 'count', 'sum', 'count')")
            for period, cases in [("2026-05", 3), ("2026-06", 4), ("2026-07", 16)]:
                cur.execute(
                    """INSERT INTO marts.block_monthly (state, district, block, period, item_code, value, flagged_values,
                                                        facilities_reporting, facilities_expected, ledger_state,
                                                        built_at)
                       VALUES ('Haryana', 'Hisar', 'Barwala', %s, '11.3.1', %s, 0, 1, 1, 'x', %s)""",
                    (period, cases, AS_OF),
                )
            for period, method, cases, bound, alarm in [
                ("2026-08", "C1", 135, 40.0, True), ("2026-09", "C1", 584, 60.0, True),
                ("2026-10", "C1", 924, 120.0, True), ("2026-10", "C2", 924, 266.8, True),
                ("2026-10", "C3", 924, 0.0, True),
            ]:
                cur.execute(
                    """INSERT INTO marts.disease_signals (area_level, area, district, item_code, period, method,
                                                          observed, expected, sd, upper_bound, alarm, basis,
                                                          series_value, built_at)
                       VALUES ('block', 'Barwala', 'Hisar', '11.3.1', %s, %s, %s, 20, 5, %s, %s,
                               'standardised_ratio', 1.0, %s)""",
                    (period, method, cases, bound, alarm, AS_OF),
                )
        page = render_report(conn, "Hisar", PERIOD, AS_OF)
    finally:
        conn.close()
    elements = _parse(page)
    chart = next(e for e in elements if e.tag == "svg" and e.attrs.get("id") == "signal-chart-0")
    bars = [e for e in elements if e.tag == "rect" and "bar" in e.classes and chart in e.parents]
    assert len(bars) == 6  # three months from the block mart, three evaluated by the signals
    assert sum("alarm" in b.classes for b in bars) == 3
    row = next(e for e in elements if e.tag == "tr" and e.inside("section", id="signals") and e.inside("tbody"))
    assert "Dengue (RDT positive)" in row.text and "Barwala block" in row.text and "924" in row.text
    # The disease is named by the list of watched diseases, in Hindi too.
    assert "डेंगू (आरडीटी पॉज़िटिव)" in row.text
    assert "266.8" not in row.text and "267" in row.text  # C2's threshold, not C3's zero


def _screenshot(page: Path, tmp_path: Path) -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-chromium.sh (as root) to install Debian's "
                    "chromium and fonts, then run the tests again")
    png = tmp_path / "report.png"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--screenshot={png}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}", page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0 and png.exists(), result.stderr[-3000:]
    return png


def decode_png(data: bytes) -> np.ndarray:
    """RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _compression, _filter, interlace = header
    assert depth == 8 and interlace == 0 and colour_type in (2, 6), header
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(chunks))
    image = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1)
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            row = (np.cumsum(line.reshape(-1, bpp).astype(np.int64), axis=0) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average and Paeth depend on the reconstructed left byte: byte by byte
            row = _unfilter_sequential(kind, bytearray(line.tobytes()), previous.tobytes(), bpp)
        image[y] = row
        previous = image[y]
    return image.reshape(height, width, bpp)[:, :, :3]


def _unfilter_sequential(kind: int, row: bytearray, up: bytes, bpp: int) -> np.ndarray:
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 3:
            row[i] = (row[i] + ((left + up[i]) >> 1)) & 255
            continue
        upper_left = up[i - bpp] if i >= bpp else 0
        estimate = left + up[i] - upper_left
        pa, pb, pc = abs(estimate - left), abs(estimate - up[i]), abs(estimate - upper_left)
        predictor = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else upper_left)
        row[i] = (row[i] + predictor) & 255
    return np.frombuffer(bytes(row), dtype=np.uint8)
