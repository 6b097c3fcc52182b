-- Marts are rebuilt per block-period rather than per district-period: a day on which 1 % of
-- facilities send files touches a few blocks of a district, not the whole district. This
-- records what each block-period was last built from. It replaces marts.build_state (one row
-- per district-period), whose rows now follow from it.
CREATE TABLE IF NOT EXISTS marts.block_build_state (
    district      text NOT NULL,
    block         text NOT NULL,
    period        text NOT NULL,
    ledger_state  text NOT NULL,
    built_at      timestamptz NOT NULL,
    PRIMARY KEY (district, block, period)
);
REVOKE SELECT ON marts.block_build_state FROM state_reader, district_reader;
DROP TABLE IF EXISTS marts.build_state;

-- The fingerprint reads which file is loaded per facility-period from the ledger (one row
-- per file) instead of scanning the facts (one row per value).
CREATE INDEX IF NOT EXISTS file_loaded_idx ON ingest.file (facility_id, period) WHERE status = 'loaded';

-- The marts' fingerprint and scopes are planned from fresh statistics: the pipeline runs
-- ANALYZE on the ledger and the statuses before using them (a month's worth of rows
-- arrives within one run, long before autovacuum would notice). PostgreSQL 17 and later
-- let the loader do that through MAINTAIN; on older servers ANALYZE by a non-owner is
-- skipped with a warning and the statistics are autovacuum's.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE 'GRANT MAINTAIN ON ingest.file, compliance.facility_status TO hmis_loader';
    END IF;
END
$$;

-- After a load has settled every staged file, the loader empties the staging table at once.
GRANT TRUNCATE ON ingest.staged_value TO hmis_loader;

-- Nothing reads the facts by file any more (the fingerprint reads the ledger, and a file's
-- values are found through its facility and period, the primary key); the index only
-- cost every load a second B-tree insert per value.
DROP INDEX IF EXISTS facts.monthly_value_file_idx;
