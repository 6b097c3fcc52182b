"""Data-quality results, feedback documents and corrected resubmissions, end to end."""

import os
from datetime import datetime, timedelta

import pytest

from hmis.platform.settings import load_settings
from hmis.platform.warehouse import fetch_all as rows
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)




def write_file(landing, period, name, values, arrived):
    path = landing / "submissions" / period / name
    facility = name.split("__")[0].removesuffix(".csv")
    lines = ["facility_id,period,item_code,value"] + [f"{facility},{period},{k},{v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))


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
    # Validation ran once per suite for the whole batch, not once per facility.
    runs = rows("SELECT suite, files FROM dq.validation_run ORDER BY suite")
    assert [s for s, _ in runs] == ["hmis_file_checks", "hmis_submission"]
    assert all(files > 200 for _, files in runs)


def test_corrected_resubmission_replaces_values_and_resolves_feedback(warehouse, mail_sink, landing, airflow_home):
    truth = generate(landing, AS_OF, months=1)
    period = truth.periods[0]
    assert str(run_dag(load_settings(), AS_OF).state).endswith("success")
    facility = sorted(f for (f, p), s in truth.status.items() if p == period and s == "on_time")[0]
    original = truth.values[(facility, period)]

    # Day 1: a revision with first-trimester registrations above all registrations (a warning).
    revised = dict(original)
    revised["1.1.1"] = revised.get("1.1", 0) + 5
    write_file(landing, period, f"{facility}__v7.csv", revised, AS_OF + timedelta(hours=2))
    assert str(run_dag(load_settings(), AS_OF + timedelta(days=1)).state).endswith("success")
    loaded = dict(rows("SELECT item_code, value FROM facts.monthly_value WHERE facility_id = %s AND period = %s",
                       (facility, period)))
    assert loaded == revised
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
    fixed = dict(revised)
    fixed["1.1.1"] = max(0, fixed.get("1.1", 0) - 1)
    write_file(landing, period, f"{facility}__v8.csv", fixed, AS_OF + timedelta(days=1, hours=2))
    assert str(run_dag(load_settings(), AS_OF + timedelta(days=2)).state).endswith("success")
    loaded = dict(rows("SELECT item_code, value FROM facts.monthly_value WHERE facility_id = %s AND period = %s",
                       (facility, period)))
    assert loaded == fixed
    assert rows("""SELECT fb.status, nf.key FROM dq.feedback fb
                     JOIN ingest.file f USING (file_id)
                     JOIN ingest.file nf ON nf.file_id = fb.resolved_by_file_id
                    WHERE f.key = %s""", (revision,)) == [("resolved", f"submissions/{period}/{facility}__v8.csv")]
