"""Alert texts come from templates and the glossary: one word per concept, escaped HTML."""

import email
import email.policy
import tomllib
from datetime import UTC, datetime
from fnmatch import fnmatch

import pytest

from hmis.i18n import glossary
from hmis.notify.ledger import message_id_for
from hmis.notify.messages import FacilityLine, NonSubmissionAlert, Recipient, build_non_submission
from hmis.notify.signal_alerts import build_signal_message, signal_key, signal_subject
from hmis.platform.settings import project_root
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis.signals.alarms import Alarm, MethodResult
from hmis.templates import aligned, clock, column_widths, oneline, ordinal, render, short_date

pytestmark = pytest.mark.unit

SENDER = "hmis-pipeline@hisar.hmis.example"
AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
DUE = due_at("2026-10")
BMO = Recipient("block_medical_officer", "Dr. Sunita Malik", "bmo.hisar1@hisar.hmis.example")
NOTIFY_SOURCES = [project_root() / "src" / "hmis" / "notify", project_root() / "src" / "hmis" / "templates" / "notify",
                  project_root() / "src" / "hmis" / "pipeline" / "signals.py"]


def alarm(level: str = "block", area: str = "Barwala", name_hi: str = "डेंगू - आरडीटी जाँच पॉज़िटिव") -> Alarm:
    methods = (MethodResult("C1", 4.2, 9.81, False), MethodResult("C2", 3.9, 8.4, True),
               MethodResult("C3", None, None, True))
    return Alarm(level, "Hisar", area, "11.3.1", "Dengue - RDT Test Positive", name_hi, "2026-10", 17, methods)


def parts(message) -> dict:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    found = {part.get_content_type(): part.get_content() for part in parsed.walk() if not part.is_multipart()}
    return {"message": parsed, **found}


def block_alert() -> NonSubmissionAlert:
    line = FacilityLine("A", "SC A", "SC", "public", "Hisar-I", "Hisar", "missing", 1, "Dr. Sunita Malik", "+91-1")
    return NonSubmissionAlert(period="2026-10", due=DUE, rung="block", day=1, district="Hisar", block="Hisar-I",
                              recipient=BMO, lines=(line,), late_since=DUE,
                              next_step=("district_nodal_officer", datetime(2026, 11, 8, tzinfo=REPORTING_TZ)))


def _sources(suffixes=(".py", ".j2", ".txt", ".html")):
    for root in NOTIFY_SOURCES:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file() and path.suffix in suffixes:
                yield path, path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- one glossary


def test_block_is_one_hindi_word_in_every_alert_text():
    found = parts(build_non_submission(block_alert(), AS_OF, SENDER, "<id@x>"))
    for content in (found["text/plain"], found["text/html"]):
        assert "Hisar ज़िले के Hisar-I ब्लॉक" in content
        assert "ब्लॉक चिकित्सा अधिकारी" in content  # the role label, from the glossary
        assert "खंड" not in content
    assert "ब्लॉक अधिकारी" in found["text/html"]  # the table heading
    for path, text in _sources():
        assert "खंड" not in text, path


def test_month_names_and_labels_are_defined_only_in_the_glossary():
    sources = list(_sources())
    for month in glossary._glossary()["months"]["hi"]:
        assert not [path for path, text in sources if month in text], month
    for name in ("HINDI_MONTHS", "ROLE_LABELS", "STATUS_LABELS", "LEVEL_WORDS", "def hindi_date", "def hindi_month",
                 "def english_date"):
        assert not [path for path, text in sources if name in text], name


def test_alert_words_follow_the_glossary(monkeypatch):
    """Change a word in the glossary and every alert says it so: nothing is spelt twice."""
    data = glossary._glossary()
    changed = {**data,
               "months": {**data["months"], "hi": [m.replace("अक्टूबर", "ऑक्टोबर") for m in data["months"]["hi"]]},
               "terms": {**data["terms"], "block": {"en": "tehsil", "hi": "तहसील"}},
               "roles": {**data["roles"], "block_medical_officer": {"en": "BMO", "hi": "बीएमओ"}}}
    monkeypatch.setattr(glossary, "_glossary", lambda: changed)
    found = parts(build_non_submission(block_alert(), AS_OF, SENDER, "<id@x>"))
    text = found["text/plain"]
    assert "Hisar-I tehsil (Hisar district)" in text and "Hisar-I तहसील" in text
    assert "ऑक्टोबर 2026" in text and "अक्टूबर" not in text
    assert "sent to the BMO" in text and "(बीएमओ)" in text
    signal = parts(build_signal_message(alarm(), "dso@x", SENDER, AS_OF, "<s@x>"))
    assert "Barwala tehsil" in signal["message"]["Subject"] and "Barwala तहसील" in signal["text/plain"]
    assert "ऑक्टोबर 2026" in signal["text/html"]


# --------------------------------------------------------------------------- signal alarms


def test_signal_message_in_both_languages_with_the_methods_table():
    key = signal_key(alarm(), "dso@x")
    assert key == "disease_signal:block:Hisar:Barwala:11.3.1:2026-10:dso@x"
    message_id = message_id_for(key, SENDER)
    found = parts(build_signal_message(alarm(), "dso@x", SENDER, AS_OF, message_id))
    head = found["message"]
    assert head["Subject"] == "[HMIS signal] Dengue (RDT positive) rising in Barwala block (Hisar) — October 2026"
    assert head["Message-ID"] == message_id and head["To"] == "dso@x" and head["From"] == SENDER
    assert head["Date"] == "Fri, 27 Nov 2026 06:00:00 +0530"  # the run's moment, not the clock
    text, body = found["text/plain"], found["text/html"]
    for content in (text, body):
        assert "17 cases of dengue (RDT positive) were reported in Barwala block of Hisar district " \
               "for October 2026 (HMIS item 11.3.1)" in content
        assert "(alarm threshold 8)" in content and "Methods that alarmed: C2, C3 (CDC EARS)" in content
        assert "Hisar ज़िले के Barwala ब्लॉक में अक्टूबर 2026 में डेंगू (आरडीटी पॉज़िटिव) के 17 मामले" in content
        assert "Signals as of 27 Nov 2026 06:00 IST" in content
    assert [line.split() for line in text.splitlines() if line.startswith("C")] == [
        ["C1", "4.2", "9.8", "no"], ["C2", "3.9", "8.4", "yes"], ["C3", "yes"]]
    assert "<td>C3</td><td></td><td></td><td>yes</td>" in body
    assert list(head.iter_attachments()) == []


def test_signal_html_escapes_what_the_catalogue_says():
    # An element outside the list of watched diseases is named as the catalogue names it.
    hostile = Alarm("block", "Hisar", "Barwala", "14.4.8", "Inpatient - Hepatitis", "<img src=x onerror=alert(1)>",
                    "2026-10", 17, alarm().methods)
    body = parts(build_signal_message(hostile, "dso@x", SENDER, AS_OF, "<s@x>"))["text/html"]
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    text = parts(build_signal_message(hostile, "dso@x", SENDER, AS_OF, "<s@x>"))["text/plain"]
    assert "<img src=x onerror=alert(1)> के 17 मामले" in text  # plain text is not HTML: left as written


def test_district_alarm_without_threshold_reads_without_one():
    methods = (MethodResult("C1", 2.0, None, True),)
    district = Alarm("district", "Hisar", "Hisar", "14.4.1", "Inpatient - Malaria", "", "2026-10", 6, methods)
    # A district signal names the district once ("in Hisar district", never "of Hisar district").
    assert signal_subject(district) == "[HMIS signal] Malaria (inpatient) rising in Hisar district — October 2026"
    text = parts(build_signal_message(district, "dso@x", SENDER, AS_OF, "<s@x>"))["text/plain"]
    assert "more than the recent months predict. Methods that alarmed: C1" in text
    assert "Hisar ज़िले में अक्टूबर 2026 में मलेरिया (भर्ती रोगी) के 6 मामले" in text
    assert "district of" not in text and "ज़िले के Hisar" not in text


# --------------------------------------------------------------------------- the helpers


def test_text_helpers():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
    assert short_date(datetime(2026, 9, 30, 20, 0, tzinfo=REPORTING_TZ)) == "30 Sep"
    assert short_date(datetime(2026, 9, 30, 20, 0, tzinfo=UTC), with_year=True) == "1 Oct 2026"  # IST
    assert clock(datetime(2026, 11, 8, 0, 30, tzinfo=REPORTING_TZ)) == "08 Nov 2026 00:30"
    assert oneline("one\n   two  three\n\nfour\n") == "one two  three four"
    widths = column_widths(["ab", "c"], [(None, [["a", "ccc"]]), ("t", [["abcd", ""]])])
    assert widths == [4, 3] and aligned(["a", "b"], widths) == "a     b"


def test_html_templates_are_autoescaped_and_text_templates_are_not():
    context = {"words": "notify/disease_signal.j2", "subject": "<s>", "alarm": alarm(), "disease": "<b>",
               "as_of": AS_OF}
    assert "<title>&lt;s&gt;</title>" in render("notify/email.html", **context)
    assert "cases of <b> were reported" in render("notify/email.txt", **context)


def test_templates_and_glossary_ship_with_the_package():
    globs = tomllib.loads((project_root() / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["hmis"]
    package = project_root() / "src" / "hmis"
    shipped = [package / "i18n" / "glossary.yaml", *sorted((package / "templates" / "notify").iterdir())]
    assert len(shipped) > 5
    for path in shipped:
        assert any(fnmatch(path.relative_to(package).as_posix(), glob) for glob in globs), path
