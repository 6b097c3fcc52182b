-- Rebuild the marts for the block-periods in the temporary table `touched_block`
-- (district, block, period, ledger_state; a NULL ledger_state is a block that no longer has
-- facilities). Run inside one transaction by hmis.marts.build.rebuild: a reader sees the old or
-- the new numbers, never a mix.
--
-- The same statements build the current marts and a backfill's, apart: hmis.marts.build fills
-- in {marts} (the schema written: marts, or asof for a backfill), {statuses} (the facilities'
-- statuses as of the build: compliance.facility_status, or asof.facility_status) and {values}
-- (the accepted values as of the build: facts.monthly_value, or the versions valid at the
-- backfill's date). %(built_at)s is the run's logical date and %(complete_share)s the share of
-- expected reports that makes a month complete once it is due.
--
-- Only the touched blocks are aggregated from the facts; district rows are then summed from
-- the block rows of their district, and state rows from the district rows, so a day on
-- which a few facilities report costs a few blocks' worth of facts, not the state's.
-- Only accepted (loaded) numbers count (statuses, dates and percentages are not added up);
-- expected reporters come from the statuses (a few thousand rows, recounted per touched
-- district), and a facility is expected for an item only when its type's format for
-- that month holds it (ref.expected_item). The values have one row per facility,
-- period, data element and disaggregation, so count(*) in a group keyed by both counts facilities.
--
-- Every row carries its area-month's completeness: provisional until the month is due and
-- %(complete_share)s of its expected reports are in, complete after.

-- The rollups hash a period's values; give them memory instead of spilling to disk. (1 GB was
-- tried for a national month's ≈ 13 M block splits: no gain, 349 s vs 369 s for the marts.)
SET LOCAL work_mem = '256MB';

DELETE FROM {marts}.block_build_state m USING touched_block t
 WHERE m.district = t.district AND m.block = t.block AND m.period = t.period AND t.ledger_state IS NULL;
INSERT INTO {marts}.block_build_state (district, block, period, ledger_state, built_at)
SELECT district, block, period, ledger_state, %(built_at)s FROM touched_block WHERE ledger_state IS NOT NULL
ON CONFLICT (district, block, period) DO UPDATE SET ledger_state = EXCLUDED.ledger_state, built_at = EXCLUDED.built_at;

-- Touched district-periods; their fingerprint is a digest of their blocks' fingerprints.
CREATE TEMPORARY TABLE touched ON COMMIT DROP AS
SELECT t.district, t.period,
       coalesce(md5(string_agg(b.block || ':' || b.ledger_state, ',' ORDER BY b.block)), md5('')) AS ledger_state
  FROM (SELECT DISTINCT district, period FROM touched_block) t
  LEFT JOIN {marts}.block_build_state b USING (district, period)
 GROUP BY t.district, t.period;

CREATE TEMPORARY TABLE status_scope ON COMMIT DROP AS
SELECT s.facility_id, s.period, s.status, s.due_at, f.state, f.district, f.block, f.ownership,
       f.facility_type, f.is_ayush, t.ledger_state
  FROM {statuses} s
  JOIN ref.facility f USING (facility_id)
  JOIN touched t ON t.district = f.district AND t.period = s.period;

-- The touched blocks' facts in one pass, split by ownership, facility type and AYUSH flag.
-- Every facility is in exactly one split, so block totals are sums of the splits.
CREATE TEMPORARY TABLE block_groups ON COMMIT DROP AS
SELECT f.state, f.district, f.block, t.period, v.item_code, v.disaggregation, f.ownership, f.facility_type,
       f.is_ayush, sum(v.value) AS value, count(*) FILTER (WHERE v.flagged) AS flagged, count(*) AS reporting,
       t.ledger_state
  FROM touched_block t
  JOIN ref.facility f ON f.district = t.district AND f.block = t.block
  JOIN {values} v ON v.facility_id = f.facility_id AND v.period = t.period
 WHERE t.ledger_state IS NOT NULL AND v.value IS NOT NULL
 GROUP BY f.state, f.district, f.block, t.period, v.item_code, v.disaggregation, f.ownership, f.facility_type,
          f.is_ayush, t.ledger_state;

-- Expected facilities per item and split: the expected reporters whose format holds the item.
-- Reporters are counted per split first (a few rows per block), then spread over the items of
-- the split's facility type, rather than joining every facility with its ~300 items.
CREATE TEMPORARY TABLE item_expected ON COMMIT DROP AS
SELECT g.district, g.block, g.period, g.ownership, g.facility_type, g.is_ayush, e.data_element AS item_code, g.n
  FROM (SELECT district, block, period, ownership, facility_type, is_ayush, count(*) AS n
          FROM status_scope GROUP BY district, block, period, ownership, facility_type, is_ayush) g
  JOIN ref.expected_item e ON e.facility_type = g.facility_type AND e.period = g.period;

-- Each touched block- and district-month's completeness, from its expected reporters' statuses.
CREATE TEMPORARY TABLE area_class ON COMMIT DROP AS
SELECT CASE WHEN GROUPING(block) = 0 THEN 'block' ELSE 'district' END AS level, district,
       coalesce(block, district) AS area, period, max(due_at) AS due_at,
       CASE WHEN %(built_at)s > max(due_at)
             AND count(*) FILTER (WHERE status IN ('on_time', 'late')) >= %(complete_share)s * count(*)
            THEN 'complete' ELSE 'provisional' END AS completeness
  FROM status_scope
 GROUP BY GROUPING SETS ((district, block, period), (district, period));

ANALYZE status_scope;
ANALYZE area_class;
ANALYZE item_expected;
ANALYZE block_groups;

-- Block level.
DELETE FROM {marts}.block_monthly m USING touched_block t
 WHERE m.district = t.district AND m.block = t.block AND m.period = t.period;
DELETE FROM {marts}.monthly_by_group m USING touched_block t
 WHERE m.level = 'block' AND m.district = t.district AND m.area = t.block AND m.period = t.period;

WITH expected AS (
    SELECT district, block, period, item_code, sum(n) AS n FROM item_expected GROUP BY 1, 2, 3, 4
)
INSERT INTO {marts}.block_monthly (state, district, block, period, item_code, disaggregation, value, flagged_values,
                                 facilities_reporting, facilities_expected, ledger_state, built_at, completeness)
SELECT g.state, g.district, g.block, g.period, g.item_code, g.disaggregation, sum(g.value), sum(g.flagged),
       sum(g.reporting), coalesce(max(e.n), 0), max(g.ledger_state), %(built_at)s, max(c.completeness)
  FROM block_groups g LEFT JOIN expected e USING (district, block, period, item_code)
  JOIN area_class c ON c.level = 'block' AND c.district = g.district AND c.area = g.block AND c.period = g.period
 GROUP BY g.state, g.district, g.block, g.period, g.item_code, g.disaggregation;

-- Values and expected reporters are aggregated separately, then matched per split.
INSERT INTO {marts}.monthly_by_group (level, state, district, area, period, item_code, disaggregation, ownership,
                                    facility_type, is_ayush, value, flagged_values, facilities_reporting,
                                    facilities_expected, ledger_state, built_at, completeness)
SELECT 'block', g.state, g.district, g.block, g.period, g.item_code, g.disaggregation, g.ownership,
       g.facility_type, g.is_ayush, g.value, g.flagged, g.reporting, coalesce(e.n, 0), g.ledger_state, %(built_at)s,
       c.completeness
  FROM block_groups g
  LEFT JOIN item_expected e USING (district, block, period, ownership, facility_type, is_ayush, item_code)
  JOIN area_class c ON c.level = 'block' AND c.district = g.district AND c.area = g.block AND c.period = g.period;

-- District level, summed from all block rows of the touched districts.
DELETE FROM {marts}.district_monthly m USING touched t WHERE m.district = t.district AND m.period = t.period;
DELETE FROM {marts}.monthly_by_group m USING touched t
 WHERE m.level = 'district' AND m.district = t.district AND m.period = t.period;
DELETE FROM {marts}.reporting_rates m USING touched t WHERE m.district = t.district AND m.period = t.period;
DELETE FROM {marts}.reporting_rates_by_group m USING touched t WHERE m.district = t.district AND m.period = t.period;

WITH expected AS (
    SELECT district, period, item_code, sum(n) AS n FROM item_expected GROUP BY 1, 2, 3
)
INSERT INTO {marts}.district_monthly (state, district, period, item_code, disaggregation, value, flagged_values,
                                    facilities_reporting, facilities_expected, ledger_state, built_at, completeness)
SELECT b.state, b.district, b.period, b.item_code, b.disaggregation, sum(b.value), sum(b.flagged_values),
       sum(b.facilities_reporting), coalesce(max(e.n), 0), max(t.ledger_state), %(built_at)s, max(c.completeness)
  FROM {marts}.block_monthly b
  JOIN touched t USING (district, period)
  LEFT JOIN expected e USING (district, period, item_code)
  JOIN area_class c ON c.level = 'district' AND c.area = b.district AND c.period = b.period
 GROUP BY b.state, b.district, b.period, b.item_code, b.disaggregation;

WITH vals AS (
    SELECT g.state, g.district, g.period, g.item_code, g.disaggregation, g.ownership, g.facility_type, g.is_ayush,
           sum(g.value) AS value, sum(g.flagged_values) AS flagged, sum(g.facilities_reporting) AS reporting,
           max(t.ledger_state) AS ledger_state
      FROM {marts}.monthly_by_group g JOIN touched t USING (district, period)
     WHERE g.level = 'block'
     GROUP BY g.state, g.district, g.period, g.item_code, g.disaggregation, g.ownership, g.facility_type, g.is_ayush
), expected AS (
    SELECT district, period, ownership, facility_type, is_ayush, item_code, sum(n) AS n
      FROM item_expected GROUP BY district, period, ownership, facility_type, is_ayush, item_code
)
INSERT INTO {marts}.monthly_by_group (level, state, district, area, period, item_code, disaggregation, ownership,
                                    facility_type, is_ayush, value, flagged_values, facilities_reporting,
                                    facilities_expected, ledger_state, built_at, completeness)
SELECT 'district', v.state, v.district, v.district, v.period, v.item_code, v.disaggregation, v.ownership,
       v.facility_type, v.is_ayush, v.value, v.flagged, v.reporting, coalesce(e.n, 0), v.ledger_state, %(built_at)s,
       c.completeness
  FROM vals v
  LEFT JOIN expected e USING (district, period, ownership, facility_type, is_ayush, item_code)
  JOIN area_class c ON c.level = 'district' AND c.area = v.district AND c.period = v.period;

-- Reporting rates (DHIS2): reported = on time + late, over expected reporters.
INSERT INTO {marts}.reporting_rates (level, district, area, period, expected, reported, on_time,
                                   reporting_rate, on_time_rate, ledger_state, built_at, due_at, completeness)
SELECT r.*, c.due_at, c.completeness
  FROM (SELECT CASE WHEN GROUPING(block) = 0 THEN 'block' ELSE 'district' END AS level, district,
               coalesce(block, district) AS area, period, count(*),
               count(*) FILTER (WHERE status IN ('on_time', 'late')), count(*) FILTER (WHERE status = 'on_time'),
               round(count(*) FILTER (WHERE status IN ('on_time', 'late'))::numeric / count(*), 4),
               round(count(*) FILTER (WHERE status = 'on_time')::numeric / count(*), 4),
               max(ledger_state), %(built_at)s
          FROM status_scope
         GROUP BY GROUPING SETS ((district, block, period), (district, period))) r
  JOIN area_class c USING (level, district, area, period);

INSERT INTO {marts}.reporting_rates_by_group (level, state, district, area, period, ownership, ayush, expected,
                                            reported, on_time, reporting_rate, on_time_rate, ledger_state, built_at,
                                            completeness)
SELECT r.*, c.completeness
  FROM (SELECT CASE WHEN GROUPING(block) = 0 THEN 'block' ELSE 'district' END AS level, state, district,
       coalesce(block, district) AS area, period,
       CASE WHEN GROUPING(ownership) = 0 THEN ownership ELSE 'all' END,
       CASE WHEN GROUPING(is_ayush) = 1 THEN 'all' WHEN is_ayush THEN 'yes' ELSE 'no' END,
       count(*), count(*) FILTER (WHERE status IN ('on_time', 'late')), count(*) FILTER (WHERE status = 'on_time'),
       round(count(*) FILTER (WHERE status IN ('on_time', 'late'))::numeric / count(*), 4),
       round(count(*) FILTER (WHERE status = 'on_time')::numeric / count(*), 4),
       max(ledger_state), %(built_at)s
  FROM status_scope
 GROUP BY GROUPING SETS ((state, district, block, period, ownership), (state, district, block, period, is_ayush),
                         (state, district, period, ownership), (state, district, period, is_ayush))) r
  JOIN area_class c USING (level, district, area, period);

-- State level: recomputed for every touched period from all of the state's districts.
CREATE TEMPORARY TABLE state_periods ON COMMIT DROP AS
SELECT DISTINCT f.state, t.period FROM touched t JOIN ref.facility f USING (district);

-- A state-month is complete when it is due and enough of the state's expected reports are in.
CREATE TEMPORARY TABLE state_class ON COMMIT DROP AS
SELECT p.state, p.period, max(r.due_at) AS due_at,
       CASE WHEN %(built_at)s > max(r.due_at) AND sum(r.reported) >= %(complete_share)s * sum(r.expected)
            THEN 'complete' ELSE 'provisional' END AS completeness
  FROM {marts}.reporting_rates r
  JOIN (SELECT DISTINCT district, state FROM ref.facility) f ON f.district = r.area
  JOIN state_periods p ON p.state = f.state AND p.period = r.period
 WHERE r.level = 'district'
 GROUP BY p.state, p.period;

DELETE FROM {marts}.state_monthly m USING state_periods p WHERE m.state = p.state AND m.period = p.period;
INSERT INTO {marts}.state_monthly (state, period, item_code, disaggregation, value, flagged_values,
                                 facilities_reporting, facilities_expected, ledger_state, built_at, completeness)
SELECT d.state, d.period, d.item_code, d.disaggregation, sum(d.value), sum(d.flagged_values),
       sum(d.facilities_reporting), sum(d.facilities_expected),
       md5(string_agg(d.ledger_state, ',' ORDER BY d.district)), %(built_at)s, max(c.completeness)
  FROM {marts}.district_monthly d JOIN state_periods p USING (state, period)
  JOIN state_class c USING (state, period)
 GROUP BY d.state, d.period, d.item_code, d.disaggregation;

DELETE FROM {marts}.monthly_by_group m USING state_periods p
 WHERE m.level = 'state' AND m.state = p.state AND m.period = p.period;
INSERT INTO {marts}.monthly_by_group (level, state, district, area, period, item_code, disaggregation, ownership,
                                    facility_type, is_ayush, value, flagged_values, facilities_reporting,
                                    facilities_expected, ledger_state, built_at, completeness)
SELECT 'state', g.state, NULL, g.state, g.period, g.item_code, g.disaggregation, g.ownership, g.facility_type,
       g.is_ayush, sum(g.value), sum(g.flagged_values), sum(g.facilities_reporting), sum(g.facilities_expected),
       md5(string_agg(g.ledger_state, ',' ORDER BY g.district)), %(built_at)s, max(c.completeness)
  FROM {marts}.monthly_by_group g JOIN state_periods p USING (state, period)
  JOIN state_class c USING (state, period)
 WHERE g.level = 'district'
 GROUP BY g.state, g.period, g.item_code, g.disaggregation, g.ownership, g.facility_type, g.is_ayush;

DELETE FROM {marts}.reporting_rates m USING state_periods p WHERE m.level = 'state' AND m.area = p.state AND m.period = p.period;
INSERT INTO {marts}.reporting_rates (level, district, area, period, expected, reported, on_time,
                                   reporting_rate, on_time_rate, ledger_state, built_at, due_at, completeness)
SELECT 'state', NULL, p.state, r.period, sum(r.expected), sum(r.reported), sum(r.on_time),
       round(sum(r.reported)::numeric / nullif(sum(r.expected), 0), 4),
       round(sum(r.on_time)::numeric / nullif(sum(r.expected), 0), 4),
       md5(string_agg(r.ledger_state, ',' ORDER BY r.area)), %(built_at)s, max(c.due_at), max(c.completeness)
  FROM {marts}.reporting_rates r
  JOIN (SELECT DISTINCT district, state FROM ref.facility) f ON f.district = r.area
  JOIN state_periods p ON p.state = f.state AND p.period = r.period
  JOIN state_class c ON c.state = p.state AND c.period = p.period
 WHERE r.level = 'district'
 GROUP BY p.state, r.period;

DELETE FROM {marts}.reporting_rates_by_group m USING state_periods p
 WHERE m.level = 'state' AND m.state = p.state AND m.period = p.period;
INSERT INTO {marts}.reporting_rates_by_group (level, state, district, area, period, ownership, ayush, expected,
                                            reported, on_time, reporting_rate, on_time_rate, ledger_state, built_at,
                                            completeness)
SELECT 'state', g.state, NULL, g.state, g.period, g.ownership, g.ayush, sum(g.expected), sum(g.reported),
       sum(g.on_time), round(sum(g.reported)::numeric / nullif(sum(g.expected), 0), 4),
       round(sum(g.on_time)::numeric / nullif(sum(g.expected), 0), 4),
       md5(string_agg(g.ledger_state, ',' ORDER BY g.district)), %(built_at)s, max(c.completeness)
  FROM {marts}.reporting_rates_by_group g JOIN state_periods p USING (state, period)
  JOIN state_class c USING (state, period)
 WHERE g.level = 'district'
 GROUP BY g.state, g.period, g.ownership, g.ayush;
