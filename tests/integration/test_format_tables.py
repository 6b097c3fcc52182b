"""The official formats reach the warehouse: every item, its data element and who is expected to report it."""

import pytest

from hmis.platform.warehouse import connect, migrate
from hmis.reference.format_tables import sync_formats
from hmis.reference.formats import STOCK_SUB_ITEMS, load_catalogue

pytestmark = pytest.mark.integration


def test_formats_items_and_expected_items_in_the_warehouse(warehouse):
    conn = connect()
    try:
        migrate(conn)
        counts = sync_formats(conn, load_catalogue(), ["2026-09", "2026-10"])
        assert counts["format_items"] == sum(len(items) for items in load_catalogue().items.values())
        with conn.cursor() as cur:
            cur.execute("""SELECT item_code, data_element, name FROM ref.format_item
                            WHERE format_id = 'hmis2017_chc' AND item_code IN ('9.1.3', '17.1') ORDER BY 1""")
            assert cur.fetchall() == [("17.1", "16.1", "Infant deaths within 24 hours (1 to 23 hours) of birth"),
                                      ("9.1.3", "9.1.3", "Child immunisation - DPT1")]
            cur.execute("""SELECT disaggregations FROM ref.format_item
                            WHERE format_id = 'hmis2017_consolidated' AND item_code = '17.1'""")
            assert tuple(cur.fetchone()[0]) == STOCK_SUB_ITEMS
            cur.execute("""SELECT facility_type, count(*) FILTER (WHERE data_element = '1.1') FROM ref.expected_item
                            WHERE period = '2026-10' GROUP BY 1 ORDER BY 1""")
            anc = dict(cur.fetchall())
        assert anc["AYUSH"] == 0 and anc["CHC"] == anc["SC"] == anc["DH"] == 1
        # A second sync replaces, never duplicates.
        assert sync_formats(conn, load_catalogue(), ["2026-09", "2026-10"]) == counts
    finally:
        conn.close()
