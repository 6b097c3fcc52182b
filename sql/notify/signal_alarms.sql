-- Disease signals of the given periods on which at least one EARS method alarmed, one row per
-- area, disease and period with every method's verdict (hmis.signals.alarms.read_alarms).
-- Complete months only: a provisional month never alarms (the table's
-- disease_signals_no_provisional_alarm check, migration 0017), and is left out here as well so
-- that no alarm e-mail can ever go out for one, whatever wrote the table.
SELECT s.area_level, s.district, s.area, s.item_code, coalesce(d.name, s.item_code),
       coalesce(d.name_hi, ''), s.period, s.observed,
       array_agg(s.method ORDER BY s.method), array_agg(s.expected ORDER BY s.method),
       array_agg(s.upper_bound ORDER BY s.method), array_agg(coalesce(s.alarm, false) ORDER BY s.method),
       s.completeness
  FROM marts.disease_signals s LEFT JOIN ref.data_item d USING (item_code)
 WHERE s.period = ANY(%(periods)s) AND s.completeness = 'complete'
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, s.completeness
HAVING bool_or(s.alarm)
 ORDER BY s.period, s.area_level, s.area, s.item_code
