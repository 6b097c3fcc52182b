-- Numbers a state can trust (issue 16): every accepted version of a facility-month is kept,
-- every figure carries how complete its month is, and what is owed to the state's store is
-- recorded until the export settles it.

-- Versions. A file's validity runs from its arrival (submitted_at) until the arrival of the
-- accepted version that replaced it (superseded_at; NULL while it is the newest). The values
-- of replaced versions move to facts.superseded_value, so the values as of any moment are
-- those of the version valid then (facts.value_as_of, below). recorded_at and settled_at are
-- real times (the clock), for audits; every other time in the ledger is logical.
ALTER TABLE ingest.file ADD COLUMN IF NOT EXISTS superseded_at timestamptz;
ALTER TABLE ingest.file ADD COLUMN IF NOT EXISTS recorded_at timestamptz DEFAULT clock_timestamp();
ALTER TABLE ingest.file ADD COLUMN IF NOT EXISTS settled_at timestamptz;

-- Date the versions already in the ledger (their replaced values were not kept: the past of
-- a month loaded before this migration can be rebuilt only from its newest version on).
UPDATE ingest.file f SET superseded_at = v.valid_to
  FROM (SELECT file_id, lead(submitted_at) OVER (PARTITION BY facility_id, period
                                                 ORDER BY submitted_at, file_id) AS valid_to
          FROM ingest.file WHERE status IN ('loaded', 'superseded') AND facility_id IS NOT NULL) v
 WHERE f.file_id = v.file_id AND v.valid_to IS NOT NULL AND f.superseded_at IS NULL;

CREATE TABLE IF NOT EXISTS facts.superseded_value (
    LIKE facts.monthly_value INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (file_id, item_code, disaggregation)
);
CREATE INDEX IF NOT EXISTS superseded_value_facility_period_idx ON facts.superseded_value (facility_id, period);
GRANT SELECT, INSERT, DELETE ON facts.superseded_value TO hmis_loader;

-- The accepted versions of every facility-month and when each was valid (the load keeps
-- superseded_at, sql/ingest/stages.sql date_versions).
CREATE OR REPLACE VIEW facts.version AS
SELECT file_id, facility_id, period, submitted_at AS valid_from, superseded_at AS valid_to
  FROM ingest.file
 WHERE status IN ('loaded', 'superseded') AND facility_id IS NOT NULL;
GRANT SELECT ON facts.version TO hmis_loader;

-- Completeness on every figure: the class of the area-month a figure belongs to. A month is
-- provisional until its due date has passed and enough of its expected reports are in
-- (HMIS_COMPLETE_SHARE, 0.90 by default: the WHO data-quality review's threshold), then complete.
ALTER TABLE marts.reporting_rates ADD COLUMN IF NOT EXISTS due_at timestamptz;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['block_monthly', 'district_monthly', 'state_monthly', 'monthly_by_group',
                             'reporting_rates', 'reporting_rates_by_group', 'indicator_monthly'] LOOP
        EXECUTE format('ALTER TABLE marts.%I ADD COLUMN IF NOT EXISTS completeness text NOT NULL DEFAULT %L
                        CHECK (completeness IN (%L, %L))', t, 'provisional', 'provisional', 'complete');
    END LOOP;
END
$$;

-- What is owed to the state's store. The marts build records a period as owed in its own
-- transaction; the export settles it once the period's manifest is written. Any later run
-- exports whatever is still owed, so a run that dies after the marts never loses an export.
-- kind 'period': the period's marts and report pages; 'approved': a district-month's approved
-- revision (written when the district approves it).
CREATE TABLE IF NOT EXISTS marts.export_owed (
    owed_id         bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('period', 'approved')),
    period          text NOT NULL,
    district        text,
    revision        integer,
    run_id          text NOT NULL,
    as_of           timestamptz NOT NULL,                    -- logical date of the run that owed it
    owed_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    settled_run_id  text,
    settled_at      timestamptz                              -- real time the manifest was written
);
CREATE INDEX IF NOT EXISTS export_owed_open_idx ON marts.export_owed (kind, period) WHERE settled_at IS NULL;

-- Which logical date the current marts of each period describe. A run dated before it (a
-- backfill) computes its periods as of its own date into schema asof and leaves the current
-- marts, statuses and exports as they are.
CREATE TABLE IF NOT EXISTS marts.publication (
    period        text PRIMARY KEY,
    as_of         timestamptz NOT NULL,
    run_id        text NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A backfill's results, apart from the current ones: the same tables as the marts (built by
-- the same SQL), the statuses as of the backfill's date, and which date each period describes.
CREATE SCHEMA IF NOT EXISTS asof;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['block_monthly', 'district_monthly', 'state_monthly', 'monthly_by_group',
                             'reporting_rates', 'reporting_rates_by_group', 'indicator_monthly',
                             'block_build_state', 'portal_reconciliation'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS asof.%I (LIKE marts.%I INCLUDING ALL)', t, t);
    END LOOP;
END
$$;
CREATE TABLE IF NOT EXISTS asof.facility_status (LIKE compliance.facility_status INCLUDING ALL);
CREATE TABLE IF NOT EXISTS asof.publication (LIKE marts.publication INCLUDING ALL);
GRANT USAGE ON SCHEMA asof TO hmis_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA asof TO hmis_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON marts.export_owed, marts.publication TO hmis_loader;
GRANT USAGE ON SEQUENCE marts.export_owed_owed_id_seq TO hmis_loader;

-- Run history is kept: each execution of a run (a re-run of a date included) adds a row.
CREATE TABLE IF NOT EXISTS ingest.run_history (
    run_id        text NOT NULL,
    logical_date  timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    current       boolean NOT NULL,          -- false: a backfill, written apart (schema asof)
    summary       jsonb NOT NULL
);
GRANT SELECT, INSERT ON ingest.run_history TO hmis_loader;

-- Alerts: the real time of each send beside its logical time.
ALTER TABLE alerts.sent ADD COLUMN IF NOT EXISTS sent_clock_at timestamptz;
