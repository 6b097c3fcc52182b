"""The bulk loader keeps text as text: only a missing value becomes NULL."""

import datetime

import pytest

from hmis.platform.warehouse import connect, copy_rows

pytestmark = pytest.mark.integration


def test_copy_keeps_a_literal_null_marker_as_text_and_none_as_null(warehouse):
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE t (n integer, s text, d date, b boolean)")
            rows = [(1, "\\N", datetime.date(2026, 10, 1), True), (2, None, None, None),
                    (3, "", datetime.date(2026, 11, 5), False), (4, 'a,"b"\nc', None, True)]
            assert copy_rows(cur, "pg_temp.t", ["n", "s", "d", "b"], rows) == 4
            cur.execute("SELECT n, s, d, b FROM t ORDER BY n")
            assert cur.fetchall() == rows
    finally:
        conn.close()
