-- Statements of src/hmis/compliance/status.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: submissions
SELECT facility_id, period, file_id, submitted_at, status FROM ingest.file
    WHERE period = ANY(%s) AND facility_id IS NOT NULL
      AND status IN ('accepted', 'loaded', 'superseded', 'rejected');
