"""The officers' e-mails: subject, both parts in both languages, the table, the attachment."""

import csv
import email
import email.policy
import io
from datetime import date, datetime

import pytest

from hmis.notify.ledger import message_id_for
from hmis.notify.messages import (
    FacilityLine,
    NonSubmissionAlert,
    Recipient,
    RegistrationGapAlert,
    build_non_submission,
    build_registration_gap,
    csv_safe,
    non_submission_subject,
)
from hmis.notify.signal_alerts import build_signal_message, signal_subject
from hmis.reference.diseases import load_diseases
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.signals.alarms import Alarm, MethodResult
from hmis.templates import sentence

pytestmark = pytest.mark.unit

SENDER = "hmis-pipeline@hisar.hmis.example"
DUE = due_at("2026-10")
AS_OF = datetime(2026, 11, 8, 6, 0, tzinfo=REPORTING_TZ)
NODAL = Recipient("district_nodal_officer", "Dr. Ramesh Godara (SMO HMIS)", "hmis.nodal@hisar.hmis.example")
BMO = Recipient("block_medical_officer", "Dr. Sunita Malik", "bmo.hisar1@hisar.hmis.example")


def line(fid: str, status: str = "missing", block: str = "Hisar-I", name: str | None = None, **extra) -> FacilityLine:
    return FacilityLine(facility_id=fid, name=name or f"SC {fid}", facility_type="SC", ownership="public",
                        block=block, district="Hisar", status=status, days=3, contact_name="Dr. Sunita Malik",
                        contact_phone="+91-9812345678", **extra)


def alert(lines, block=None, recipient=NODAL, rung="district", day=3, **extra) -> NonSubmissionAlert:
    return NonSubmissionAlert(period="2026-10", due=DUE, rung=rung, day=day, district="Hisar", block=block,
                              recipient=recipient, lines=tuple(lines), late_since=DUE, **extra)


def parts(message) -> dict:
    """Round-trip through bytes, as the SMTP sink stores it, and index the parts by type."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    found = {part.get_content_type(): part for part in parsed.walk() if not part.is_multipart()}
    return {"message": parsed, **found}


def attachment_rows(message) -> list[dict]:
    attachment = next(parts(message)["message"].iter_attachments())
    return list(csv.DictReader(io.StringIO(attachment.get_content())))


def test_subject_reads_like_the_district_order():
    lines = [line(f"HR-HIS-{n:04d}") for n in range(23)]
    assert non_submission_subject(alert(lines)) == \
        "[HMIS] Hisar — 23 facilities have not submitted October 2026 (due 5 Nov)"
    assert non_submission_subject(alert(lines[:1])) == \
        "[HMIS] Hisar — 1 facility has not submitted October 2026 (due 5 Nov)"


def test_block_subject_names_the_block_and_counts_late_reports_apart():
    late = line("L", "late", submitted_at=datetime(2026, 11, 6, 0, 1, tzinfo=REPORTING_TZ))
    assert non_submission_subject(alert([line("A"), line("B", "rejected"), late], block="Hisar-I")) == \
        "[HMIS] Hisar / Hisar-I — 2 facilities have not submitted October 2026 (due 5 Nov); 1 reported late"
    assert non_submission_subject(alert([late], block="Hisar-I")) == \
        "[HMIS] Hisar / Hisar-I — 1 facility reported October 2026 late (due 5 Nov)"


def test_message_has_both_parts_in_english_and_hindi_and_the_list_attached():
    lines = [line("A"), line("B", "rejected", block="Hisar-II"),
             line("C", "late", block="Hisar-II", submitted_at=datetime(2026, 11, 7, 9, 30, tzinfo=REPORTING_TZ))]
    nxt = ("civil_surgeon", datetime(2026, 11, 12, tzinfo=REPORTING_TZ))
    message = build_non_submission(alert(lines, next_step=nxt), AS_OF, SENDER, "<id@hisar.hmis.example>")
    found = parts(message)
    head = found["message"]
    assert head["To"] == NODAL.email and head["From"] == SENDER
    assert head["Message-ID"] == "<id@hisar.hmis.example>"
    assert head["Date"] == "Sun, 08 Nov 2026 06:00:00 +0530"  # the run's moment, not the clock
    text, body = found["text/plain"].get_content(), found["text/html"].get_content()
    for content in (text, body):
        assert "Dear Dr. Ramesh Godara (SMO HMIS)," in content
        assert "एचएमआईएस पोर्टल" in content and "अंतिम तिथि" in content
        assert "Civil Surgeon" in content and "सिविल सर्जन" in content
        for fid in "ABC":
            assert f">{fid}<" in content or f"\n{fid} " in content
    assert "received late on 7 Nov" in text
    # District digests are grouped by block.
    assert text.index("Hisar-I (1)") < text.index("Hisar-II (2)")
    assert body.index(">Hisar-I (1)<") < body.index(">Hisar-II (2)<")
    rows = attachment_rows(message)
    assert [(r["facility_id"], r["status"], r["days_overdue"]) for r in rows] == [
        ("A", "missing", "3"), ("B", "rejected", "3"), ("C", "late", "3")]
    assert rows[2]["received_at"] == "2026-11-07T09:30:00+05:30"
    assert next(found["message"].iter_attachments()).get_filename() == "hmis-hisar-2026-10-district.csv"


def test_block_alert_is_addressed_to_the_block_officer_and_not_grouped():
    message = build_non_submission(alert([line("A")], block="Hisar-I", recipient=BMO, rung="block", day=1),
                                   AS_OF, SENDER, "<id@x>")
    found = parts(message)
    assert found["message"]["To"] == BMO.email
    text = found["text/plain"].get_content()
    assert "Hisar-I block (Hisar district)" in text and "Hisar ज़िले के Hisar-I ब्लॉक" in text
    assert "day-1 reminder" in text and "(1) —" not in text


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+91-9812345678", "'+91-9812345678"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),
    ("Navjeevan Hospital", "Navjeevan Hospital"),
    (12, "12"),
    (None, ""),
])
def test_attachment_cells_cannot_be_formulas(value, cell):
    assert csv_safe(value) == cell


def test_attachment_neutralises_formulas_and_html_escapes_names():
    hostile = line("X", name="=cmd|' /C calc'!A0 <script>alert(1)</script>")
    message = build_non_submission(alert([hostile]), AS_OF, SENDER, "<id@x>")
    rows = attachment_rows(message)
    assert rows[0]["facility_name"].startswith("'=cmd")
    assert rows[0]["block_officer_phone"] == "'+91-9812345678"
    body = parts(message)["text/html"].get_content()
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_message_id_is_the_same_for_every_attempt_at_one_alert():
    first = message_id_for("non_submission:2026-10:block:Hisar/Hisar-I:bmo@x", SENDER)
    assert first == message_id_for("non_submission:2026-10:block:Hisar/Hisar-I:bmo@x", SENDER)
    assert first != message_id_for("non_submission:2026-10:district:Hisar:bmo@x", SENDER)
    assert first.startswith("<") and first.endswith("@hisar.hmis.example>")


def test_registration_gap_digest_lists_who_must_register_and_since_when():
    lines = [
        FacilityLine("P1", "Umang Clinic", "CLINIC", "private", "Hisar-I", "Hisar", "not_registered", 400,
                     "Dr. Sunita Malik", "+91-9812345678", since=date(2025, 10, 2)),
        FacilityLine("P2", "Kesar Nursing Home", "NURSING_HOME", "private", "Hansi-I", "Hisar", "not_registered",
                     12, since=date(2026, 10, 25)),
    ]
    gap = RegistrationGapAlert(period="2026-10", district="Hisar", block=None, recipient=NODAL, lines=tuple(lines))
    message = build_registration_gap(gap, AS_OF, SENDER, "<gap@x>")
    found = parts(message)
    assert found["message"]["Subject"] == "[HMIS] Hisar — 2 facilities are not registered on HMIS (as of 8 Nov 2026)"
    text, body = found["text/plain"].get_content(), found["text/html"].get_content()
    for content in (text, body):
        assert "2 private, 0 public" in content and "पंजीकृत नहीं" in content and "400 days" in content
    assert text.index("Hansi-I (1)") < text.index("Hisar-I (1)")
    rows = attachment_rows(message)
    assert [(r["facility_id"], r["unregistered_since"], r["days_unregistered"]) for r in rows] == [
        ("P2", "2026-10-25", "12"), ("P1", "2025-10-02", "400")]
    assert found["text/csv"].get_filename() == "hmis-hisar-not-registered-2026-11-08.csv"


# --------------------------------------------------------------------------- disease signals


def signal_alarm(level="block", area="Barwala", item="11.3.1", name="Dengue - RDT Test Positive",
                 name_hi="", observed=17) -> Alarm:
    """An alarm as read back from the mart; ``name`` is the catalogue's (ref.data_item)."""
    methods = (MethodResult("C1", 4.2, 9.81, False), MethodResult("C2", 3.9, 8.4, True))
    return Alarm(level, "Hisar", area, item, name, name_hi, "2026-10", observed, methods)


def signal_texts(alarm: Alarm) -> tuple[str, str, str]:
    found = parts(build_signal_message(alarm, "dso@x", SENDER, AS_OF, "<s@x>"))
    return (str(found["message"]["Subject"]), found["text/plain"].get_content(),
            found["text/html"].get_content())


def test_block_signal_names_the_disease_from_the_list_and_the_block_in_its_district():
    subject, text, body = signal_texts(signal_alarm())
    assert subject == "[HMIS signal] Dengue (RDT positive) rising in Barwala block (Hisar) — October 2026"
    for content in (text, body):
        assert "17 cases of dengue (RDT positive) were reported in Barwala block of Hisar district for " \
               "October 2026 (HMIS item 11.3.1), more than the recent months predict (alarm threshold 8)." in content
        assert "Hisar ज़िले के Barwala ब्लॉक में अक्टूबर 2026 में डेंगू (आरडीटी पॉज़िटिव) के 17 मामले" in content
        assert "rdt" not in content and "outpatient cases" not in content


def test_district_signal_names_the_district_once():
    alarm = signal_alarm(level="district", area="Hisar", item="14.4.6",
                         name="Inpatient - Pyrexia of unknown origin (PUO)", observed=40)
    subject, text, body = signal_texts(alarm)
    assert subject == signal_subject(alarm) == \
        "[HMIS signal] Pyrexia of unknown origin (PUO, inpatient) rising in Hisar district — October 2026"
    for content in (subject, text, body):
        assert "district of" not in content and "(Hisar)" not in content and "puo" not in content
        assert "Hisar district of Hisar" not in content and "ज़िला में" not in content
    for content in (text, body):
        assert "40 cases of pyrexia of unknown origin (PUO, inpatient) were reported in Hisar district for " \
               "October 2026" in content
        assert "Hisar ज़िले में अक्टूबर 2026 में अज्ञात कारण का बुखार (पीयूओ, भर्ती रोगी) के 40 मामले" in content


@pytest.mark.parametrize("disease", load_diseases(), ids=lambda d: d.element)
@pytest.mark.parametrize("level", ["block", "district"])
def test_every_watched_disease_reads_with_its_names_and_single_spaces(disease, level):
    area = "Barwala" if level == "block" else "Hisar"
    subject, text, _body = signal_texts(signal_alarm(level=level, area=area, item=disease.element,
                                                     name=disease.official))
    assert subject.startswith(f"[HMIS signal] {sentence(disease.name)} rising in {area} {level}")
    assert "  " not in subject and subject == subject.strip()
    assert f"cases of {disease.name} were reported" in text and f"{disease.name_hi} के 17 मामले" in text
    assert disease.official not in text   # the officers' name, not the catalogue's
    for acronym in ("RDT", "ELISA", "PUO"):
        assert acronym.lower() not in subject + text


def test_signal_off_the_list_keeps_the_catalogue_name_as_written():
    alarm = signal_alarm(item="14.1.7", name="Outpatient - Ophthalmic Related", name_hi="बाह्य रोगी - नेत्र संबंधी")
    subject, text, _body = signal_texts(alarm)
    assert subject.startswith("[HMIS signal] Outpatient - Ophthalmic Related rising in Barwala block")
    assert "बाह्य रोगी - नेत्र संबंधी के 17 मामले" in text
