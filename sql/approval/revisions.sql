-- Statements of hmis.approval.revisions, each under its name line. Only the current marts
-- (schema marts) ever make revisions; a backfill's results (schema asof) are never read here.

-- name: owed
-- The complete district-months whose latest revision (if any) was made from other inputs
-- than the current marts: each needs a new pending revision.
SELECT r.district, r.period, r.ledger_state, r.expected, r.reported, r.on_time, r.reporting_rate,
       r.due_at, r.built_at, coalesce(l.revision, 0) + 1 AS revision
  FROM marts.reporting_rates r
  LEFT JOIN LATERAL (SELECT revision, ledger_state FROM marts.district_revision d
                      WHERE d.district = r.district AND d.period = r.period
                      ORDER BY revision DESC LIMIT 1) l ON true
 WHERE r.level = 'district' AND r.completeness = 'complete' AND r.ledger_state IS NOT NULL
   AND l.ledger_state IS DISTINCT FROM r.ledger_state
 ORDER BY r.period, r.district;

-- name: supersede
-- The revision still waiting for the officer is replaced by the new one.
UPDATE marts.district_revision SET status = 'superseded', superseded_by = %(revision)s
 WHERE district = %(district)s AND period = %(period)s AND status = 'pending' AND revision < %(revision)s;

-- name: insert_revision
INSERT INTO marts.district_revision (state, district, period, revision, ledger_state, expected, reported,
                                     on_time, reporting_rate, due_at, built_at, created_run_id, created_as_of)
SELECT coalesce((SELECT min(state) FROM marts.district_monthly
                  WHERE district = %(district)s AND period = %(period)s), ''),
       %(district)s, %(period)s, %(revision)s, %(ledger_state)s, %(expected)s, %(reported)s, %(on_time)s,
       %(reporting_rate)s, %(due_at)s, %(built_at)s, %(run_id)s, %(as_of)s
ON CONFLICT (district, period, revision) DO NOTHING
RETURNING revision;

-- name: freeze_values
INSERT INTO marts.district_revision_value (state, district, period, revision, item_code, disaggregation, value,
                                           flagged_values, facilities_reporting, facilities_expected)
SELECT state, district, period, %(revision)s, item_code, disaggregation, value, flagged_values,
       facilities_reporting, facilities_expected
  FROM marts.district_monthly
 WHERE district = %(district)s AND period = %(period)s;

-- name: pending
SELECT district, period, revision FROM marts.district_revision WHERE status = 'pending' ORDER BY period, district;

-- name: revision
SELECT state, district, period, revision, ledger_state, status, expected, reported, on_time, reporting_rate,
       due_at, built_at, created_as_of, superseded_by, dag_run_id, response, responded_by, responded_at, comment
  FROM marts.district_revision
 WHERE district = %(district)s AND period = %(period)s AND revision = %(revision)s;

-- name: lock_revision
SELECT status, dag_run_id, response FROM marts.district_revision
 WHERE district = %(district)s AND period = %(period)s AND revision = %(revision)s
   FOR UPDATE;

-- name: attach_run
UPDATE marts.district_revision SET dag_run_id = %(dag_run_id)s
 WHERE district = %(district)s AND period = %(period)s AND revision = %(revision)s AND dag_run_id IS NULL;

-- name: record_response
-- status is what the response makes of the revision: approved or rejected while it was
-- pending, and still superseded for a response to a revision replaced while it waited (the
-- response is kept for the audit, and changes nothing).
UPDATE marts.district_revision
   SET status = %(status)s, response = %(response)s, responded_by = %(responded_by)s,
       responded_at = %(responded_at)s, responded_as_of = %(as_of)s, recorded_at = clock_timestamp(),
       comment = %(comment)s, dag_run_id = coalesce(dag_run_id, %(dag_run_id)s)
 WHERE district = %(district)s AND period = %(period)s AND revision = %(revision)s;

-- name: values
SELECT item_code, disaggregation, value FROM marts.district_revision_value
 WHERE district = %(district)s AND period = %(period)s AND revision = %(revision)s
 ORDER BY item_code, disaggregation;

-- name: previous_approved
-- The newest approved revision older than the given one (what the state last accepted).
SELECT max(revision) FROM marts.district_revision
 WHERE district = %(district)s AND period = %(period)s AND status = 'approved' AND revision < %(revision)s;

-- name: approved_dates
-- The district-months of a period whose current figures are an approved revision (approved,
-- and built from the same inputs as the current marts: a correction waiting for approval makes
-- the month pending again), and when it was approved.
SELECT DISTINCT ON (v.district) v.district, v.revision, v.responded_at
  FROM marts.district_revision v
  JOIN marts.reporting_rates r
    ON r.level = 'district' AND r.area = v.district AND r.period = v.period AND r.ledger_state = v.ledger_state
 WHERE v.period = %(period)s AND v.status = 'approved'
 ORDER BY v.district, v.revision DESC;

-- name: refresh_delete
DELETE FROM marts.approved_district_monthly WHERE period = ANY(%(periods)s);

-- name: refresh_insert
-- The newest approved revision of each district-month of the periods, each of its items beside
-- the current (provisional) figure; an item only one side has shows an empty other side.
INSERT INTO marts.approved_district_monthly (state, district, period, item_code, disaggregation, revision,
                                             approved_at, approved_by, approved_value, facilities_reporting,
                                             facilities_expected, provisional_value, provisional_built_at, differs)
WITH approved AS (
    SELECT DISTINCT ON (district, period) state, district, period, revision, responded_at, responded_by
      FROM marts.district_revision
     WHERE period = ANY(%(periods)s) AND status = 'approved'
     ORDER BY district, period, revision DESC
), frozen AS (
    SELECT a.state, a.district, a.period, a.revision, a.responded_at, a.responded_by,
           v.item_code, v.disaggregation, v.value, v.facilities_reporting, v.facilities_expected
      FROM approved a
      JOIN marts.district_revision_value v USING (district, period, revision)
), current AS (
    SELECT m.district, m.period, m.item_code, m.disaggregation, m.value, m.built_at
      FROM marts.district_monthly m JOIN approved a USING (district, period)
)
SELECT coalesce(f.state, a.state), coalesce(f.district, c.district), coalesce(f.period, c.period),
       coalesce(f.item_code, c.item_code), coalesce(f.disaggregation, c.disaggregation),
       a.revision, a.responded_at, a.responded_by, f.value, f.facilities_reporting, f.facilities_expected,
       c.value, c.built_at, f.value IS DISTINCT FROM c.value
  FROM frozen f
  FULL JOIN current c ON c.district = f.district AND c.period = f.period
                     AND c.item_code = f.item_code AND c.disaggregation = f.disaggregation
  JOIN approved a ON a.district = coalesce(f.district, c.district) AND a.period = coalesce(f.period, c.period);

-- name: approved_periods
SELECT DISTINCT period FROM marts.district_revision WHERE status = 'approved' ORDER BY period;

-- name: approved_export
SELECT state, district, period, item_code, disaggregation, revision, approved_at, approved_by, approved_value,
       provisional_value, differs, facilities_reporting, facilities_expected, provisional_built_at
  FROM marts.approved_district_monthly
 WHERE period = %(period)s
 ORDER BY district, item_code, disaggregation;

-- name: owe
INSERT INTO marts.export_owed (kind, period, district, revision, run_id, as_of)
VALUES ('approved', %(period)s, %(district)s, %(revision)s, %(run_id)s, %(as_of)s);

-- name: contacts
SELECT name, email FROM ref.contact WHERE role = %(role)s AND level = %(level)s AND area = %(area)s ORDER BY email;

-- name: compilers
-- Who compiles the district's figures: the district's data managers and the block officers of
-- the district's blocks (HMIS compiles block by block, then the district forwards).
SELECT DISTINCT c.name, c.email FROM ref.contact c
 WHERE (c.level = 'district' AND c.area = %(district)s AND c.role = ANY(%(district_roles)s))
    OR (c.level = 'block' AND c.role = ANY(%(block_roles)s)
        AND c.area IN (SELECT block FROM ref.facility WHERE district = %(district)s))
 ORDER BY c.email;

-- name: state_of
SELECT min(state) FROM ref.facility WHERE district = %(district)s;

-- name: indicators
-- The district-month's key figures for the approval form: its indicators (current marts).
SELECT indicator_id, value FROM marts.indicator_monthly
 WHERE level = 'district' AND area = %(district)s AND period = %(period)s
 ORDER BY indicator_id;

-- name: item_count
SELECT count(*) FROM marts.district_revision_value
 WHERE district = %(district)s AND period = %(period)s AND revision = %(revision)s;
