-- The file ledger and staging statements of src/hmis/ingest/stages.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: record_discovered
INSERT INTO ingest.file (key, sha256, size_bytes, modified_at, submitted_at,
        facility_id, period, status, run_id, discovered_at)
    VALUES %s ON CONFLICT (key, sha256) DO NOTHING;

-- name: mark_rejected
UPDATE ingest.file SET status = 'rejected', reason = %s, quarantine_key = %s,
    processed_at = %s WHERE file_id = %s;

-- name: insert_findings
INSERT INTO dq.result (run_id, file_id, facility_id, period, expectation_id, severity,
        column_name, failed_rows, observed, expected, message, checked_at, item_code, message_hi, suite)
    VALUES %s;

-- name: files_to_parse
SELECT file_id, key, size_bytes, facility_id, period FROM ingest.file
    WHERE status = 'discovered' ORDER BY file_id;

-- name: mark_parsed
UPDATE ingest.file f SET status = 'parsed', row_count = v.n
    FROM (VALUES %s) AS v(file_id, n) WHERE f.file_id = v.file_id;

-- name: accepted_history
SELECT facility_id, period, item_code, disaggregation, value FROM facts.monthly_value
    WHERE facility_id = ANY(%s) AND period >= %s AND period < %s AND value IS NOT NULL;

-- name: insert_validation_run
INSERT INTO dq.validation_run (run_id, suite, files, rows_checked, expectations, failed,
    success, seconds, data_docs, checked_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s);

-- name: mark_accepted
-- An accepted file records the format it was read in: the load places its codes by it.
UPDATE ingest.file f SET status = 'accepted', warning_count = v.warnings,
         reason = v.reason::text, processed_at = v.at, format_id = v.format_id
    FROM (VALUES %s) AS v(file_id, warnings, reason, at, format_id) WHERE f.file_id = v.file_id;

-- name: insert_completeness
INSERT INTO dq.completeness (file_id, facility_id, period, items_expected, items_present,
        items_nonzero, present_share, nonzero_share)
    SELECT v.file_id, f.facility_id, f.period, v.expected, v.present, v.nonzero,
           round(v.present::numeric / nullif(v.expected, 0), 4),
           round(v.nonzero::numeric / nullif(v.expected, 0), 4)
      FROM (VALUES %s) AS v(file_id, expected, present, nonzero)
      JOIN ingest.file f USING (file_id)
    ON CONFLICT (file_id) DO NOTHING;

-- name: rank_versions
WITH touched AS (
    SELECT DISTINCT facility_id, period FROM ingest.file WHERE status = 'accepted'
), ranked AS (
    SELECT f.file_id, f.facility_id, f.period, f.status,
           row_number() OVER (PARTITION BY f.facility_id, f.period
                              ORDER BY f.submitted_at DESC, f.file_id DESC) AS rank
      FROM ingest.file f JOIN touched USING (facility_id, period)
     WHERE f.status IN ('accepted', 'loaded')
)
SELECT file_id, facility_id, period, status, rank FROM ranked;

-- name: keep_replaced_values
-- A facility-month's values being replaced are kept as its superseded version's, so the
-- values as of any earlier moment can still be built (facts.version says which was valid when).
INSERT INTO facts.superseded_value (facility_id, period, item_code, disaggregation, value, value_text, aggregation,
                                    format_id, format_code, file_id, flagged, loaded_at)
    SELECT v.facility_id, v.period, v.item_code, v.disaggregation, v.value, v.value_text, v.aggregation,
           v.format_id, v.format_code, v.file_id, v.flagged, v.loaded_at
      FROM facts.monthly_value v JOIN (VALUES %s) AS p(facility_id, period)
        ON v.facility_id = p.facility_id AND v.period = p.period
    ON CONFLICT (file_id, item_code, disaggregation) DO NOTHING;

-- name: delete_replaced_values
DELETE FROM facts.monthly_value v USING (VALUES %s) AS p(facility_id, period)
    WHERE v.facility_id = p.facility_id AND v.period = p.period;

-- name: insert_values
-- Into {target}: facts.monthly_value for each facility-month's newest version, or
-- facts.superseded_value for an accepted version that arrived before the newest one but was
-- read after it (it was valid between its own arrival and the next one's).
-- Each staged code is placed by the file's format on its data element (facts.item_code),
-- with the facility's own code kept in format_code. Counts and stock figures are numbers;
-- statuses, dates and percentages stay text. How the marts may combine a value follows from
-- its type: counts and stock movements add up, balances only across facilities of one month.
INSERT INTO {target} (facility_id, period, item_code, disaggregation, value, value_text,
                      aggregation, format_id, format_code, file_id, flagged, loaded_at)
    SELECT f.facility_id, f.period, i.data_element,
           CASE WHEN s.sub_item IS NULL OR s.sub_item IN ('', 'TOTAL') THEN 'TOTAL' ELSE s.sub_item END,
           CASE WHEN i.value_type IN ('count', 'stock') THEN s.value_raw::bigint END,
           CASE WHEN i.value_type NOT IN ('count', 'stock') THEN s.value_raw END,
           CASE WHEN i.value_type = 'count' THEN 'sum'
                WHEN i.value_type = 'stock' AND s.sub_item IN ('1. Balance From Previous Month', '5. Total Stock')
                     THEN 'balance'
                WHEN i.value_type = 'stock' THEN 'sum'
                ELSE 'none' END,
           f.format_id, s.item_code, s.file_id, s.flagged, %s
      FROM ingest.staged_value s
      JOIN ingest.file f USING (file_id)
      JOIN ref.format_item i ON i.format_id = f.format_id AND i.item_code = s.item_code
     WHERE s.file_id = ANY(%s);

-- name: date_versions
-- Each accepted version of the touched facility-months is valid from its arrival until the
-- next accepted one's (NULL: it is the newest). facts.version reads these dates.
UPDATE ingest.file f SET superseded_at = v.valid_to
  FROM (SELECT g.file_id,
               lead(g.submitted_at) OVER (PARTITION BY g.facility_id, g.period
                                          ORDER BY g.submitted_at, g.file_id) AS valid_to
          FROM ingest.file g JOIN (VALUES %s) AS p(facility_id, period)
            ON g.facility_id = p.facility_id AND g.period = p.period
         WHERE g.status IN ('loaded', 'superseded')) v
 WHERE f.file_id = v.file_id AND f.superseded_at IS DISTINCT FROM v.valid_to;
