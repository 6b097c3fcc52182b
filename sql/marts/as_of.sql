-- Which logical date the marts describe, what is owed to the state's store, and a backfill's
-- inputs (the values and blocks as of its date). Statements of hmis.marts.build and
-- hmis.pipeline.currency, each under its name line.

-- name: current_periods
-- A run is current for a period unless a run with a later logical date has worked on it: that
-- run may have loaded files which arrived after this one's date, so only the later run's date
-- describes the facts as they are.
SELECT p FROM unnest(%(periods)s::text[]) AS p
 WHERE NOT EXISTS (SELECT 1 FROM ingest.run r WHERE p = ANY(r.periods) AND r.logical_date > %(as_of)s);

-- name: publish
INSERT INTO marts.publication (period, as_of, run_id) VALUES %s
ON CONFLICT (period) DO UPDATE SET as_of = EXCLUDED.as_of, run_id = EXCLUDED.run_id, published_at = clock_timestamp()
 WHERE marts.publication.as_of <= EXCLUDED.as_of;

-- name: publish_as_of
INSERT INTO asof.publication (period, as_of, run_id) VALUES %s
ON CONFLICT (period) DO UPDATE SET as_of = EXCLUDED.as_of, run_id = EXCLUDED.run_id, published_at = clock_timestamp();

-- name: owe
INSERT INTO marts.export_owed (kind, period, run_id, as_of) VALUES %s;

-- name: owed_periods
SELECT DISTINCT period FROM marts.export_owed WHERE kind = %(kind)s AND settled_at IS NULL ORDER BY period;

-- name: settle_periods
-- Only what was owed when the export read the marts (or the revisions): a rebuild or an
-- approval that commits while the export runs owes its period again, and the next export takes it.
UPDATE marts.export_owed SET settled_at = clock_timestamp(), settled_run_id = %(run_id)s
 WHERE kind = %(kind)s AND settled_at IS NULL AND period = %(period)s AND owed_id <= %(up_to)s;

-- name: owed_up_to
SELECT coalesce(max(owed_id), 0) FROM marts.export_owed WHERE kind = %(kind)s;

-- name: values
-- The accepted values of the periods as of %(as_of)s: those of the version of each
-- facility-month valid then (facts.version), whether it is still the newest (facts.monthly_value)
-- or was replaced since (facts.superseded_value).
CREATE TEMPORARY TABLE asof_value ON COMMIT DROP AS
SELECT v.facility_id, v.period, v.item_code, v.disaggregation, v.value, v.flagged
  FROM (SELECT facility_id, period, item_code, disaggregation, value, flagged, file_id
          FROM facts.monthly_value WHERE period = ANY(%(periods)s)
        UNION ALL
        SELECT facility_id, period, item_code, disaggregation, value, flagged, file_id
          FROM facts.superseded_value WHERE period = ANY(%(periods)s)) v
  JOIN facts.version x USING (file_id)
 WHERE x.valid_from <= %(as_of)s AND (x.valid_to IS NULL OR x.valid_to > %(as_of)s);
CREATE INDEX ON asof_value (facility_id, period);
ANALYZE asof_value;

-- name: blocks
-- Every block-period with expected reporters as of the backfill's date (all are built).
SELECT DISTINCT f.district, f.block, s.period, %(state)s
  FROM asof.facility_status s JOIN ref.facility f USING (facility_id)
 WHERE s.period = ANY(%(periods)s)
 ORDER BY 1, 2, 3;
