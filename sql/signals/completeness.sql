-- Statements of src/hmis/signals/completeness.py and the ``hmis signals --warehouse`` listing,
-- each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: classes
-- The completeness class of every block- and district-month the marts hold. A month the
-- run's moment %(as_of)s has not passed the due date of is provisional whatever the marts say
-- (a run dated in the past judges the month as it stood then, never later); so is a month
-- whose due date the marts do not know.
SELECT level, district, area, period,
       CASE WHEN completeness = 'complete' AND due_at IS NOT NULL AND %(as_of)s > due_at
            THEN 'complete' ELSE 'provisional' END
  FROM marts.reporting_rates
 WHERE level IN ('block', 'district');

-- name: listing
-- Every signal of a district (or all, when %(district)s is NULL) and period (or all), with
-- the disease's catalogue name, for the ``hmis signals --warehouse`` listing.
SELECT s.area_level, s.district, s.area, s.item_code, coalesce(d.name, s.item_code), coalesce(d.name_hi, ''),
       s.period, s.method, s.observed, s.expected, s.upper_bound, s.alarm, s.would_alarm, s.completeness
  FROM marts.disease_signals s LEFT JOIN ref.data_item d USING (item_code)
 WHERE (%(district)s::text IS NULL OR s.district = %(district)s)
   AND (%(period)s::text IS NULL OR s.period = %(period)s)
   AND (%(method)s::text IS NULL OR s.method = %(method)s)
 ORDER BY s.period, s.district, s.area_level DESC, s.area, s.item_code, s.method;
