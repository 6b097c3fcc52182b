"""The approval's texts: request with its link, the form, the state's note, the returned note."""

import email
import email.policy
from datetime import UTC, datetime

import pytest

from hmis.approval.messages import (
    Recipient,
    change_lines,
    changes_csv,
    changes_email,
    form_body,
    number_text,
    request_email,
    returned_email,
)
from hmis.approval.revisions import Change, Revision
from hmis.reference.periods import REPORTING_TZ

pytestmark = pytest.mark.unit

SENDER = "hmis-pipeline@hisar.hmis.example"
AS_OF = datetime(2026, 10, 7, 6, 0, tzinfo=REPORTING_TZ)
OFFICER = Recipient("Dr. Ramesh Godara (SMO HMIS)", "hmis.nodal@hisar.hmis.example")
LINK = "http://127.0.0.1:8080/dags/hmis_approval/runs/approval__hisar__2026-09__r2/tasks/approve/required_actions?map_index=-1"
CHANGES = [Change("1.1", "TOTAL", 120.0, 125.0), Change("2.1", "TOTAL", None, 3.0)]


def revision(number=2, **extra) -> Revision:
    fields = dict(state="Haryana", district="Hisar", period="2026-09", revision=number, ledger_state="abc",
                  status="pending", expected=266, reported=250, on_time=240, reporting_rate=250 / 266,
                  due_at=datetime(2026, 10, 5, 18, 29, 59, tzinfo=UTC), built_at=AS_OF, created_as_of=AS_OF)
    return Revision(**{**fields, **extra})


def parts(message) -> dict:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    found = {part.get_content_type(): part.get_content() for part in parsed.walk() if not part.is_multipart()}
    return {"message": parsed, **found}


def test_numbers_print_as_officers_write_them():
    assert [number_text(v) for v in (125.0, 12.5, None, 0.0)] == ["125", "12.5", "—", "0"]
    assert change_lines(CHANGES) == [["1.1", "TOTAL", "120", "125", "+5"], ["2.1", "TOTAL", "—", "3", ""]]


def test_request_carries_the_link_the_figures_and_what_changed():
    record, message = request_email(revision(), OFFICER, previous=1, changes=CHANGES, link=LINK, api="PATCH …",
                                    sender=SENDER, as_of=AS_OF)
    found = parts(message)
    assert found["message"]["Subject"] == "[HMIS approval] Hisar district, September 2026: revision 2 awaits your approval"
    for content in (found["text/plain"], found["text/html"]):
        assert "250 of 266 facilities reported (94.0 %), 240 on time" in content
        assert "2 items differ from revision 1" in content
        assert "ज़िले" in content
    assert LINK in found["text/plain"]
    assert LINK.replace("&", "&amp;") in found["text/html"] or LINK in found["text/html"]
    assert record.kind == "approval_request" and record.rung == "r2" and record.area == "Hisar"
    assert record.key == "approval_request:Hisar:2026-09:r2:hmis.nodal@hisar.hmis.example"


def test_first_revision_says_nothing_was_approved_before():
    _record, message = request_email(revision(1), OFFICER, previous=None, changes=[], link=LINK, api="PATCH …",
                                     sender=SENDER, as_of=AS_OF)
    assert "first revision" in parts(message)["text/plain"]


def test_form_body_is_markdown_with_figures_changes_and_indicators():
    body = form_body(revision(), previous=1, changes=CHANGES, indicators=[("csection_pct", 12.25)], items=297)
    assert body.startswith("### Hisar district, September 2026 — revision 2")
    assert "250 of 266 facilities reported" in body and "297 data items" in body
    assert "| 1.1 | TOTAL | 120 | 125 | +5 |" in body
    assert "| csection_pct | 12.25 |" in body


def test_state_note_lists_changes_and_attaches_them_all():
    approved = revision(status="approved", responded_by="nodal.hisar", responded_at=AS_OF)
    cell = Recipient("State HMIS Cell (NHM Haryana)", "state.hmis.cell@haryana.hmis.example")
    record, message = changes_email(approved, cell, previous=1, changes=CHANGES, export="var/exports/2026-09/approved/",
                                    sender=SENDER, as_of=AS_OF)
    found = parts(message)
    assert found["message"]["Subject"] == "[HMIS approved] Hisar district, September 2026: revision 2 approved, 2 items changed"
    assert "nodal.hisar approved revision 2" in found["text/plain"]
    assert "var/exports/2026-09/approved/" in found["text/plain"]
    assert found["text/csv"].splitlines()[1] == "1.1,TOTAL,120,125,+5"
    assert changes_csv(CHANGES).startswith(b"item_code,disaggregation,previous_value,approved_value,difference\n")
    assert record.kind == "approval_changes"


def test_returned_note_carries_the_comment_escaped_in_html():
    rejected = revision(3, status="rejected", responded_by="nodal.hisar", responded_at=AS_OF,
                        comment="CHC <Adampur> OPD doubled")
    bmo = Recipient("Dr. Sunita Malik", "bmo.hisar1@hisar.hmis.example")
    _record, message = returned_email(rejected, bmo, sender=SENDER, as_of=AS_OF)
    found = parts(message)
    assert "revision 3 returned with a comment" in found["message"]["Subject"]
    assert "Comment: CHC <Adampur> OPD doubled" in found["text/plain"]
    assert "CHC &lt;Adampur&gt; OPD doubled" in found["text/html"]
    assert "टिप्पणी: CHC <Adampur> OPD doubled" in found["text/plain"]
