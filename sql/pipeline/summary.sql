-- Statements of src/hmis/pipeline/summary.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: status_counts
-- A backfill's periods (%(past)s) are described as of its date, from the statuses it wrote apart.
SELECT period, status, count(*) FROM compliance.facility_status
    WHERE period = ANY(%(current)s) GROUP BY 1, 2
UNION ALL
SELECT period, status, count(*) FROM asof.facility_status
    WHERE period = ANY(%(past)s) GROUP BY 1, 2;

-- name: file_counts
SELECT period, status, count(*) FROM ingest.file
    WHERE period = ANY(%s) GROUP BY 1, 2;

-- name: alert_counts
SELECT period, count(*) FILTER (WHERE status = 'sent'),
         count(*) FILTER (WHERE status = 'failed')
    FROM alerts.sent WHERE period = ANY(%s) GROUP BY 1;

-- name: rebuilt_district_periods
SELECT count(DISTINCT (b.district, b.period)) FROM marts.block_build_state b
     JOIN ingest.run r ON r.logical_date = b.built_at
    WHERE r.run_id = %(run_id)s AND b.period = ANY(%(current)s);
