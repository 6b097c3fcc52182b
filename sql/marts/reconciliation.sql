-- Reconciliation of our district totals with the HMIS portal's own (marts.portal_reconciliation),
-- from the district-level "Data ItemWise Report" pulls kept in ingest.portal_district_value
-- (hmis.ingest.portal). Statements of hmis.marts.build, each under its name line.
--
-- For each district, month and kind of report (the month, or the financial year to date of a
-- cumulative report) the latest pull made by the build's date counts: a later pull of the same
-- district-period supersedes an earlier one. Only the report's Total column is compared.

-- name: pulls
-- The latest pull of each district and period (monthly, cumulative) made by the build's date
-- (any, when none is given). hmis.marts.build folds them into the block fingerprints, so a new pull rebuilds its
-- district-period even when no submission changed.
SELECT district, period, string_agg(pull_key, ',' ORDER BY cumulative) AS pulls
  FROM (SELECT DISTINCT ON (v.district, v.period, v.cumulative) v.district, v.period, v.cumulative, v.pull_key
          FROM (SELECT DISTINCT pull_key, district, period, cumulative FROM ingest.portal_district_value
                 WHERE period = ANY(%(periods)s)) v
          JOIN ingest.portal_pull p ON p.key = v.pull_key
         WHERE %(as_of)s::timestamptz IS NULL OR p.pulled_at <= %(as_of)s::timestamptz
         ORDER BY v.district, v.period, v.cumulative, p.pulled_at DESC, v.pull_key DESC) latest
 GROUP BY district, period;

-- name: rebuild
-- Run by hmis.marts.build.rebuild right after sql/marts/rebuild.sql, in its transaction: the
-- temporary table `touched` (district, period) holds the district-periods just rebuilt.
--
-- Rebuilt: every touched district-period, and a later month's cumulative reconciliation whose
-- financial year to date includes a touched month. Ours is marts.district_monthly (the month,
-- or the sum of the financial year's months up to the report's, every sub-item summed as the
-- portal's cumulative report sums them), for the items of the 2017 consolidation (the anchor format),
-- the only items the report can hold. A zero on one side and nothing on the other match.
CREATE TEMPORARY TABLE recon_pull ON COMMIT DROP AS
SELECT DISTINCT ON (v.district, v.period, v.cumulative) v.district, v.period, v.cumulative, v.pull_key,
       p.data_as_on,
       to_char(to_date(v.period, 'YYYY-MM') - interval '3 months', 'YYYY') || '-04' AS year_start
  FROM (SELECT DISTINCT pull_key, district, period, cumulative FROM ingest.portal_district_value
         WHERE district IN (SELECT district FROM touched)) v
  JOIN ingest.portal_pull p ON p.key = v.pull_key
 WHERE p.pulled_at <= %(built_at)s
 ORDER BY v.district, v.period, v.cumulative, p.pulled_at DESC, v.pull_key DESC;

CREATE TEMPORARY TABLE recon_target ON COMMIT DROP AS
SELECT district, period FROM touched
UNION
SELECT r.district, r.period
  FROM recon_pull r JOIN touched t ON t.district = r.district
 WHERE r.cumulative AND r.period > t.period AND t.period >= r.year_start;

DELETE FROM {marts}.portal_reconciliation m USING recon_target t WHERE m.district = t.district AND m.period = t.period;

WITH pull AS (
    SELECT r.* FROM recon_pull r JOIN recon_target USING (district, period)
), portal AS (
    SELECT p.district, p.period, p.cumulative, v.item_code, v.disaggregation, v.value
      FROM pull p
      JOIN ingest.portal_district_value v
        ON v.pull_key = p.pull_key AND v.district = p.district AND v.report_column = 'total'
     WHERE v.value IS NOT NULL
), ours AS (
    SELECT p.district, p.period, p.cumulative, d.item_code, d.disaggregation, sum(d.value) AS value
      FROM pull p
      JOIN {marts}.district_monthly d
        ON d.district = p.district AND d.period <= p.period
       AND (d.period = p.period OR (p.cumulative AND d.period >= p.year_start))
      JOIN ref.format_item i ON i.format_id = %(anchor)s AND i.item_code = d.item_code
     GROUP BY p.district, p.period, p.cumulative, d.item_code, d.disaggregation
), compared AS (
    SELECT district, period, cumulative, item_code, disaggregation FROM ours
    UNION
    SELECT district, period, cumulative, item_code, disaggregation FROM portal
)
INSERT INTO {marts}.portal_reconciliation (state, district, period, basis, item_code, disaggregation, our_value,
                                         portal_value, difference, status, pull_key, portal_status_as_on, built_at)
SELECT s.state, c.district, c.period, CASE WHEN c.cumulative THEN 'financial_year_to_date' ELSE 'month' END,
       c.item_code, c.disaggregation, o.value, pv.value, coalesce(o.value, 0) - coalesce(pv.value, 0),
       CASE WHEN coalesce(o.value, 0) = coalesce(pv.value, 0) THEN 'match'
            WHEN pv.value IS NULL THEN 'only_ours'
            WHEN o.value IS NULL THEN 'only_portal'
            ELSE 'differs' END,
       p.pull_key, p.data_as_on, %(built_at)s
  FROM compared c
  JOIN pull p USING (district, period, cumulative)
  LEFT JOIN ours o USING (district, period, cumulative, item_code, disaggregation)
  LEFT JOIN portal pv USING (district, period, cumulative, item_code, disaggregation)
  LEFT JOIN (SELECT district, min(state) AS state FROM ref.facility GROUP BY district) s USING (district);
