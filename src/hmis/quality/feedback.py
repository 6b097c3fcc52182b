"""Feedback documents for facilities whose file was rejected or flagged.

For each such file the pipeline writes, next to the submissions in the landing store, an
HTML page and a CSV under ``feedback/<period>/<facility_id>-<file_id>.*``: every problem in
plain English and Hindi, and what to do. ``dq.feedback`` tracks each document; when the
facility's corrected file is loaded, the earlier feedback is marked resolved.
"""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime

from hmis.platform.landing import LandingStore
from hmis.quality.findings import Finding
from hmis.reference.periods import month_name

HEADER = ["facility_id", "period", "file", "severity", "check", "item_code", "problem", "समस्या"]


def _csv_cell(value) -> str:
    """Neutralise spreadsheet formulas: operators open these files in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render_csv(facility_id: str | None, period: str | None, key: str, findings: list[Finding]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for f in findings:
        writer.writerow([_csv_cell(v) for v in (facility_id, period, key, f.severity, f.expectation_id,
                                                 f.item_code, f.message, f.message_hi)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel then reads Hindi correctly


def render_html(facility: dict, period: str | None, key: str, findings: list[Finding], kind: str,
                as_of: datetime) -> bytes:
    name = facility.get("name") or facility.get("facility_id") or "unknown facility"
    month = month_name(period) if period else "unknown month"
    if kind == "rejected":
        summary_en = ("Your file was <b>not accepted</b>: nothing from it was loaded. Correct the problems "
                      "below and upload the whole month again.")
        summary_hi = "आपकी फ़ाइल <b>स्वीकार नहीं हुई</b>; इसका कोई भी आंकड़ा दर्ज नहीं हुआ। नीचे दी गई त्रुटियाँ ठीक करके पूरे माह की फ़ाइल दोबारा अपलोड करें।"
    else:
        summary_en = ("Your file was <b>accepted</b>, but some figures look wrong. Please check them and upload "
                      "a corrected file if needed.")
        summary_hi = "आपकी फ़ाइल <b>स्वीकार हुई</b>, पर कुछ आंकड़े संदिग्ध हैं। कृपया जाँचें और ज़रूरत हो तो सुधरी फ़ाइल अपलोड करें।"
    rows = "".join(
        f"<tr><td>{html.escape(f.severity)}</td><td>{html.escape(f.item_code or '')}</td>"
        f"<td>{html.escape(f.message)}</td><td lang='hi'>{html.escape(f.message_hi or '')}</td></tr>"
        for f in findings
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HMIS feedback — {html.escape(name)} — {month}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:.4em;vertical-align:top}}th{{background:#eee}}</style></head>
<body><h1>HMIS monthly report: {html.escape(name)} ({html.escape(str(facility.get('facility_id', '')))})</h1>
<p>{html.escape(month)} · file <code>{html.escape(key)}</code> · checked {as_of:%d %b %Y}</p>
<p>{summary_en}</p><p lang="hi">{summary_hi}</p>
<table><thead><tr><th>Severity</th><th>Item</th><th>Problem and what to do</th><th>समस्या और क्या करें</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>
"""
    return page.encode("utf-8")


def write_feedback(cur, store: LandingStore, file_id: int, key: str, facility: dict, period: str | None,
                   findings: list[Finding], kind: str, as_of: datetime) -> None:
    """Write both documents and record them in ``dq.feedback`` (idempotent per file)."""
    facility_id = facility.get("facility_id")
    stem = f"feedback/{period or 'unsorted'}/{facility_id or 'unknown'}-{file_id}"
    store.write(stem + ".html", render_html(facility, period, key, findings, kind, as_of))
    store.write(stem + ".csv", render_csv(facility_id, period, key, findings))
    cur.execute(
        """INSERT INTO dq.feedback (file_id, facility_id, period, kind, problems, html_key, csv_key, status, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 'open', %s)
           ON CONFLICT (file_id) DO UPDATE SET kind = EXCLUDED.kind, problems = EXCLUDED.problems""",
        (file_id, facility_id, period, kind, len(findings), stem + ".html", stem + ".csv", as_of),
    )


def resolve_superseded(cur, winners: dict[tuple[str, str], int], as_of: datetime) -> int:
    """Mark open feedback resolved when a newer file for the same facility-period loaded."""
    resolved = 0
    for (facility_id, period), file_id in winners.items():
        cur.execute(
            """UPDATE dq.feedback SET status = 'resolved', resolved_by_file_id = %s, resolved_at = %s
                WHERE facility_id = %s AND period = %s AND status = 'open' AND file_id < %s""",
            (file_id, as_of, facility_id, period, file_id),
        )
        resolved += cur.rowcount
    return resolved
