"""The sections of the compliance report page, each a function from :class:`ReportData` to HTML.

Headings are English with a Hindi subtitle. Every status colour comes with a symbol and a
word (the legend, and a ``title`` on each heatmap cell), tables have ``<th scope>`` headers
and a caption, so the page reads the same without colour and to a screen reader.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from html import escape

from hmis.notify.messages import hindi_date, hindi_month
from hmis.reference.periods import REPORTING_TZ, month_name
from hmis.report.charts import Series, line_chart, percent, period_label, signal_chart, sparkline, sparkline_floor
from hmis.report.queries import Contact, Rates, ReportData, Signal

# status: (symbol, English, Hindi); the symbol is printed in the cell so colour is never alone.
STATUS_LABELS = {
    "on_time": ("✓", "on time", "समय पर"),
    "late": ("L", "late", "देर से"),
    "missing": ("✗", "not submitted", "रिपोर्ट जमा नहीं"),
    "rejected": ("R", "rejected (errors in file)", "अस्वीकृत"),
    "pending": ("P", "pending, not yet due", "प्रतीक्षित"),
    "none": ("·", "not expected that month", "अपेक्षित नहीं"),
}
REPORTING_COLOUR = "#1565c0"
ON_TIME_COLOUR = "#2e7d32"


def heading(level: int, english: str, hindi: str, anchor: str | None = None) -> str:
    """An ``<hN>`` with the English title and the Hindi one as a subtitle under it."""
    ident = f' id="{escape(anchor)}"' if anchor else ""
    return (f'<h{level}{ident}>{escape(english)}<span class="hi" lang="hi">{escape(hindi)}</span>'
            f"</h{level}>")


def _note(text: str, hindi: str | None = None, kind: str = "note") -> str:
    hi = f' <span lang="hi">{escape(hindi)}</span>' if hindi else ""
    return f'<p class="{kind}">{escape(text)}{hi}</p>'


def _badge(status: str) -> str:
    symbol, english, hindi = STATUS_LABELS[status]
    return (f'<span class="badge st-{status}"><span aria-hidden="true">{symbol}</span> {escape(english)}'
            f' <span lang="hi">/ {escape(hindi)}</span></span>')


def _rate_cell(value: float | None, colour: str) -> str:
    width = 0 if value is None else round(min(max(value, 0.0), 1.0) * 100, 1)
    return (f'<td class="num rate"><span class="meter" aria-hidden="true"><span style="width:{width}%;'
            f'background:{colour}"></span></span><span class="pct">{percent(value)}</span></td>')


def _officer(officer: Contact | None) -> str:
    if officer is None:
        return "–"
    return f'{escape(officer.name)}, <span class="nowrap">{escape(officer.phone or officer.email)}</span>'


def _local(moment: datetime) -> datetime:
    return moment.astimezone(REPORTING_TZ)


def chart_periods(data: ReportData) -> list[str]:
    """The window's months from the first with any rate or status to the report's month."""
    with_data = {p for p in data.district_rates} | {p for _f, p in data.statuses}
    for rates in data.block_rates.values():
        with_data |= set(rates)
    first = next((p for p in data.periods if p in with_data), data.period)
    return [p for p in data.periods if p >= first]


def header(data: ReportData) -> str:
    as_of = _local(data.as_of)
    due = _local(data.due_at).date()
    return (
        '<header class="masthead">'
        f'<p class="kicker">{escape(data.state)} · HMIS · {escape(data.district)}</p>'
        + heading(1, f"HMIS compliance report — {data.district} district, {month_name(data.period)}",
                  f"एचएमआईएस मासिक अनुपालन रिपोर्ट — {data.district} ज़िला, {hindi_month(data.period)}")
        + f'<p class="meta">Reports for {escape(month_name(data.period))} were due by the end of '
        f"<b>{due.day} {due:%B %Y}</b> (IST) · figures as of <b>{as_of:%d %b %Y %H:%M} IST</b>"
        f'<br><span lang="hi">अंतिम तिथि: {escape(hindi_date(due))} · स्थिति: {escape(hindi_date(as_of.date()))} '
        f"{as_of:%H:%M} बजे तक</span></p></header>"
    )


def summary(data: ReportData) -> str:
    counts = Counter(s.status for (_f, p), s in data.statuses.items() if p == data.period)
    expected = sum(counts.values())
    rates = data.district_rates.get(data.period)
    tiles = [("expected", "Expected reporters", "अपेक्षित संस्थान", f"{expected}", "")]
    for status in ("on_time", "late", "missing", "rejected", "pending"):
        symbol, english, hindi = STATUS_LABELS[status]
        share = f"{counts[status] / expected * 100:.0f} %" if expected else ""
        tiles.append((f"t-{status}", f"{symbol} {english.split(' (')[0]}", hindi, f"{counts[status]}", share))
    if rates:
        tiles.append(("rate", "Reporting rate", "रिपोर्टिंग दर", percent(rates.reporting_rate), ""))
        tiles.append(("rate", "On-time rate", "समय पर रिपोर्टिंग दर", percent(rates.on_time_rate), ""))
    if data.registration_gap is not None:
        tiles.append(("gap", "Not registered on HMIS", "एचएमआईएस पर अपंजीकृत", f"{len(data.registration_gap)}", ""))
    cells = "".join(
        f'<div class="tile {cls}"><div class="n">{escape(value)}'
        f'{f" <small>{escape(share)}</small>" if share else ""}</div>'
        f'<div class="l">{escape(english)}<span lang="hi">{escape(hindi)}</span></div></div>'
        for cls, english, hindi, value, share in tiles
    )
    return f'<section aria-label="Summary">{heading(2, "Summary", "सारांश")}<div class="tiles">{cells}</div></section>'


def _rates_row(label: str, rates: Rates | None, trend: str, officer: str, scope: str = "row") -> str:
    if rates is None:
        numbers = '<td class="num">–</td>' * 4 + "<td>–</td><td>–</td>"
    else:
        numbers = (f'<td class="num">{rates.expected}</td><td class="num">{rates.reported}</td>'
                   f'<td class="num">{rates.on_time}</td><td class="num">{rates.expected - rates.reported}</td>'
                   + _rate_cell(rates.reporting_rate, REPORTING_COLOUR) + _rate_cell(rates.on_time_rate, ON_TIME_COLOUR))
    return f'<tr><th scope="{scope}">{escape(label)}</th>{numbers}<td>{trend}</td><td class="contact">{officer}</td></tr>'


def block_rates(data: ReportData) -> str:
    periods = chart_periods(data)
    span = f"{period_label(periods[0])} – {period_label(periods[-1])}"
    every_rate = [r.on_time_rate for rates in [data.district_rates, *data.block_rates.values()] for r in rates.values()]
    floor = sparkline_floor(every_rate)
    rows = []
    for block in data.blocks:
        history = data.block_rates.get(block, {})
        trend = sparkline([history[p].on_time_rate if p in history else None for p in periods],
                          label=f"{block}, on-time rate {span}", colour=ON_TIME_COLOUR, y_min=floor)
        officer = data.block_officers.get(block)
        contact = (f"{escape(officer.name)}<br><small>{escape(officer.phone or officer.email)}</small>"
                   if officer else "–")
        rows.append(_rates_row(block, history.get(data.period), trend, contact))
    district_trend = sparkline(
        [data.district_rates[p].on_time_rate if p in data.district_rates else None for p in periods],
        label=f"{data.district} district, on-time rate {span}", colour=ON_TIME_COLOUR, y_min=floor)
    total = _rates_row(f"{data.district} district", data.district_rates.get(data.period), district_trend, "")
    return (
        '<section id="block-rates">'
        + heading(2, "Reporting and on-time rates by block", "खंडवार रिपोर्टिंग एवं समय पर रिपोर्टिंग दर")
        + f'<table class="rates"><caption>{escape(month_name(data.period))}: reporting rate = reports accepted '
        "(on time or late) ÷ expected facilities; on-time rate = accepted by the due date ÷ expected.</caption>"
        '<thead><tr><th scope="col">Block <span lang="hi">खंड</span></th>'
        '<th scope="col" class="num">Expected</th><th scope="col" class="num">Reported</th>'
        '<th scope="col" class="num">On time</th><th scope="col" class="num">Not yet</th>'
        '<th scope="col" class="num">Reporting rate</th><th scope="col" class="num">On-time rate</th>'
        f'<th scope="col">On-time trend, {escape(span)}<br><small>scale {floor * 100:.0f}–100 %</small></th><th scope="col">Block Medical Officer</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody><tfoot>{total}</tfoot></table></section>'
    )


def trend(data: ReportData) -> str:
    periods = chart_periods(data)
    series = [
        Series("Reporting rate", [data.district_rates[p].reporting_rate if p in data.district_rates else None
                                  for p in periods], REPORTING_COLOUR),
        Series("On-time rate", [data.district_rates[p].on_time_rate if p in data.district_rates else None
                                for p in periods], ON_TIME_COLOUR, dashed=True),
    ]
    described = "; ".join(
        f"{month_name(p)}: reporting {percent(data.district_rates[p].reporting_rate)}, "
        f"on time {percent(data.district_rates[p].on_time_rate)}"
        for p in periods if p in data.district_rates
    ) or "no rates yet"
    chart = line_chart("trend-chart", periods, series, title=f"{data.district} district: reporting and on-time "
                       "rates by month", desc=described, width=1260, height=280)
    note = ""
    if len(periods) < len(data.periods):
        note = _note(f"The warehouse holds compliance data from {month_name(periods[0])} only, so the chart "
                     f"starts there ({len(periods)} of the last {len(data.periods)} months).")
    return (
        '<section id="trend">' + heading(2, "Trend over the last 12 months", "पिछले 12 महीनों का रुझान")
        + f'<figure class="chart">{chart}<figcaption>{escape(data.district)} district. Solid blue: reporting '
        "rate; dashed green: on-time rate. Hover a dot for its exact value.</figcaption></figure>"
        + note + "</section>"
    )


def outstanding(data: ReportData) -> str:
    """Facilities whose report for the month is still not accepted: whom to call."""
    due = _local(data.due_at).date()
    today = _local(data.as_of).date()
    rows = []
    for facility in data.facilities:
        status = data.statuses.get((facility.facility_id, data.period))
        if status is None or status.status not in ("missing", "rejected"):
            continue
        officer = data.block_officers.get(facility.block)
        rows.append(
            f'<tr><td class="id">{escape(facility.facility_id)}</td><th scope="row">{escape(facility.name)}</th>'
            f"<td>{escape(facility.facility_type)}</td><td>{escape(facility.ownership)}</td>"
            f"<td>{escape(facility.block)}</td><td>{_badge(status.status)}</td>"
            f'<td class="num">{max((today - due).days, 0)}</td>'
            f"<td>{_officer(officer)}</td></tr>"
        )
    body = (
        '<table class="list"><caption>Facilities with no accepted report for '
        f"{escape(month_name(data.period))}, by block.</caption><thead><tr>"
        '<th scope="col">ID</th><th scope="col">Facility</th><th scope="col">Type</th><th scope="col">Ownership</th>'
        '<th scope="col">Block</th><th scope="col">Status</th><th scope="col" class="num">Days overdue</th>'
        f'<th scope="col">Block officer</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        if rows else _note(f"Every expected facility has an accepted report for {month_name(data.period)}.",
                           "सभी संस्थानों की रिपोर्ट स्वीकार हो चुकी है।", "ok")
    )
    return ('<section id="outstanding">'
            + heading(2, "Facilities without an accepted report", "जिन संस्थानों की रिपोर्ट स्वीकार नहीं हुई")
            + body + "</section>")


def _signal_alarms(signals: Sequence[Signal], period: str) -> list[tuple[str, str, str]]:
    found = {(s.area_level, s.area, s.item_code) for s in signals if s.period == period and s.alarm}
    return sorted(found, key=lambda key: (key[0] != "district", key[1], key[2]))


def _count(value: float | None) -> str:
    """A case count or estimate: thousands separated, one decimal only below 100."""
    if value is None:
        return "–"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _reference(month: Sequence[Signal]) -> Signal | None:
    """The month's C2 result (the reference's middle method), else C1: C3's bound is on another scale."""
    evaluated = {s.method: s for s in month if s.alarm is not None and s.upper_bound is not None}
    return evaluated.get("C2") or evaluated.get("C1")


def _threshold(month: Sequence[Signal]) -> float | None:
    reference = _reference(month)
    return reference.upper_bound if reference else None


def disease_signals(data: ReportData) -> str:
    title = heading(2, "Disease-rise signals", "रोगों में वृद्धि के संकेत")
    if data.signals is None:
        return ('<section id="signals">' + title + _note(
            "Disease signals are not available: this warehouse has no marts.disease_signals table yet "
            "(it comes with migration 0004 and the hmis_signals DAG).", kind="missing") + "</section>")
    alarms = _signal_alarms(data.signals, data.period)
    if not alarms:
        evaluated = any(s.period == data.period for s in data.signals)
        text = (f"No disease rose above its expected range in {month_name(data.period)}."
                if evaluated else f"No disease signals were computed for {month_name(data.period)} yet "
                "(the hmis_signals DAG needs months of history).")
        hindi = "इस माह किसी रोग में असामान्य वृद्धि नहीं दिखी।" if evaluated else None
        return '<section id="signals">' + title + _note(text, hindi, "ok" if evaluated else "note") + "</section>"
    cards, rows = [], []
    for index, (level, area, item) in enumerate(alarms):
        mine = [s for s in data.signals if (s.area_level, s.area, s.item_code) == (level, area, item)]
        english, hindi = data.item_names.get(item, (item, None))
        disease = english.removeprefix("Outpatient - ")
        observed, bounds, flags = [], [], []
        for p in data.periods:
            month = [s for s in mine if s.period == p]
            observed.append(month[0].observed if month else data.disease_counts.get((level, area, item, p)))
            bounds.append(_threshold(month))
            flags.append(any(s.alarm for s in month))
        # Months before the first with a count are left off the chart, as on the trend chart.
        first = next(i for i, value in enumerate(observed) if value is not None)
        periods, observed, bounds, flags = data.periods[first:], observed[first:], bounds[first:], flags[first:]
        now = [s for s in mine if s.period == data.period]
        methods = ", ".join(s.method for s in now if s.alarm)
        reference = _reference(now)
        expected = reference.expected if reference else None
        bound = reference.upper_bound if reference else None
        where = f"{area} {'block' if level == 'block' else 'district'}"
        chart = signal_chart(
            f"signal-chart-{index}", periods, observed, bounds, flags,
            title=f"{disease}, {where}: cases per month",
            desc=f"{now[0].observed:,} cases in {month_name(data.period)}; alarm threshold {_count(bound)}",
            threshold_label="alarm threshold")
        cards.append(f'<figure class="signal">{chart}<figcaption><b>{escape(disease)}</b> — {escape(where)}'
                     f'{f" <span lang=hi>({escape(hindi)})</span>" if hindi else ""}</figcaption></figure>')
        rows.append(
            f'<tr><th scope="row">{escape(disease)}</th><td>{escape(where)}</td>'
            f'<td class="num">{now[0].observed:,}</td><td class="num">{_count(expected)}</td>'
            f'<td class="num">{_count(bound)}</td><td>{escape(methods)}</td></tr>'
        )
    table = ('<table class="list"><caption>Areas and diseases whose cases in '
             f"{escape(month_name(data.period))} exceeded what the months before predict (CDC EARS C1–C3). "
             "Expected and threshold are EARS C2's (C1's where C2 has too little history).</caption>"
             '<thead><tr><th scope="col">Disease</th><th scope="col">Area</th><th scope="col" class="num">Cases</th>'
             '<th scope="col" class="num">Expected</th><th scope="col" class="num">Threshold</th>'
             f'<th scope="col">Methods alarming</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    return ('<section id="signals">' + title + table + f'<div class="signals">{"".join(cards)}</div>'
            + _note("Bars: accepted cases per month; red bars with ▲ alarm under at least one EARS method. Dashed "
                    "line: the EARS C2 alarm threshold (C1 where C2 has too little history).") + "</section>")


def ultrasound(data: ReportData) -> str:
    title = heading(2, "Ultrasound scans: RCH registration number", "अल्ट्रासाउंड: गर्भवती महिला का आरसीएच पंजीकरण नंबर")
    if data.ultrasound is None:
        return ('<section id="ultrasound">' + title + _note(
            "Ultrasound compliance is not available: this warehouse has no marts.ultrasound_compliance table yet "
            "(migration 0004).", kind="missing") + "</section>")
    if not data.ultrasound:
        return ('<section id="ultrasound">' + title + _note(
            f"No ultrasound line lists have been processed for {month_name(data.period)}.") + "</section>")
    threshold = data.ultrasound[0].threshold
    rows: dict[bool, list[str]] = {True: [], False: []}
    for u in data.ultrasound:
        verdict = ('<span class="badge st-missing"><span aria-hidden="true">✗</span> below threshold</span>'
                   if u.below_threshold else
                   '<span class="badge st-on_time"><span aria-hidden="true">✓</span> meets threshold</span>')
        rows[u.below_threshold].append(
            f'<tr><td class="id">{escape(u.facility_id)}</td><th scope="row">{escape(u.name)}</th><td>{escape(u.block)}</td>'
            f'<td class="num">{u.scans}</td><td class="num">{u.valid}</td>'
            + _rate_cell(u.share_valid, "#c62828" if u.below_threshold else ON_TIME_COLOUR)
            + f"<td>{verdict}</td></tr>"
        )
    below = len(rows[True])
    head = ('<thead><tr><th scope="col">ID</th><th scope="col">Facility</th><th scope="col">Block</th>'
            '<th scope="col" class="num">Scans</th><th scope="col" class="num">Valid RCH ID</th>'
            '<th scope="col" class="num">Share valid</th><th scope="col">Rule</th></tr></thead>')
    shown = (f'<table class="list"><caption>Facilities below the threshold in {escape(month_name(data.period))} '
             f'(counts only; no personal data).</caption>{head}<tbody>{"".join(rows[True])}</tbody></table>'
             if below else _note("Every facility met the threshold.", None, "ok"))
    folded = (f'<details><summary>{len(rows[False])} facilities met the threshold</summary>'
              f'<table class="list"><caption>Facilities at or above the threshold.</caption>{head}'
              f'<tbody>{"".join(rows[False])}</tbody></table></details>' if rows[False] else "")
    return (
        '<section id="ultrasound">' + title
        + _note(f"Every ultrasound on a pregnant woman must carry her 12-digit RCH ID. {below} of "
                f"{len(data.ultrasound)} facilities recorded a valid ID on fewer than {percent(threshold, 0)} of "
                f"their scans in {month_name(data.period)}.",
                "निजी अस्पताल में अल्ट्रासाउंड करवाने वाली हर गर्भवती महिला का पंजीकरण नंबर दर्ज करना अनिवार्य है।")
        + shown + folded + "</section>"
    )


def registration_gap(data: ReportData) -> str:
    title = heading(2, "Registration gap: institutions not registered on HMIS",
                    "पंजीकरण अंतर: एचएमआईएस पोर्टल पर अपंजीकृत संस्थान")
    if data.registration_gap is None:
        return ('<section id="registration-gap">' + title + _note(
            "The registration gap is not available: this warehouse has no compliance.registration_gap table yet "
            "(migration 0003).", kind="missing") + "</section>")
    gap = data.registration_gap
    if not gap:
        return ('<section id="registration-gap">' + title + _note(
            "Every open institution in the registry is registered on HMIS.",
            "रजिस्टर के सभी संस्थान एचएमआईएस पर पंजीकृत हैं।", "ok") + "</section>")
    private = sum(g.ownership == "private" for g in gap)
    ayush = sum(g.is_ayush for g in gap)
    by_block = Counter(g.block for g in gap)
    block_cells = "".join(f'<tr><th scope="row">{escape(b)}</th><td class="num">{n}</td></tr>'
                          for b, n in sorted(by_block.items()))
    rows = "".join(
        f'<tr><td class="id">{escape(g.facility_id)}</td><th scope="row">{escape(g.name)}</th><td>{escape(g.facility_type)}</td>'
        f"<td>{escape(g.ownership)}{' · AYUSH' if g.is_ayush else ''}</td><td>{escape(g.block)}</td>"
        f"<td>{escape(g.unregistered_since.isoformat()) if g.unregistered_since else 'unknown'}</td>"
        f'<td class="num">{"–" if g.days_unregistered is None else g.days_unregistered}</td></tr>'
        for g in gap
    )
    return (
        '<section id="registration-gap">' + title
        + _note(f"{len(gap)} open institutions in the registry are not registered on the HMIS portal "
                f"({private} private, {len(gap) - private} public, {ayush} AYUSH), so they cannot report at all.",
                f"{len(gap)} संस्थान एचएमआईएस पोर्टल पर पंजीकृत नहीं हैं; इनका जल्द से जल्द पंजीकरण करवाएँ।")
        + '<div class="split"><table class="list small"><caption>By block</caption><thead><tr>'
        '<th scope="col">Block</th><th scope="col" class="num">Unregistered</th></tr></thead>'
        f"<tbody>{block_cells}</tbody></table>"
        '<table class="list"><caption>Institutions to register, longest unregistered first within each block.'
        '</caption><thead><tr><th scope="col">ID</th><th scope="col">Institution</th><th scope="col">Type</th>'
        '<th scope="col">Ownership</th><th scope="col">Block</th><th scope="col">Unregistered since</th>'
        f'<th scope="col" class="num">Days</th></tr></thead><tbody>{rows}</tbody></table></div></section>'
    )


def legend() -> str:
    items = "".join(
        f'<li><span class="cell st-{status}" aria-hidden="true">{symbol}</span> {escape(english)} '
        f'<span lang="hi">/ {escape(hindi)}</span></li>'
        for status, (symbol, english, hindi) in STATUS_LABELS.items()
    )
    return f'<ul class="legend" aria-label="Legend of the status colours">{items}</ul>'


def heatmap(data: ReportData) -> str:
    """One small table per block: facilities × months, each cell a status colour and symbol."""
    with_data = sorted({p for _f, p in data.statuses})
    periods = [p for p in data.periods if p in with_data]
    head = "".join(
        f'<th scope="col" class="month" abbr="{escape(month_name(p))}">{escape(period_label(p)[:3])}'
        f'<br>{escape(period_label(p)[-2:])}</th>' for p in periods
    )
    cards = []
    for block in data.blocks:
        facilities = [f for f in data.facilities if f.block == block]
        if not facilities:
            continue
        rows = []
        for f in facilities:
            cells = []
            for p in periods:
                status = data.statuses.get((f.facility_id, p))
                key = status.status if status else "none"
                symbol, english, _hindi = STATUS_LABELS[key]
                cells.append(f'<td class="cell st-{key}" data-facility="{escape(f.facility_id)}" data-period="{p}" '
                             f'title="{escape(f.name)}, {escape(month_name(p))}: {escape(english)}">{symbol}</td>')
            rows.append(f'<tr><th scope="row" title="{escape(f.facility_id)} · {escape(f.facility_type)} · '
                        f'{escape(f.ownership)}"><span class="fname">{escape(f.name)}</span></th>{"".join(cells)}</tr>')
        cards.append(
            f'<table class="heatmap" data-block="{escape(block)}"><caption>{escape(block)} '
            f'<small>({len(facilities)} facilities)</small></caption><thead><tr><th scope="col">Facility</th>{head}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        )
    return (
        '<section id="heatmap">' + heading(2, "Facilities by month", "संस्थानवार मासिक स्थिति")
        + _note(f"Each cell is one facility's report for one month ({period_label(periods[0]) if periods else ''}"
                f" – {period_label(periods[-1]) if periods else ''}), by block; months without compliance data "
                "are left out.")
        + legend() + f'<div class="heatmaps">{"".join(cards)}</div></section>'
    )


def footer(data: ReportData) -> str:
    missing = ""
    if data.missing_tables:
        missing = f" Not yet in this warehouse: {', '.join(data.missing_tables)}."
    return (
        '<footer><p>Sources: compliance.facility_status, marts.reporting_rates, ref.facility, ref.contact, '
        "compliance.registration_gap, marts.ultrasound_compliance, marts.disease_signals (PostgreSQL warehouse)."
        f"{escape(missing)} Figures as of {_local(data.as_of):%d %b %Y %H:%M} IST, the pipeline run's logical "
        'date.</p><p lang="hi">स्रोत: एचएमआईएस डेटा वेयरहाउस।</p></footer>'
    )
