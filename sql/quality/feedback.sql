-- Statements of src/hmis/quality/feedback.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: insert_feedback
INSERT INTO dq.feedback (file_id, facility_id, period, kind, problems, html_key, csv_key, status, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, 'open', %s)
    ON CONFLICT (file_id) DO UPDATE SET kind = EXCLUDED.kind, problems = EXCLUDED.problems;

-- name: resolve_feedback
UPDATE dq.feedback SET status = 'resolved', resolved_by_file_id = %s, resolved_at = %s
    WHERE facility_id = %s AND period = %s AND status = 'open' AND file_id < %s;
