-- The load plans its insert (each staged row placed on its item through ref.format_item) from
-- fresh statistics of the staging table and the format items, which change within one run: let
-- the loader ANALYZE them
-- where the server allows (MAINTAIN, PostgreSQL 17 and later; see 0007).
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE 'GRANT MAINTAIN ON ingest.staged_value, ref.format_item TO hmis_loader';
    END IF;
END
$$;
