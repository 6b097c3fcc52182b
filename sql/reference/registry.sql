-- Statements of src/hmis/reference/registry.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: insert_registry_version
INSERT INTO ref.registry_version
           (registry_sha256, source_key, first_loaded_at, facility_count, registered_count)
    VALUES (%s, %s, %s, %s, %s) ON CONFLICT (registry_sha256) DO NOTHING;
