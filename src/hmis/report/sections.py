"""What each section of the compliance report page shows, shaped from :class:`ReportData`.

Each function returns the plain values one template under ``hmis/templates/report/`` prints
(counts, numbers already formatted, rows of the registry's records) and no words: headings,
sentences, status labels and month names are the templates' and the glossary's. Charts are
drawn by :mod:`hmis.report.charts` through :class:`Charts`, which the templates call with
their own titles, descriptions and legend labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from hmis.reference.diseases import display_names
from hmis.reference.periods import REPORTING_TZ
from hmis.report.charts import Series, line_chart, percent, period_label, signal_chart, sparkline, sparkline_floor
from hmis.report.queries import Rates, Reconciliation, ReportData, Signal
from hmis.signals.completeness import ALARM, PROVISIONAL, PROVISIONAL_RISE
from hmis.signals.completeness import state as signal_state

# The tiles of the summary, and the legend of the heatmap (every status a cell can have).
SUMMARY_STATUSES = ("on_time", "late", "missing", "rejected", "pending")
HEATMAP_STATUSES = ("on_time", "late", "missing", "rejected", "pending", "none")
# Facilities listed as "whom to call": no accepted report for the month.
OUTSTANDING_STATUSES = ("missing", "rejected")
# How an item can differ from the portal's figure, in the order the section counts them.
RECONCILIATION_STATUSES = ("differs", "only_ours", "only_portal")


def _plain(value: Any) -> Any:
    """Text a template built as markup, back to plain text: the charts escape their own text."""
    return value.unescape() if isinstance(value, Markup) else value


def _svg(chart: str) -> Markup:
    # Markup without escaping is right here: every chart function escapes each text it writes
    # (test_report_charts checks it), and escaping the SVG again would print its tags.
    return Markup(chart)  # noqa: S704


class Charts:
    """The SVG charts as templates call them: the template gives the words, Python draws.

    Each method returns :class:`~markupsafe.Markup` (the chart escaped its text itself), so
    an autoescaping template prints the SVG as it is.
    """

    @staticmethod
    def series(label: str, values: Sequence[float | None], colour: str, dashed: bool = False) -> Series:
        return Series(_plain(label), values, colour, dashed)

    @staticmethod
    def line_chart(chart_id: str, periods: Sequence[str], series: Sequence[Series], **options: Any) -> Markup:
        options = {key: _plain(value) for key, value in options.items()}
        return _svg(line_chart(chart_id, periods, series, **options))

    @staticmethod
    def sparkline(values: Sequence[float | None], **options: Any) -> Markup:
        options = {key: _plain(value) for key, value in options.items()}
        return _svg(sparkline(values, **options))

    @staticmethod
    def signal_chart(chart_id: str, periods: Sequence[str], observed: Sequence[float | None],
                     upper_bound: Sequence[float | None], alarms: Sequence[bool], **options: Any) -> Markup:
        options = {key: _plain(value) for key, value in options.items()}
        return _svg(signal_chart(chart_id, periods, observed, upper_bound, alarms, **options))


def _local(moment: datetime) -> datetime:
    return moment.astimezone(REPORTING_TZ)


def _meter(value: float | None) -> dict[str, Any]:
    """A fraction as a bar width (0–100, clamped) and its printed percentage."""
    width = 0 if value is None else round(min(max(value, 0.0), 1.0) * 100, 1)
    return {"width": width, "text": percent(value)}


def _rates(rates: Rates | None) -> dict[str, Any] | None:
    if rates is None:
        return None
    return {"expected": rates.expected, "reported": rates.reported, "on_time": rates.on_time,
            "not_yet": rates.expected - rates.reported, "reporting_rate": _meter(rates.reporting_rate),
            "on_time_rate": _meter(rates.on_time_rate)}


def _count(value: float | None) -> str:
    """A case count or estimate: thousands separated, one decimal only below 100."""
    if value is None:
        return "–"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def chart_periods(data: ReportData) -> list[str]:
    """The window's months from the first with any rate or status to the report's month."""
    with_data = {p for p in data.district_rates} | {p for _f, p in data.statuses}
    for rates in data.block_rates.values():
        with_data |= set(rates)
    first = next((p for p in data.periods if p in with_data), data.period)
    return [p for p in data.periods if p >= first]


def header(data: ReportData) -> dict[str, Any]:
    """Where and when: the due date and the as-of moment in IST."""
    return {"state": data.state, "district": data.district, "period": data.period,
            "due": _local(data.due_at).date(), "as_of": _local(data.as_of)}


def summary(data: ReportData) -> dict[str, Any]:
    """The month's tiles: expected reporters, a count and share per status, the two rates, the gap."""
    counts = Counter(s.status for (_f, p), s in data.statuses.items() if p == data.period)
    expected = sum(counts.values())
    rates = data.district_rates.get(data.period)
    return {
        "expected": expected,
        "statuses": [{"status": status, "count": counts[status],
                      "share": f"{counts[status] / expected * 100:.0f} %" if expected else ""}
                     for status in SUMMARY_STATUSES],
        "reporting_rate": percent(rates.reporting_rate) if rates else None,
        "on_time_rate": percent(rates.on_time_rate) if rates else None,
        "unregistered": None if data.registration_gap is None else len(data.registration_gap),
    }


def block_rates(data: ReportData) -> dict[str, Any]:
    """A row per block (the month's rates, on-time rates over the window, its officer), the district's total.

    Every sparkline shares one scale floor, so the lines can be compared.
    """
    periods = chart_periods(data)
    every_rate = [r.on_time_rate for rates in [data.district_rates, *data.block_rates.values()] for r in rates.values()]
    floor = sparkline_floor(every_rate)

    def trend(history: dict[str, Rates]) -> list[float | None]:
        return [history[p].on_time_rate if p in history else None for p in periods]

    return {
        "period": data.period,
        "district": data.district,
        "span": f"{period_label(periods[0])} – {period_label(periods[-1])}",
        "floor": floor,
        "floor_percent": f"{floor * 100:.0f}",
        "blocks": [{"area": block, "rates": _rates(data.block_rates.get(block, {}).get(data.period)),
                    "trend": trend(data.block_rates.get(block, {})), "officer": data.block_officers.get(block)}
                   for block in data.blocks],
        "total": {"rates": _rates(data.district_rates.get(data.period)), "trend": trend(data.district_rates)},
    }


def trend(data: ReportData) -> dict[str, Any]:
    """The district's two rates per month of the chart, as fractions and as printed percentages."""
    periods = chart_periods(data)
    rates = data.district_rates
    return {
        "district": data.district,
        "periods": periods,
        "window": len(data.periods),
        "reporting": [rates[p].reporting_rate if p in rates else None for p in periods],
        "on_time": [rates[p].on_time_rate if p in rates else None for p in periods],
        "points": [{"period": p, "reporting": percent(rates[p].reporting_rate),
                    "on_time": percent(rates[p].on_time_rate)} for p in periods if p in rates],
    }


def outstanding(data: ReportData) -> dict[str, Any]:
    """Facilities whose report for the month is still not accepted, with days overdue: whom to call."""
    due = _local(data.due_at).date()
    today = _local(data.as_of).date()
    rows = []
    for facility in data.facilities:
        status = data.statuses.get((facility.facility_id, data.period))
        if status is None or status.status not in OUTSTANDING_STATUSES:
            continue
        rows.append({"facility": facility, "status": status.status, "days_overdue": max((today - due).days, 0),
                     "officer": data.block_officers.get(facility.block)})
    return {"period": data.period, "rows": rows}


def _signal_alarms(signals: Sequence[Signal], period: str) -> list[tuple[str, str, str]]:
    """Areas and diseases alarming in ``period``, or rising in it while it is provisional."""
    found = {(s.area_level, s.area, s.item_code) for s in signals if s.period == period and _shown(s)}
    return sorted(found, key=lambda key: (key[0] != "district", key[1], key[2]))


def _shown(s: Signal) -> bool:
    return bool(s.alarm) or signal_state(s.alarm, s.would_alarm, s.completeness) == PROVISIONAL_RISE


def _reference(month: Sequence[Signal]) -> Signal | None:
    """The month's C2 result (the reference's middle method), else C1: C3's bound is on another scale."""
    evaluated = {s.method: s for s in month if s.alarm is not None and s.upper_bound is not None}
    return evaluated.get("C2") or evaluated.get("C1")


def _threshold(month: Sequence[Signal]) -> float | None:
    reference = _reference(month)
    return reference.upper_bound if reference else None


def disease_signals(data: ReportData) -> dict[str, Any]:
    """Each area and disease alarming in the month, or rising in it while the month is provisional:
    its figures and its chart's monthly series.

    ``available`` is false without the signals mart; ``evaluated`` says whether the month
    was evaluated at all (when nothing alarms); ``provisional`` whether the district's month
    is provisional (its signals then raise no alarm and no e-mail). Each row's ``state`` is
    a glossary key (:mod:`hmis.signals.completeness`): an alarm or a provisional rise.
    """
    if data.signals is None:
        return {"period": data.period, "available": False, "evaluated": False, "provisional": False,
                "alarms": []}
    alarms = []
    for index, (level, area, item) in enumerate(_signal_alarms(data.signals, data.period)):
        mine = [s for s in data.signals if (s.area_level, s.area, s.item_code) == (level, area, item)]
        disease, disease_hi = display_names(item, *data.item_names.get(item, (None, None)))
        observed, bounds, flags = [], [], []
        for p in data.periods:
            month = [s for s in mine if s.period == p]
            observed.append(month[0].observed if month else data.disease_counts.get((level, area, item, p)))
            bounds.append(_threshold(month))
            # Red bars are alarms only: a provisional month's rise is not one.
            flags.append(any(s.alarm for s in month))
        # Months before the first with a count are left off the chart, as on the trend chart.
        first = next(i for i, value in enumerate(observed) if value is not None)
        now = [s for s in mine if s.period == data.period]
        reference = _reference(now)
        provisional = any(s.completeness == PROVISIONAL for s in now)
        alarms.append({
            "chart_id": f"signal-chart-{index}",
            "disease": disease,
            "disease_hi": disease_hi,
            "level": "block" if level == "block" else "district",
            "area": area,
            "periods": data.periods[first:], "observed": observed[first:], "bounds": bounds[first:],
            "flags": flags[first:],
            "cases": f"{now[0].observed:,}",
            "expected": _count(reference.expected if reference else None),
            "threshold": _count(reference.upper_bound if reference else None),
            "provisional": provisional,
            "state": PROVISIONAL_RISE if provisional else ALARM,
            "methods": [s.method for s in now if (s.would_alarm if provisional else s.alarm)],
        })
    month = [s for s in data.signals if s.period == data.period]
    district_month = [s for s in month if s.area_level == "district"] or month
    return {"period": data.period, "available": True, "evaluated": bool(month),
            "provisional": any(s.completeness == PROVISIONAL for s in district_month),
            "alarms": alarms}


def ultrasound(data: ReportData) -> dict[str, Any]:
    """Facilities' RCH-ID shares, those below the threshold apart; ``available`` false without the mart."""
    lines = data.ultrasound or []
    return {
        "period": data.period,
        "available": data.ultrasound is not None,
        "threshold": percent(lines[0].threshold, 0) if lines else "",
        "below": [_ultrasound_line(u) for u in lines if u.below_threshold],
        "met": [_ultrasound_line(u) for u in lines if not u.below_threshold],
    }


def _ultrasound_line(u) -> dict[str, Any]:
    return {"facility_id": u.facility_id, "name": u.name, "block": u.block, "scans": u.scans, "valid": u.valid,
            "share_valid": _meter(u.share_valid), "below_threshold": u.below_threshold}


def registration_gap(data: ReportData) -> dict[str, Any]:
    """Institutions not registered on HMIS, counted by block and ownership; ``available`` false without the table."""
    gap = data.registration_gap or []
    return {
        "available": data.registration_gap is not None,
        "rows": gap,
        "private": sum(g.ownership == "private" for g in gap),
        "ayush": sum(g.is_ayush for g in gap),
        "by_block": sorted(Counter(g.block for g in gap).items()),
    }


def heatmap(data: ReportData) -> dict[str, Any]:
    """One card per block: its facilities × the months with compliance data, a status key per cell."""
    with_data = {p for _f, p in data.statuses}
    periods = [p for p in data.periods if p in with_data]
    cards = []
    for block in data.blocks:
        rows = [{"facility": f, "cells": [_status_key(data, f.facility_id, p) for p in periods]}
                for f in data.facilities if f.block == block]
        if rows:
            cards.append({"block": block, "rows": rows})
    return {"columns": [{"period": p, "label": period_label(p)} for p in periods], "blocks": cards,
            "legend": HEATMAP_STATUSES}


def _status_key(data: ReportData, facility_id: str, period: str) -> str:
    status = data.statuses.get((facility_id, period))
    return status.status if status else "none"


def _code_key(code: str) -> tuple:
    """An item code in the formats' order: 1.1 < 1.1.1 < 1.2 < 10.1; letters after digits."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in code.split("."))


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else (f"−{-value:,}" if value < 0 else "0")


def _figure(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _compared(data: ReportData, found: Reconciliation) -> dict[str, Any]:
    rows = []
    for row in sorted(found.rows, key=lambda r: (_code_key(r.item_code), r.disaggregation)):
        name, name_hi = data.item_names.get(row.item_code, (None, None))
        rows.append({"item_code": row.item_code,
                     "sub_item": None if row.disaggregation == "TOTAL" else row.disaggregation,
                     "name": name or "", "name_hi": name_hi if name_hi and name_hi != name else None,
                     "ours": _figure(row.ours), "portal": _figure(row.portal),
                     "difference": _signed(row.difference), "status": row.status})
    return {
        "basis": found.basis,
        "pull": found.pull_key.rsplit("/", 1)[-1].split("__", 1)[-1],
        "status_as_on": _local(found.status_as_on) if found.status_as_on else None,
        "compared": found.compared,
        "matching": found.matching,
        "counts": {status: sum(r.status == status for r in found.rows) for status in RECONCILIATION_STATUSES},
        "rows": rows,
    }


def reconciliation(data: ReportData) -> dict[str, Any]:
    """Our totals against the HMIS portal's: per report pulled (the month, the financial year to
    date) the items that differ. ``available`` is false when there is no reconciliation for the
    district-month (no item-wise report pulled, or no mart): the page then leaves the section out."""
    found = data.reconciliation or []
    return {"available": bool(found), "district": data.district, "period": data.period,
            "reports": [_compared(data, r) for r in found]}


def footer(data: ReportData) -> dict[str, Any]:
    return {"missing_tables": list(data.missing_tables), "as_of": _local(data.as_of)}


def page(data: ReportData) -> dict[str, Any]:
    """The context of ``report/page.html``: every section's values, and the chart functions."""
    return {
        "header": header(data), "summary": summary(data), "block_rates": block_rates(data), "trend": trend(data),
        "outstanding": outstanding(data), "signals": disease_signals(data), "ultrasound": ultrasound(data),
        "registration_gap": registration_gap(data), "reconciliation": reconciliation(data),
        "heatmap": heatmap(data), "footer": footer(data), "charts": Charts(),
    }
