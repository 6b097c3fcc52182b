-- Statements of src/hmis/reference/registry.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: insert_registry_version
INSERT INTO ref.registry_version
           (registry_sha256, source_key, first_loaded_at, facility_count, registered_count)
    VALUES (%s, %s, %s, %s, %s) ON CONFLICT (registry_sha256) DO NOTHING;

-- name: add_portal_facilities
-- Facilities a portal report names and the registry does not: added from the report's
-- descriptor columns, marked with the pull they came from (ref.registry_difference lists them).
INSERT INTO ref.facility (facility_id, name, facility_type, ownership, is_ayush, block, district, district_lgd,
                          state, hmis_registered, hmis_registered_on, opened_on, closed_on, registry_sha256,
                          loaded_at, source)
SELECT p.facility_id, p.name, p.facility_type, coalesce(p.ownership, 'public'), p.facility_type = 'AYUSH',
       p.block, p.district, p.district_lgd, p.state, true, NULL, NULL, NULL, 'portal', %(now)s, 'portal:' || p.source_key
  FROM ref.portal_facility p
 WHERE p.facility_type IS NOT NULL AND p.block IS NOT NULL AND p.district IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM ref.facility f WHERE f.facility_id = p.facility_id);
