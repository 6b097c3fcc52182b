"""Inline SVG charts for the report page, as pure functions from numbers to SVG text.

Every chart is a self-contained ``<svg>`` element (no scripts, no external fonts or
styles) that is also well-formed XML. Each carries ``role="img"`` with a ``<title>`` and a
``<desc>`` for screen readers, a legend in words next to every colour, and a ``<title>``
tooltip on each mark with its exact value. Months are placed on equal bands, one per
period, so a month without data is a visible gap rather than a squeezed axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from hmis.reference.periods import parse_period

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FONT = "font-family=\"DejaVu Sans, Noto Sans, Arial, sans-serif\""
AXIS_COLOUR = "#5f6b73"
GRID_COLOUR = "#dde3e8"


@dataclass(frozen=True)
class Series:
    """One line of a chart: a value (or ``None`` for no data) per period."""

    label: str
    values: Sequence[float | None]
    colour: str
    dashed: bool = False


def period_label(period: str) -> str:
    """Short axis label for a ``YYYY-MM`` period: ``Oct ’26``."""
    year, month = parse_period(period)
    return f"{MONTH_ABBR[month - 1]} ’{year % 100:02d}"


def percent(value: float | None, digits: int = 1) -> str:
    """``0.9259`` as ``92.6 %``; ``None`` as an en dash."""
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f} %"


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least ``value`` (1 for 0 or less)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value - 1e-12:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _n(value: float) -> str:
    """A coordinate with at most one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _tick(value: float) -> str:
    """An axis number short enough for the margin: ``7,500``, ``2.5`` or ``100k``."""
    if value >= 10_000:
        return f"{value / 1000:,g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,g}"


def _open_svg(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" {FONT}>',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _band_x(index: int, count: int, left: float, plot_width: float) -> float:
    """Centre of the ``index``-th of ``count`` equal bands across the plot."""
    return left + (index + 0.5) * plot_width / max(count, 1)


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """An SVG path through the points, broken wherever a point is ``None``."""
    parts: list[str] = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{_n(point[0])} {_n(point[1])}")
        pen_down = True
    return " ".join(parts)


def _y_grid(y_of, y_max: float, left: float, plot_w: float, label) -> list[str]:
    """Five horizontal grid lines from 0 to ``y_max`` with their labels on the left."""
    parts = []
    for step in range(5):
        tick = y_max * step / 4
        y = y_of(tick)
        parts.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" '
                     f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" font-size="11" text-anchor="end" '
                     f'fill="{AXIS_COLOUR}">{label(tick)}</text>')
    return parts


def _x_axis(periods: Sequence[str], left: float, plot_width: float, baseline: float) -> list[str]:
    out = [f'<line x1="{_n(left)}" y1="{_n(baseline)}" x2="{_n(left + plot_width)}" y2="{_n(baseline)}" '
           f'stroke="{AXIS_COLOUR}" stroke-width="1"/>']
    # "Oct ’26" needs about 48 px at 11 px; narrower bands get the year on a second line.
    stacked = plot_width / max(len(periods), 1) < 50
    for index, period in enumerate(periods):
        x = _band_x(index, len(periods), left, plot_width)
        label = period_label(period)
        text = (f'{escape(label[:3])}<tspan x="{_n(x)}" dy="12">{escape(label[4:])}</tspan>' if stacked
                else escape(label))
        out.append(f'<text x="{_n(x)}" y="{_n(baseline + 15)}" font-size="11" text-anchor="middle" '
                   f'fill="{AXIS_COLOUR}">{text}</text>')
    return out


def _legend(items: Sequence[tuple[str, str, str]], x: float, y: float) -> list[str]:
    """Legend entries ``(kind, colour, label)`` in one row; kind is line, dash, bar or alarm."""
    out = []
    for kind, colour, label in items:
        if kind in ("line", "dash"):
            dash = ' stroke-dasharray="6 4"' if kind == "dash" else ""
            out.append(f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 22)}" y2="{_n(y - 4)}" '
                       f'stroke="{colour}" stroke-width="3"{dash}/>')
        else:
            out.append(f'<rect x="{_n(x + 4)}" y="{_n(y - 11)}" width="14" height="12" fill="{colour}"/>')
        out.append(f'<text x="{_n(x + 28)}" y="{_n(y)}" font-size="12" fill="#1f2a30">{escape(label)}</text>')
        # DejaVu Sans averages about 0.6 em per character at this size.
        x += 28 + 7.2 * len(label) + 22
    return out


def line_chart(
    chart_id: str,
    periods: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    as_percent: bool = True,
    width: int = 760,
    height: int = 260,
) -> str:
    """A line chart of ``series`` over ``periods`` (one value per period, ``None`` = gap).

    With ``as_percent`` the values are fractions 0–1 and the axis runs 0–100 %; otherwise
    it runs from 0 to a round number above the largest value. Every value is a dot with a
    tooltip; the newest value of each series is also written next to its dot.
    """
    left, right, top, bottom = 52.0, 70.0, 34.0, 34.0
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    y_max = 1.0 if as_percent else nice_max(max(values, default=0.0))
    baseline = top + plot_h

    def y_of(value: float) -> float:
        return baseline - min(max(value / y_max, 0.0), 1.0) * plot_h

    out = _open_svg(chart_id, width, height, title, desc)
    out += _y_grid(y_of, y_max, left, plot_w, (lambda t: f"{t * 100:.0f} %") if as_percent else _tick)
    out += _x_axis(periods, left, plot_w, baseline)
    for s in series:
        points = [
            None if value is None else (_band_x(i, len(periods), left, plot_w), y_of(value))
            for i, value in enumerate(s.values)
        ]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(f'<g class="series" data-series="{escape(s.label)}">')
        out.append(f'<path d="{_path(points)}" fill="none" stroke="{s.colour}" stroke-width="2.5"{dash}/>')
        for period, value, point in zip(periods, s.values, points, strict=True):
            if point is None:
                continue
            shown = percent(value) if as_percent else f"{value:g}"
            out.append(f'<circle cx="{_n(point[0])}" cy="{_n(point[1])}" r="4" fill="{s.colour}">'
                       f'<title>{escape(s.label)}, {escape(period_label(period))}: {shown}</title></circle>')
        last = next((p for p in reversed(list(zip(s.values, points, strict=True))) if p[1] is not None), None)
        if last is not None:
            value, (x, y) = last
            shown = percent(value, 0) if as_percent else f"{value:g}"
            out.append(f'<text x="{_n(x + 8)}" y="{_n(y + 4)}" font-size="12" font-weight="bold" '
                       f'fill="{s.colour}">{shown}</text>')
        out.append("</g>")
    out += _legend([("dash" if s.dashed else "line", s.colour, s.label) for s in series], left, 18)
    out.append("</svg>")
    return "".join(out)


def sparkline_floor(values: Sequence[float | None]) -> float:
    """Bottom of a shared sparkline scale: 50 % when every value is at least that, else 0 %."""
    return 0.5 if all(v is None or v >= 0.5 for v in values) else 0.0


def sparkline(values: Sequence[float | None], *, label: str, width: int = 132, height: int = 30,
              colour: str = "#1565c0", y_min: float = 0.0) -> str:
    """A small trend line of fractions from ``y_min`` to 100 % (``None`` = gap), newest value as a dot.

    Values below ``y_min`` sit on the bottom line; pick ``y_min`` with :func:`sparkline_floor`
    over every line that is compared, so they share one scale.
    """
    pad = 4.0
    count = len(values)
    span = max(1.0 - y_min, 1e-9)

    def point(i: int, v: float) -> tuple[float, float]:
        x = pad + (i + 0.5) * (width - 2 * pad) / max(count, 1)
        return x, height - pad - min(max((v - y_min) / span, 0.0), 1.0) * (height - 2 * pad)

    points = [None if v is None else point(i, v) for i, v in enumerate(values)]
    known = [(v, p) for v, p in zip(values, points, strict=True) if p is not None]
    text = ", ".join(percent(v, 0) for v in values if v is not None) or "no data"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(label)}: {escape(text)}">',
           f'<title>{escape(label)}: {escape(text)}</title>',
           f'<line x1="{_n(pad)}" y1="{_n(pad)}" x2="{_n(width - pad)}" y2="{_n(pad)}" stroke="{GRID_COLOUR}" '
           'stroke-width="1"/>',
           f'<line x1="{_n(pad)}" y1="{_n(height - pad)}" x2="{_n(width - pad)}" y2="{_n(height - pad)}" '
           f'stroke="{GRID_COLOUR}" stroke-width="1"/>']
    if known:
        out.append(f'<path d="{_path(points)}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        for _value, (x, y) in known[:-1]:
            out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="1.6" fill="{colour}"/>')
        x, y = known[-1][1]
        out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{colour}"/>')
    out.append("</svg>")
    return "".join(out)


def signal_chart(
    chart_id: str,
    periods: Sequence[str],
    observed: Sequence[float | None],
    upper_bound: Sequence[float | None],
    alarms: Sequence[bool],
    *,
    title: str,
    desc: str,
    threshold_label: str = "alarm threshold",
    width: int = 560,
    height: int = 220,
) -> str:
    """Monthly case counts as bars, the alarm threshold as a dashed line.

    A month that alarms gets a red bar and a ``▲`` marker above it, so the alarm is told by
    shape and text as well as colour.
    """
    left, right, top, bottom = 46.0, 16.0, 40.0, 34.0
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [v for v in list(observed) + list(upper_bound) if v is not None]
    y_max = nice_max(max(known, default=0.0))
    baseline = top + plot_h
    band = plot_w / max(len(periods), 1)

    def y_of(value: float) -> float:
        return baseline - min(max(value / y_max, 0.0), 1.0) * plot_h

    out = _open_svg(chart_id, width, height, title, desc)
    out += _y_grid(y_of, y_max, left, plot_w, _tick)
    out += _x_axis(periods, left, plot_w, baseline)
    for index, (period, value, alarm) in enumerate(zip(periods, observed, alarms, strict=True)):
        if value is None:
            continue
        x = _band_x(index, len(periods), left, plot_w)
        y = y_of(value)
        colour = "#c62828" if alarm else "#90a4ae"
        word = "alarm" if alarm else "no alarm"
        out.append(f'<rect class="{"bar alarm" if alarm else "bar"}" x="{_n(x - band * 0.3)}" y="{_n(y)}" '
                   f'width="{_n(band * 0.6)}" height="{_n(baseline - y)}" fill="{colour}">'
                   f'<title>{escape(period_label(period))}: {value:,.0f} cases ({word})</title></rect>')
        if alarm:
            out.append(f'<text x="{_n(x)}" y="{_n(y - 5)}" font-size="12" text-anchor="middle" '
                       f'fill="#c62828">▲</text>')
    points = [
        None if bound is None else (_band_x(i, len(periods), left, plot_w), y_of(bound))
        for i, bound in enumerate(upper_bound)
    ]
    out.append(f'<path d="{_path(points)}" fill="none" stroke="#37474f" stroke-width="2" '
               'stroke-dasharray="6 4"/>')
    out += _legend([("bar", "#90a4ae", "cases"), ("bar", "#c62828", "▲ alarm month"),
                    ("dash", "#37474f", threshold_label)], left, 18)
    out.append("</svg>")
    return "".join(out)
