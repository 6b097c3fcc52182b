"""DHIS2 documents register a month complete only for the districts that approved it."""

from datetime import date

import pandas as pd
import pytest

from hmis.dhis2.writer import district_documents

pytestmark = pytest.mark.unit


def frame():
    return pd.DataFrame({"district": ["Hisar", "Fatehabad"], "item_code": ["1.1", "1.1"],
                         "disaggregation": ["TOTAL", "TOTAL"], "value": [120, 80]})


def test_complete_date_only_for_approved_districts():
    documents = district_documents(frame(), "2026-09", data_set="HMIS_MONTHLY",
                                   complete_dates={"Hisar": date(2026, 10, 7)})
    by_district = {d.district: d.payload() for d in documents}
    assert by_district["Hisar"]["completeDate"] == "2026-10-07"
    assert "completeDate" not in by_district["Fatehabad"]


def test_no_approval_no_complete_date():
    for document in district_documents(frame(), "2026-09", data_set="HMIS_MONTHLY", complete_dates={}):
        assert "completeDate" not in document.payload()
    with pytest.raises(ValueError, match="name the data set"):
        district_documents(frame(), "2026-09", complete_dates={"Hisar": date(2026, 10, 7)})
