-- The state each district-period of the marts would be built from: every expected
-- facility's status and the file its loaded values came from, plus the registry version
-- and %(definitions)s (a digest of the mart SQL, indicators and population). Equal
-- fingerprints mean an unchanged district-period, which is not rebuilt.
SELECT f.district, s.period,
       md5(%(definitions)s || max(f.registry_sha256) ||
           string_agg(s.facility_id || ':' || s.status || ':' || coalesce(lf.file_id::text, '-'),
                      ',' ORDER BY s.facility_id)) AS ledger_state
  FROM compliance.facility_status s
  JOIN ref.facility f USING (facility_id)
  LEFT JOIN (SELECT DISTINCT facility_id, period, file_id
               FROM facts.monthly_value WHERE period = ANY(%(periods)s)) lf USING (facility_id, period)
 WHERE s.period = ANY(%(periods)s)
 GROUP BY f.district, s.period;
