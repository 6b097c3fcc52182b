"""Portal pulls: split each downloaded facility-wise report into one submission per facility-month.

The district downloads the portal's "Monthly Data Item Wise Report Across Facility" (every
facility of one type, one or more months) and hands it over with ``hmis portal-import``,
which keeps it under ``portal/<day>/<moment>__<name>``. This stage, before discovery, reads
each new pull (:mod:`hmis.ingest.portal_report`) and for every facility-month that holds at
least one item writes the facility's own submission (``submissions/<month>/<facility>__portal-
<moment>.csv``), which the usual stages then judge on its own: one facility's bad row never
rejects the others, and the pull is named as the source of each.

A facility-month counts as arrived at the first pull that holds it: a later pull with the
same values writes nothing, one with changed values writes a new version, which supersedes the
earlier one as any corrected file does. A row the reader could not keep (an identifier-like
number in a cell, say) is recorded as that facility-month's rejected submission with its
reason, and nothing of it is written. The descriptor columns are a registry source: facilities
the registry does not list are kept in ``ref.portal_facility`` (and added to ``ref.facility``,
marked as from the portal), and where registry and report disagree the difference is listed
in ``ref.registry_difference`` for the district to resolve.

A pull may also be the district-level "Data ItemWise Report" (:mod:`hmis.ingest.portal_itemwise`):
the district's own totals as the portal holds them, items in rows and areas in column groups.
The kind is told by reading (:func:`read_pull`): the facility-wise reader first, then the
item-wise one; a file neither reads is refused with both reasons. An item-wise pull writes no
submissions: the values of each of its areas that is a district of the registry (by LGD code,
else by name; block columns are not kept) go to ``ingest.portal_district_value``, and the
ledger row says ``report_kind = 'district item-wise'``. The marts build reconciles our totals
with the latest such pull of each district, month and kind (monthly or financial year to
date): a later pull supersedes an earlier one (``sql/marts/reconciliation.sql``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from psycopg2.extras import execute_values

from hmis.ingest.parse import SubmissionError
from hmis.ingest.portal_itemwise import ItemwiseReport, read_itemwise_report
from hmis.ingest.portal_report import PortalReport, facility_type_code, read_portal_report, to_submission_csv
from hmis.platform.landing import LandingStore
from hmis.platform.store_layout import (
    PORTAL_LABEL,
    PORTAL_PREFIX,
    KeyLayoutError,
    parse_key,
    parse_portal_key,
    period_prefix,
    pulled_submission_key,
    quarantine_key,
)
from hmis.platform.warehouse import statement
from hmis.reference.registry import add_portal_facilities

log = logging.getLogger(__name__)
SQL = "ingest/portal.sql"

# Fields compared between the registry and a report's descriptor columns.
COMPARED = ("facility_type", "ownership", "block")
FACILITY_WISE = "facility-wise"
DISTRICT_ITEMWISE = "district item-wise"
# Reader problems of an item-wise pull quoted in its ledger row before the rest are counted.
MAX_QUOTED_PROBLEMS = 3


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()).rstrip(".")


def read_pull(data: bytes, filename: str, max_bytes: int) -> PortalReport | ItemwiseReport:
    """The pull read as the portal report it is: the facility-wise report, else the district's
    Data ItemWise Report. Raises :class:`SubmissionError` with both readers' reasons, in one
    line, when it is neither."""
    try:
        return read_portal_report(data, filename, max_bytes)
    except SubmissionError as facility_wise:
        try:
            return read_itemwise_report(data, filename, max_bytes)
        except SubmissionError as itemwise:
            raise SubmissionError(
                f"it is neither a facility-wise report ({_one_line(facility_wise)}) nor a district Data ItemWise "
                f"Report ({_one_line(itemwise)})") from None


def _ownership(printed: str | None) -> str | None:
    text = (printed or "").casefold()
    if "private" in text:
        return "private"
    if "public" in text or "government" in text or "govt" in text:
        return "public"
    return None


class EarlierVersions:
    """The newest earlier pulled version of each facility-month (by the pull's label), to tell
    a revision from a repeat; each month's folder is listed once per pull."""

    def __init__(self, store: LandingStore, label: str = PORTAL_LABEL):
        self.store, self.label, self._keys = store, label, {}

    def latest(self, period: str, facility_id: str) -> bytes | None:
        if period not in self._keys:
            self._keys[period] = sorted(obj.key for obj in self.store.list(period_prefix(period)))
        prefix = f"{period_prefix(period)}{facility_id}__{self.label}"
        keys = [k for k in self._keys[period] if k.startswith(prefix)]
        return self.store.read(keys[-1]) if keys else None


def _facility_record(row, key: str, now: datetime) -> tuple:
    d = row.descriptors
    return (d.get("facility_code"), d.get("facility_name"), facility_type_code(d.get("facility_type")),
            d.get("facility_type"), _ownership(d.get("ownership")), d.get("block"), row.lgd.get("block"),
            d.get("district"), row.lgd.get("district"), d.get("state"), d.get("status"), key, now)


def _differences(cur, report: PortalReport, key: str, now: datetime) -> int:
    """Record registry/report differences of the facilities this pull describes."""
    codes = sorted({r.descriptors.get("facility_code") for r in report.rows if r.descriptors.get("facility_code")})
    cur.execute("SELECT facility_id, facility_type, ownership, block, source FROM ref.facility "
                "WHERE facility_id = ANY(%s)", (codes,))
    registry = {row[0]: row[1:] for row in cur.fetchall()}
    found = {}
    for row in report.rows:
        code = row.descriptors.get("facility_code")
        if not code:
            continue
        portal = (facility_type_code(row.descriptors.get("facility_type")) or row.descriptors.get("facility_type"),
                  _ownership(row.descriptors.get("ownership")), row.descriptors.get("block"))
        known = registry.get(code)
        if known is None or known[3] != "registry":
            found[(code, "not in registry")] = (None, row.descriptors.get("facility_name"))
            continue
        for field, ours, theirs in zip(COMPARED, known[:3], portal):
            if theirs is not None and ours != theirs:
                found[(code, field)] = (ours, theirs)
    if found:
        execute_values(cur, statement(SQL, "record_differences"),
                       [(code, field, ours, theirs, key, now) for (code, field), (ours, theirs) in found.items()])
    return len(found)


def split_pulls(conn, store: LandingStore, as_of: datetime, run_id: str, max_bytes: int) -> dict:
    """Split every portal pull made by ``as_of`` that the ledger has not seen (see the module docstring)."""
    with conn.cursor() as cur:
        cur.execute("SELECT key FROM ingest.portal_pull")
        seen = {row[0] for row in cur.fetchall()}
    pulls = rejected = written = repeats = problems = itemwise = 0
    for obj in sorted(store.list(f"{PORTAL_PREFIX}/"), key=lambda o: o.key):
        if obj.key in seen or obj.key.endswith(".partial"):
            continue
        try:
            pulled_at, name = parse_portal_key(obj.key)
        except KeyLayoutError:
            continue  # not a pull (a note beside it, say): never read
        if pulled_at > as_of:
            continue  # a run for an earlier date does not see later pulls
        data = store.read(obj.key)
        digest = hashlib.sha256(data).hexdigest()
        with conn, conn.cursor() as cur:
            report = None
            try:
                report = read_pull(data, name, max_bytes)
                if isinstance(report, ItemwiseReport):
                    districts = _store_itemwise(cur, report, obj.key, digest, pulled_at, run_id, as_of)
                    itemwise += 1
                    log.info("portal: %s is a Data ItemWise Report of %s for %s%s", obj.key,
                             ", ".join(districts), report.period, " (financial year to date)" if report.cumulative
                             else "")
                    continue
            except SubmissionError as exc:
                # An item-wise report that was read but names no district of ours is still that kind.
                kind, as_on, periods = ((DISTRICT_ITEMWISE, report.status_as_on, [report.period])
                                        if isinstance(report, ItemwiseReport) else (None, None, None))
                cur.execute(statement(SQL, "record_pull"), (
                    obj.key, digest, pulled_at, as_on, kind, None, periods, "rejected", f"{name}: {exc}", 0, 0, 0,
                    run_id, as_of))
                rejected += 1
                continue
            counts = {"rows": len(report.rows), "reported": 0, "written": 0}
            facilities = [_facility_record(r, obj.key, as_of) for r in report.rows if r.descriptors.get("facility_code")]
            if facilities:
                execute_values(cur, statement(SQL, "upsert_portal_facility"), facilities)
            _differences(cur, report, obj.key, as_of)
            # A facility new to the registry can be judged in this very run.
            add_portal_facilities(cur, as_of)
            earlier = EarlierVersions(store)
            unplaced = []   # rows with data that name no facility or no month: said in the pull's reason
            for row in report.rows:
                facility_id = row.descriptors.get("facility_code")
                # A row that sent nothing has not reported, unless the reader could not tell
                # (a problem): then it is that facility-month's rejected submission.
                if not row.reported and not row.problem:
                    continue
                if not facility_id or not row.period:
                    unplaced.append(f"line {row.line} ({facility_id or 'no facility code'}"
                                    f"{'' if row.period else ', no readable month'})")
                    continue
                counts["reported"] += 1
                key = pulled_submission_key(row.period, facility_id, pulled_at)
                try:
                    parse_key(key)
                except KeyLayoutError as exc:
                    row.problem = row.problem or f"the facility code cannot name a submission: {exc}"
                if row.problem:
                    _record_problem(cur, store, key, facility_id, row, name, pulled_at, run_id, as_of)
                    problems += 1
                    continue
                content = to_submission_csv(report, row, facility_id)
                if earlier.latest(row.period, facility_id) == content:
                    repeats += 1   # the same values as the pull that first held them
                    continue
                store.write(key, content)
                counts["written"] += 1
            written += counts["written"]
            cur.execute(statement(SQL, "record_pull"), (
                obj.key, digest, pulled_at, report.data_as_on, FACILITY_WISE, report.facility_type,
                list(report.periods), "split",
                f"{len(unplaced)} row(s) with data could not be filed as a facility-month and were left out: "
                f"{'; '.join(unplaced[:10])}" if unplaced else None,
                counts["rows"], counts["reported"], counts["written"], run_id, as_of))
            pulls += 1
    log.info("portal: %d pull(s) split, %d district item-wise pull(s) read, %d refused; %d facility-month "
             "version(s) written, %d unchanged, %d refused", pulls, itemwise, rejected, written, repeats, problems)
    return {"portal_pulls": pulls, "portal_pulls_rejected": rejected, "portal_versions_written": written,
            "portal_unchanged": repeats, "portal_rows_rejected": problems, "portal_itemwise_pulls": itemwise}


def _registry_district(name: str, lgd: str | None, registry: list[tuple[str, str | None]]) -> str | None:
    """The registry's district an area of an item-wise report is: the same LGD code, else (when
    either side has no code) the same name. A block's column group matches no district."""
    if lgd:
        for district, code in registry:
            if code and code == lgd:
                return district
    for district, code in registry:
        if district.casefold() == name.casefold() and not (lgd and code):
            return district
    return None


def _store_itemwise(cur, report: ItemwiseReport, key: str, digest: str, pulled_at: datetime, run_id: str,
                    now: datetime) -> list[str]:
    """Keep the values of the report's districts and record the pull; return the districts.

    Raises :class:`SubmissionError` (before anything is written) when no area of the report is
    a district of the registry."""
    cur.execute(statement(SQL, "registry_districts"))
    registry = cur.fetchall()
    areas: dict[tuple[str, str | None], str] = {}
    for name, lgd in report.areas:
        district = _registry_district(name, lgd, registry)
        if district is not None and district not in areas.values():
            areas[(name, lgd)] = district
    if not areas:
        printed = ", ".join(f"{name}({lgd})" if lgd else name for name, lgd in report.areas[:6])
        more = ", …" if len(report.areas) > 6 else ""
        raise SubmissionError(
            f"the Data ItemWise Report names no district of the facility registry (its areas: {printed}{more}); "
            "download the report of the district itself (its first column group is the district)")
    rows = [(key, areas[(v.area, v.lgd)], v.lgd, v.area, report.period, report.financial_year, report.cumulative,
             v.item_code, v.sub_item, v.column, v.value)
            for v in report.values if (v.area, v.lgd) in areas]
    reason = None
    if report.problems:
        quoted = "; ".join(" ".join(p.split()) for p in report.problems[:MAX_QUOTED_PROBLEMS])
        more = len(report.problems) - MAX_QUOTED_PROBLEMS
        reason = (f"read with {len(report.problems)} problem(s), those cells or rows left out: {quoted}"
                  + (f"; … and {more} more" if more > 0 else ""))
    cur.execute(statement(SQL, "record_pull"), (
        key, digest, pulled_at, report.status_as_on, DISTRICT_ITEMWISE, None, [report.period], "split", reason,
        0, 0, 0, run_id, now))
    if rows:
        execute_values(cur, statement(SQL, "record_district_values"), rows, page_size=1000)
    return sorted(set(areas.values()))


def _record_problem(cur, store: LandingStore, key: str, facility_id: str, row, source: str, pulled_at: datetime,
                    run_id: str, now: datetime) -> None:
    """A facility-month the report could not give cleanly: a rejected submission with its
    reason (nothing of the row is kept or repeated), so the facility's status says so."""
    reason = f"{source} ({row.period}): {row.problem}"   # the problem names the facility and row
    digest = "portal-row:" + hashlib.sha256(f"{key}|{reason}".encode()).hexdigest()
    cur.execute(statement(SQL, "record_rejected_row"), {
        "key": key, "sha": digest, "pulled": pulled_at, "facility": facility_id, "period": row.period,
        "reason": reason, "run": run_id, "now": now})
    file_id = cur.fetchone()
    if file_id:
        target = quarantine_key(key, file_id[0])
        store.write(target + ".reason.txt", (reason + "\n").encode("utf-8"))
        cur.execute("UPDATE ingest.file SET quarantine_key = %s WHERE file_id = %s", (target, file_id[0]))
