"""The report viewer that the Airflow plugin serves: lists exported pages, serves only those."""

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from hmis.platform.landing import LocalStore
from hmis.report.viewer import create_app, report_keys

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path):
    store = LocalStore(tmp_path)
    store.write("reports/2026-10/compliance-hisar.html", b"<html>October Hisar</html>")
    store.write("reports/2026-11/compliance-hisar.html", b"<html>November Hisar</html>")
    store.write("reports/2026-11/notes.txt", b"not a page")
    store.write("exports/2026-11/district_monthly.csv", b"state,district\n")
    return store


def test_lists_exported_pages_newest_month_first(store):
    assert report_keys(store) == [("2026-11", "compliance-hisar.html"), ("2026-10", "compliance-hisar.html")]
    page = TestClient(create_app(lambda: store)).get("/").text
    assert page.index("November 2026") < page.index("October 2026")
    assert 'href="2026-11/compliance-hisar.html"' in page and "notes.txt" not in page


def test_serves_a_page_and_nothing_else(store):
    client = TestClient(create_app(lambda: store))
    reply = client.get("/2026-10/compliance-hisar.html")
    assert reply.status_code == 200 and reply.text == "<html>October Hisar</html>"
    for path in ("/2026-11/notes.txt", "/2026-12/compliance-hisar.html", "/2026-11/..%2F..%2Fexports",
                 "/exports/district_monthly.csv"):
        assert client.get(path).status_code == 404, path


def test_an_empty_store_says_what_fills_it(tmp_path):
    assert "export task writes them" in TestClient(create_app(lambda: LocalStore(tmp_path))).get("/").text


def test_every_page_requires_the_login_dependency(store):
    def no_login():
        raise HTTPException(status_code=401, detail="not logged in")

    client = TestClient(create_app(lambda: store, user_dependency=no_login))
    assert client.get("/").status_code == 401
    assert client.get("/2026-10/compliance-hisar.html").status_code == 401
