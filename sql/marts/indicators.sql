-- One indicator for the touched areas and periods, at block, district and state level, per
-- month and financial year to date. Parameters: %(indicator_id)s, %(numerator)s,
-- %(numerator_minus)s, %(denominator)s (item arrays), %(population_rate)s and
-- %(population_unit)s (NULL unless the denominator is population-based), %(factor)s,
-- %(built_at)s; {marts} is the schema built (see rebuild.sql). Reads the monthly marts just
-- rebuilt in the same transaction (plain totals: indicators are defined on items' TOTAL, never on
-- a stock sub-item). An indicator is as complete as its area-month's figures.
WITH wanted AS (
    SELECT DISTINCT t.district, t.period, f.state
      FROM touched t JOIN (SELECT DISTINCT district, state FROM ref.facility) f USING (district)
), span AS (
    -- every month of the financial years of the touched periods, up to the latest one
    SELECT min(make_date(CASE WHEN substr(period, 6, 2)::int >= 4 THEN substr(period, 1, 4)::int
                              ELSE substr(period, 1, 4)::int - 1 END, 4, 1)) AS first_month,
           max(period) AS last_period
      FROM wanted
), src AS (
    SELECT 'block' AS level, b.state, b.district, b.block AS area, b.period, b.item_code, b.value, b.ledger_state,
           b.completeness
      FROM {marts}.block_monthly b, span
     WHERE b.district IN (SELECT district FROM wanted) AND b.period >= to_char(span.first_month, 'YYYY-MM')
       AND b.period <= span.last_period AND b.disaggregation = 'TOTAL'
    UNION ALL
    SELECT 'district', d.state, d.district, d.district, d.period, d.item_code, d.value, d.ledger_state, d.completeness
      FROM {marts}.district_monthly d, span
     WHERE d.district IN (SELECT district FROM wanted) AND d.period >= to_char(span.first_month, 'YYYY-MM')
       AND d.period <= span.last_period AND d.disaggregation = 'TOTAL'
    UNION ALL
    SELECT 'state', s.state, NULL, s.state, s.period, s.item_code, s.value, s.ledger_state, s.completeness
      FROM {marts}.state_monthly s, span
     WHERE s.state IN (SELECT state FROM wanted) AND s.period >= to_char(span.first_month, 'YYYY-MM')
       AND s.period <= span.last_period AND s.disaggregation = 'TOTAL'
), monthly AS (
    SELECT level, state, district, area, period,
           sum(value) FILTER (WHERE item_code = ANY(%(numerator)s))
             - coalesce(sum(value) FILTER (WHERE item_code = ANY(%(numerator_minus)s)), 0) AS numerator,
           sum(value) FILTER (WHERE item_code = ANY(%(denominator)s)) AS item_denominator,
           max(ledger_state) AS ledger_state, max(completeness) AS completeness
      FROM src GROUP BY level, state, district, area, period
), population AS (
    SELECT level, area, year, population FROM ref.population
    UNION ALL
    SELECT 'state', f.state, p.year, sum(p.population)
      FROM ref.population p JOIN (SELECT DISTINCT district, state FROM ref.facility) f ON f.district = p.area
     WHERE p.level = 'district' GROUP BY f.state, p.year
), measured AS (
    SELECT m.*,
           CASE WHEN %(population_rate)s::numeric IS NULL THEN m.item_denominator
                ELSE pop.population * %(population_rate)s::numeric / 12
                     / coalesce(%(population_unit)s::numeric, 1) END AS denominator,
           CASE WHEN substr(m.period, 6, 2)::int >= 4 THEN substr(m.period, 1, 4)::int
                ELSE substr(m.period, 1, 4)::int - 1 END AS fy_start
      FROM monthly m
      LEFT JOIN LATERAL (
          SELECT population FROM population p
           WHERE p.level = m.level AND p.area = m.area
           ORDER BY abs(p.year - substr(m.period, 1, 4)::int), p.year DESC LIMIT 1) pop ON true
), with_fytd AS (
    SELECT *,
           sum(numerator) OVER w AS fytd_numerator,
           sum(denominator) OVER w AS fytd_denominator
      FROM measured
    WINDOW w AS (PARTITION BY level, area, fy_start ORDER BY period)
)
INSERT INTO {marts}.indicator_monthly (level, state, district, area, period, financial_year, indicator_id,
                                     numerator, denominator, value, fytd_numerator, fytd_denominator, fytd_value,
                                     ledger_state, built_at, completeness)
SELECT level, state, CASE WHEN level = 'state' THEN NULL ELSE district END, area, period,
       fy_start || '-' || lpad(((fy_start + 1) %% 100)::text, 2, '0'), %(indicator_id)s,
       numerator, round(denominator, 4), round(%(factor)s * numerator / nullif(denominator, 0), 4),
       fytd_numerator, round(fytd_denominator, 4),
       round(%(factor)s * fytd_numerator / nullif(fytd_denominator, 0), 4),
       ledger_state, %(built_at)s, completeness
  FROM with_fytd w
 WHERE (level <> 'state' AND (district, period) IN (SELECT district, period FROM wanted))
    OR (level = 'state' AND (state, period) IN (SELECT state, period FROM wanted));
