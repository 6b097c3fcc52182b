"""Data-quality results, feedback documents and corrected resubmissions, end to end."""

import csv
import os
from datetime import datetime, timedelta

import pytest

from hmis.platform.settings import load_settings
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.formats import TOTAL, format_title, load_catalogue
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.defects import NEWER_FORMAT_CODE, UNKNOWN_ITEM_CODE
from hmis_dev.demo.files import csv_bytes
from hmis_dev.demo.generator import generate
from hmis_dev.demo.values import Report

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
# The blocking finding each kind of broken demo file must get (hmis_dev.demo.defects).
DEFECT_FINDINGS = {
    "text_value": "value.non_negative_integer",
    "negative_value": "value.non_negative_integer",
    "unknown_item": "item.known",
    "newer_format_item": "item.known",
    "missing_value_column": "file.readable",
    "period_mismatch": "period.matches_folder",
    "duplicate_item": "item.unique",
    "not_utf8": "file.readable",
}
UNKNOWN_CODES = {"unknown_item": UNKNOWN_ITEM_CODE, "newer_format_item": NEWER_FORMAT_CODE}




def report_of(truth, facility: str, period: str) -> Report:
    """The truth's values of a facility-month as the demo's report in the facility's own format."""
    format_id = truth.formats[(facility, period)]
    values = truth.values[(facility, period)]
    items = tuple(item for item in load_catalogue().items[format_id]
                  if (item.element, item.disaggregations[0]) in values)
    return Report(format_id, items, values)


def write_file(landing, period, name, report: Report, arrived):
    """The file as the demo writes it: the facility's own codes, ``sub_item`` where it has stock."""
    path = landing / "submissions" / period / name
    facility = name.split("__")[0].removesuffix(".csv")
    path.write_bytes(csv_bytes(*report.table(facility, period)))
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))


def _format_of(landing, facility: str, period: str) -> str:
    """The format a facility reports on in a month, from its type in the registry."""
    with (landing / "registry" / "facilities.csv").open(encoding="utf-8", newline="") as handle:
        facility_type = next(r["facility_type"] for r in csv.DictReader(handle) if r["facility_id"] == facility)
    return load_catalogue().format_for(facility_type, period).format_id


def loaded_values(facility, period) -> dict:
    """What the warehouse holds for a facility-month: (element, disaggregation) -> the number,
    or the text for statuses, dates and percentages."""
    return {(element, sub): value if value is not None else text for element, sub, value, text in rows(
        """SELECT item_code, disaggregation, value, value_text FROM facts.monthly_value
            WHERE facility_id = %s AND period = %s""", (facility, period))}


def test_every_rejection_is_explained_and_fed_back(warehouse, mail_sink, landing, airflow_home):
    truth = generate(landing, AS_OF, months=1)
    assert str(run_dag(load_settings(), AS_OF).state).endswith("success")
    rejected = rows("""SELECT f.file_id, f.facility_id, count(r.*), bool_and(r.message <> ''),
                              max(fb.html_key), max(fb.kind)
                         FROM ingest.file f JOIN dq.result r USING (file_id)
                         LEFT JOIN dq.feedback fb USING (file_id)
                        WHERE f.status = 'rejected' AND r.severity = 'blocking' GROUP BY 1, 2""")
    assert len(rejected) == sum(1 for f in truth.files if not f.valid)
    for _file_id, _facility, findings, has_message, html_key, kind in rejected:
        assert findings >= 1 and has_message and kind == "rejected"
        page = (landing / html_key).read_text(encoding="utf-8")
        assert "not accepted" in page and "स्वीकार नहीं" in page
    # Each broken file is rejected for its own defect; a code its format lacks is named, item by item.
    found: dict[str, dict[str, set]] = {}
    for key, expectation, item, message in rows(
            """SELECT f.key, r.expectation_id, r.item_code, r.message FROM ingest.file f JOIN dq.result r USING (file_id)
                WHERE f.status = 'rejected' AND r.severity = 'blocking'"""):
        found.setdefault(key, {}).setdefault(expectation, set()).add((item, message))
    for demo_file in (f for f in truth.files if not f.valid):
        expectation = DEFECT_FINDINGS[demo_file.defect]
        assert expectation in found.get(demo_file.key, {}), (demo_file.key, demo_file.defect, found.get(demo_file.key))
        if demo_file.defect in UNKNOWN_CODES:
            code = UNKNOWN_CODES[demo_file.defect]
            title = format_title(_format_of(landing, demo_file.facility_id, demo_file.period))
            assert [(item, f"({title})" in message and repr(code) in message)
                    for item, message in found[demo_file.key][expectation]] == [(code, True)]
    # Validation ran once per suite for the whole batch, not once per facility.
    runs = rows("SELECT suite, files FROM dq.validation_run ORDER BY suite")
    assert [s for s, _ in runs] == ["hmis_file_checks", "hmis_submission"]
    assert all(files > 200 for _, files in runs)


def test_corrected_resubmission_replaces_values_and_resolves_feedback(warehouse, mail_sink, landing, airflow_home):
    truth = generate(landing, AS_OF, months=1)
    period = truth.periods[0]
    assert str(run_dag(load_settings(), AS_OF).state).endswith("success")
    # The first on-time facility that reports ANC registrations (a district hospital, with stock items).
    facility = sorted(f for (f, p), s in truth.status.items() if p == period and s == "on_time"
                      and {("1.1", TOTAL), ("1.1.1", TOTAL)} <= set(truth.values[(f, p)]))[0]
    original = report_of(truth, facility, period)
    registered = original.numbers()["1.1"]

    # Day 1: a revision with first-trimester registrations above all registrations (a warning).
    revised = original.with_counts({"1.1.1": registered + 5})
    write_file(landing, period, f"{facility}__v7.csv", revised, AS_OF + timedelta(hours=2))
    assert str(run_dag(load_settings(), AS_OF + timedelta(days=1)).state).endswith("success")
    assert loaded_values(facility, period) == revised.values
    feedback = rows("""SELECT f.key, fb.status, fb.kind, f.status FROM dq.feedback fb JOIN ingest.file f USING (file_id)
                        WHERE fb.facility_id = %s AND fb.period = %s""", (facility, period))
    revision = f"submissions/{period}/{facility}__v7.csv"
    assert (revision, "open", "flagged", "loaded") in feedback
    # any feedback on the facility's earlier file is resolved by the newer one
    assert all(status == "resolved" for key, status, _k, _s in feedback if key != revision)
    assert rows("SELECT count(*) FROM ingest.file WHERE facility_id = %s AND period = %s AND status = 'superseded'",
                (facility, period))[0][0] >= 1
    # Still on time: the first acceptable file came before the due date.
    assert rows("SELECT status FROM compliance.facility_status WHERE facility_id = %s AND period = %s",
                (facility, period)) == [("on_time",)]

    # Day 2: the facility fixes it; its values are replaced as a whole and the feedback resolves.
    fixed = revised.with_counts({"1.1.1": max(0, registered - 1)})
    write_file(landing, period, f"{facility}__v8.csv", fixed, AS_OF + timedelta(days=1, hours=2))
    assert str(run_dag(load_settings(), AS_OF + timedelta(days=2)).state).endswith("success")
    assert loaded_values(facility, period) == fixed.values
    assert rows("""SELECT fb.status, nf.key FROM dq.feedback fb
                     JOIN ingest.file f USING (file_id)
                     JOIN ingest.file nf ON nf.file_id = fb.resolved_by_file_id
                    WHERE f.key = %s""", (revision,)) == [("resolved", f"submissions/{period}/{facility}__v8.csv")]
