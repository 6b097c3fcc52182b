-- Rebuild the marts for the periods in %(periods)s. Run inside one transaction by
-- hmis.marts.rebuild, so a reader sees either the old or the new numbers, never a mix.
-- Only accepted (loaded) values count; expected reporters come from compliance.facility_status.

DELETE FROM marts.district_monthly WHERE period = ANY(%(periods)s);
DELETE FROM marts.state_monthly    WHERE period = ANY(%(periods)s);
DELETE FROM marts.reporting_rates  WHERE period = ANY(%(periods)s);

WITH expected AS (
    SELECT f.state, f.district, s.period, count(*) AS facilities_expected
      FROM compliance.facility_status s JOIN ref.facility f USING (facility_id)
     WHERE s.period = ANY(%(periods)s)
     GROUP BY f.state, f.district, s.period
)
INSERT INTO marts.district_monthly
       (state, district, period, item_code, value, facilities_reporting, facilities_expected, built_at)
SELECT f.state, f.district, v.period, v.item_code, sum(v.value),
       count(DISTINCT v.facility_id), coalesce(max(e.facilities_expected), 0), %(built_at)s
  FROM facts.monthly_value v
  JOIN ref.facility f USING (facility_id)
  LEFT JOIN expected e ON e.state = f.state AND e.district = f.district AND e.period = v.period
 WHERE v.period = ANY(%(periods)s)
 GROUP BY f.state, f.district, v.period, v.item_code;

WITH expected AS (
    SELECT f.state, s.period, count(*) AS facilities_expected
      FROM compliance.facility_status s JOIN ref.facility f USING (facility_id)
     WHERE s.period = ANY(%(periods)s)
     GROUP BY f.state, s.period
)
INSERT INTO marts.state_monthly
       (state, period, item_code, value, facilities_reporting, facilities_expected, built_at)
SELECT f.state, v.period, v.item_code, sum(v.value),
       count(DISTINCT v.facility_id), coalesce(max(e.facilities_expected), 0), %(built_at)s
  FROM facts.monthly_value v
  JOIN ref.facility f USING (facility_id)
  LEFT JOIN expected e ON e.state = f.state AND e.period = v.period
 WHERE v.period = ANY(%(periods)s)
 GROUP BY f.state, v.period, v.item_code;

-- Reporting rates (DHIS2): reported = on time + late, over expected reporters.
INSERT INTO marts.reporting_rates
       (level, area, period, expected, reported, on_time, reporting_rate, on_time_rate, built_at)
SELECT level, area, period, expected, reported, on_time,
       round(reported::numeric / nullif(expected, 0), 4),
       round(on_time::numeric / nullif(expected, 0), 4),
       %(built_at)s
  FROM (
    SELECT CASE WHEN GROUPING(f.block) = 0 THEN 'block'
                WHEN GROUPING(f.district) = 0 THEN 'district'
                ELSE 'state' END AS level,
           CASE WHEN GROUPING(f.block) = 0 THEN f.block
                WHEN GROUPING(f.district) = 0 THEN f.district
                ELSE f.state END AS area,
           s.period,
           count(*) AS expected,
           count(*) FILTER (WHERE s.status IN ('on_time', 'late')) AS reported,
           count(*) FILTER (WHERE s.status = 'on_time') AS on_time
      FROM compliance.facility_status s JOIN ref.facility f USING (facility_id)
     WHERE s.period = ANY(%(periods)s)
     GROUP BY s.period, ROLLUP (f.state, f.district, f.block)
    HAVING GROUPING(f.state) = 0
  ) AS rolled;
