-- Statements of src/hmis/ingest/portal.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: record_pull
INSERT INTO ingest.portal_pull (key, sha256, pulled_at, data_as_on, report_kind, facility_type, periods, status,
                                reason, facility_months, reported, new_versions, run_id, processed_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (key) DO NOTHING;

-- name: upsert_portal_facility
INSERT INTO ref.portal_facility (facility_id, name, facility_type, type_printed, ownership, block, block_lgd,
                                 district, district_lgd, state, status, source_key, seen_at)
    VALUES %s
    ON CONFLICT (facility_id) DO UPDATE SET
        name = EXCLUDED.name, facility_type = EXCLUDED.facility_type, type_printed = EXCLUDED.type_printed,
        ownership = EXCLUDED.ownership, block = EXCLUDED.block, block_lgd = EXCLUDED.block_lgd,
        district = EXCLUDED.district, district_lgd = EXCLUDED.district_lgd, state = EXCLUDED.state,
        status = EXCLUDED.status, source_key = EXCLUDED.source_key, seen_at = EXCLUDED.seen_at;

-- name: record_differences
INSERT INTO ref.registry_difference (facility_id, field, registry_value, portal_value, source_key, noted_at)
    VALUES %s
    ON CONFLICT (facility_id, field) DO UPDATE SET
        registry_value = EXCLUDED.registry_value, portal_value = EXCLUDED.portal_value,
        source_key = EXCLUDED.source_key, noted_at = EXCLUDED.noted_at;

-- name: record_rejected_row
-- A facility-month of a pull that could not be kept: a rejected submission with its reason.
INSERT INTO ingest.file (key, sha256, size_bytes, modified_at, submitted_at, facility_id, period, status,
                         run_id, discovered_at, reason, processed_at)
    VALUES (%(key)s, %(sha)s, 0, %(pulled)s, %(pulled)s, %(facility)s, %(period)s, 'rejected', %(run)s, %(now)s,
            %(reason)s, %(now)s)
    ON CONFLICT (key, sha256) DO NOTHING
    RETURNING file_id;

-- name: registry_districts
-- The districts of the registry with their LGD code, to place the areas of an item-wise report.
SELECT district, min(district_lgd) FROM ref.facility GROUP BY district ORDER BY district;

-- name: record_district_values
-- The district figures of a "Data ItemWise Report" pull (one row per item, sub-item and column).
INSERT INTO ingest.portal_district_value (pull_key, district, district_lgd, area_printed, period, financial_year,
                                          cumulative, item_code, disaggregation, report_column, value)
    VALUES %s
    ON CONFLICT (pull_key, district, item_code, disaggregation, report_column) DO NOTHING;
