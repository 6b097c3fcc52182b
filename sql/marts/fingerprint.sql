-- The state each block-period of the marts would be built from: every expected facility's
-- status and the file its loaded values came from (the ledger marks exactly that file
-- 'loaded', in the load's own transaction), plus the registry version and %(definitions)s
-- (a digest of the mart SQL, indicators and population), and whether the month is due by
-- %(as_of)s (its completeness class turns on that, even when no status changes). Equal
-- fingerprints mean an unchanged block-period, which is not rebuilt.
SELECT f.district, f.block, s.period,
       md5(%(definitions)s || max(f.registry_sha256) || (%(as_of)s > max(s.due_at))::text ||
           string_agg(s.facility_id || ':' || s.status || ':' || coalesce(lf.file_id::text, '-'),
                      ',' ORDER BY s.facility_id)) AS ledger_state
  FROM compliance.facility_status s
  JOIN ref.facility f USING (facility_id)
  LEFT JOIN ingest.file lf
         ON lf.facility_id = s.facility_id AND lf.period = s.period AND lf.status = 'loaded'
 WHERE s.period = ANY(%(periods)s)
 GROUP BY f.district, f.block, s.period;
