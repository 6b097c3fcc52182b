-- Statements of src/hmis/cli/report.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: computed_at
SELECT max(s.as_of) FROM compliance.facility_status s JOIN ref.facility f USING (facility_id)
    WHERE f.district = %s AND s.period = %s;
