"""The report page's SVG helpers: pure functions, checked as XML."""

import xml.etree.ElementTree as ET

import pytest

from hmis.report.charts import (
    Series,
    line_chart,
    nice_max,
    percent,
    period_label,
    signal_chart,
    sparkline,
    sparkline_floor,
)

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"
PERIODS = ["2026-08", "2026-09", "2026-10"]


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (the project's own SVG) raises if it is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def _all(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(f"{SVG}{tag}"))


def test_period_label_and_percent():
    assert period_label("2026-10") == "Oct ’26"
    assert period_label("2027-01") == "Jan ’27"
    assert percent(0.9259) == "92.6 %"
    assert percent(1, 0) == "100 %"
    assert percent(None) == "–"


@pytest.mark.parametrize(("value", "expected"), [
    (0, 1.0), (-3, 1.0), (0.8, 1.0), (1, 1), (1.2, 2), (2.1, 2.5), (3, 5), (7, 10), (81355, 100000), (924, 1000),
    (250, 250),
])
def test_nice_max_rounds_up_to_a_round_number(value, expected):
    assert nice_max(value) == pytest.approx(expected)


def test_line_chart_is_accessible_xml_with_a_dot_per_value_and_gaps_for_missing_months():
    svg = line_chart(
        "trend", ["2026-07", *PERIODS],
        [Series("Reporting rate", [0.9, None, 0.95, 0.94], "#1565c0"),
         Series("On-time <rate>", [0.8, 0.85, None, 0.85], "#2e7d32", dashed=True)],
        title="Hisar & rates", desc="four months",
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "trend-title trend-desc"
    assert root.find(f"{SVG}title").text == "Hisar & rates"
    assert len(_all(root, "circle")) == 6  # one dot per known value
    paths = [p.get("d") for p in _all(root, "path")]
    assert paths[0].count("M") == 2 and paths[1].count("M") == 2  # each line breaks at its gap
    texts = " ".join("".join(t.itertext()) for t in _all(root, "text"))
    assert "On-time <rate>" in texts and "Reporting rate" in texts  # legend in words, escaped in the source
    assert "100 %" in texts and "0 %" in texts
    assert "Oct ’26" in texts
    tooltips = [t.text for t in _all(root, "title")]
    assert "Reporting rate, Sep ’26: 95.0 %" in tooltips
    assert "<rate>" not in svg  # escaped


def test_line_chart_counts_axis_uses_a_round_maximum():
    root = _parse(line_chart("c", PERIODS, [Series("cases", [120, 480, 310], "#000")], title="t", desc="d",
                             as_percent=False))
    labels = ["".join(t.itertext()) for t in _all(root, "text")]
    assert "500" in labels and "250" in labels


def test_large_counts_get_short_axis_labels():
    root = _parse(signal_chart("s", PERIODS, [81355, 60000, 45000], [70000, None, None], [True, False, False],
                               title="t", desc="d"))
    labels = {"".join(t.itertext()) for t in _all(root, "text")}
    assert {"0", "25k", "50k", "75k", "100k"} <= labels


def test_crowded_axis_puts_the_year_on_a_second_line():
    twelve = [f"2026-{m:02d}" for m in range(1, 13)]
    root = _parse(line_chart("c", twelve, [Series("x", [0.5] * 12, "#000")], title="t", desc="d", width=400))
    assert len(_all(root, "tspan")) == 12
    roomy = _parse(line_chart("c", PERIODS, [Series("x", [0.5] * 3, "#000")], title="t", desc="d", width=900))
    assert not _all(roomy, "tspan")


def test_sparkline_handles_gaps_and_no_data():
    root = _parse(sparkline([0.9, None, 0.7, 0.8], label="Adampur"))
    assert root.get("role") == "img"
    assert "90 %, 70 %, 80 %" in root.get("aria-label")
    assert len(_all(root, "circle")) == 3
    assert _all(root, "path")[0].get("d").count("M") == 2
    empty = _parse(sparkline([None, None], label="nothing"))
    assert not _all(empty, "path") and "no data" in empty.get("aria-label")


def test_sparkline_scale_floor_is_shared_and_values_below_it_stay_inside():
    assert sparkline_floor([0.6, None, 0.99]) == 0.5
    assert sparkline_floor([0.6, 0.2]) == 0.0
    root = _parse(sparkline([0.2, 1.0], label="x", height=30, y_min=0.5))
    ys = [float(c.get("cy")) for c in _all(root, "circle")]
    assert all(4 <= y <= 26 for y in ys)  # clamped to the plot, not drawn outside it
    assert ys[0] == pytest.approx(26) and ys[1] == pytest.approx(4)


def test_signal_chart_marks_alarm_months_by_colour_and_by_a_triangle():
    root = _parse(signal_chart(
        "sig", PERIODS, [20, None, 90], [40.5, 45.0, 50.0], [False, False, True],
        title="Dengue, Barwala block", desc="90 cases",
    ))
    bars = [r for r in _all(root, "rect") if "bar" in (r.get("class") or "")]
    assert len(bars) == 2  # no bar for the month without a count
    assert [("alarm" in b.get("class")) for b in bars] == [False, True]
    assert bars[0].get("fill") != bars[1].get("fill")
    markers = [t for t in _all(root, "text") if t.text == "▲"]
    assert len(markers) == 1
    assert bars[1].find(f"{SVG}title").text == "Oct ’26: 90 cases (alarm)"
    threshold = [p for p in _all(root, "path") if p.get("stroke-dasharray")]
    assert threshold and threshold[0].get("d").count("L") == 2
