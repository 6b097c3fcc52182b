-- Alert ladder, registration gap and registry history. Every statement is idempotent.

-- Registry history ----------------------------------------------------------------------

-- Every distinct content of registry/facilities.csv the pipeline has read.
CREATE TABLE IF NOT EXISTS ref.registry_version (
    registry_sha256   text PRIMARY KEY,
    source_key        text NOT NULL,
    first_loaded_at   timestamptz NOT NULL,   -- logical date of the first run that read it
    facility_count    integer NOT NULL,
    registered_count  integer NOT NULL
);

-- Each facility's registry entry over time: a row per distinct entry, valid from the run
-- that first read it until the run that read a different one (or none). valid_to IS NULL
-- marks the current entry, which ref.facility also holds.
CREATE TABLE IF NOT EXISTS ref.facility_version (
    version_id         bigserial PRIMARY KEY,
    facility_id        text NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    registry_sha256    text NOT NULL REFERENCES ref.registry_version (registry_sha256),
    name               text NOT NULL,
    facility_type      text NOT NULL,
    ownership          text NOT NULL CHECK (ownership IN ('public', 'private')),
    is_ayush           boolean NOT NULL,
    block              text NOT NULL,
    district           text NOT NULL,
    district_lgd       text,
    state              text NOT NULL,
    hmis_registered    boolean NOT NULL,
    hmis_registered_on date,
    opened_on          date,
    closed_on          date,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS facility_version_current_idx
    ON ref.facility_version (facility_id) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS facility_version_facility_idx
    ON ref.facility_version (facility_id, valid_from);

-- A warehouse that already holds a registry starts its history with it.
INSERT INTO ref.registry_version
       (registry_sha256, source_key, first_loaded_at, facility_count, registered_count)
SELECT registry_sha256, 'registry/facilities.csv', min(loaded_at), count(*),
       count(*) FILTER (WHERE hmis_registered)
  FROM ref.facility
 GROUP BY registry_sha256
ON CONFLICT (registry_sha256) DO NOTHING;

INSERT INTO ref.facility_version
       (facility_id, valid_from, registry_sha256, name, facility_type, ownership, is_ayush, block,
        district, district_lgd, state, hmis_registered, hmis_registered_on, opened_on, closed_on)
SELECT f.facility_id, f.loaded_at, f.registry_sha256, f.name, f.facility_type, f.ownership, f.is_ayush,
       f.block, f.district, f.district_lgd, f.state, f.hmis_registered, f.hmis_registered_on,
       f.opened_on, f.closed_on
  FROM ref.facility f
 WHERE NOT EXISTS (SELECT 1 FROM ref.facility_version v WHERE v.facility_id = f.facility_id);

-- Registration gap ------------------------------------------------------------------------

-- Registry facilities that are not registered on HMIS as of the latest run: the registry
-- says so, or its registration date is still to come. Rebuilt by every run.
CREATE TABLE IF NOT EXISTS compliance.registration_gap (
    facility_id          text PRIMARY KEY,
    name                 text NOT NULL,
    facility_type        text NOT NULL,
    ownership            text NOT NULL,
    is_ayush             boolean NOT NULL,
    block                text NOT NULL,
    district             text NOT NULL,
    state                text NOT NULL,
    hmis_registered      boolean NOT NULL,   -- the registry's flag
    hmis_registered_on   date,
    unregistered_since   date,
    since_source         text NOT NULL CHECK (since_source IN ('opened_on', 'first_listed', 'unknown')),
    days_unregistered    integer,
    as_of                timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS registration_gap_area_idx
    ON compliance.registration_gap (state, district, block);

-- Alert ledger --------------------------------------------------------------------------

-- One row per (kind, period, rung, area, recipient). 'sending' is written before the SMTP
-- conversation, so a crash in between leaves a row the next run retries with the same
-- Message-ID; 'cancelled' is a failed alert that no longer lists anyone.
ALTER TABLE alerts.sent
    ADD COLUMN IF NOT EXISTS rung             text,
    ADD COLUMN IF NOT EXISTS area_level       text,
    ADD COLUMN IF NOT EXISTS area             text,
    ADD COLUMN IF NOT EXISTS message_id       text,
    ADD COLUMN IF NOT EXISTS first_attempt_at timestamptz,
    ADD COLUMN IF NOT EXISTS last_attempt_at  timestamptz;
ALTER TABLE alerts.sent DROP CONSTRAINT IF EXISTS sent_status_check;
ALTER TABLE alerts.sent ADD CONSTRAINT sent_status_check
    CHECK (status IN ('sending', 'sent', 'failed', 'cancelled'));
COMMENT ON COLUMN alerts.sent.error IS 'error of the last attempt (NULL once sent)';
COMMENT ON COLUMN alerts.sent.attempts IS 'runs that tried to deliver this alert';
COMMENT ON COLUMN alerts.sent.sent_at IS 'logical date of the run that delivered it';

-- The single district digest of the first schema is the ladder's district rung.
UPDATE alerts.sent
   SET kind = 'non_submission', rung = 'district', area_level = 'district',
       area = split_part(alert_key, ':', 2)
 WHERE kind = 'district_missing_digest' AND rung IS NULL;

CREATE UNIQUE INDEX IF NOT EXISTS sent_natural_key_idx
    ON alerts.sent (kind, period, rung, area, recipient);
CREATE INDEX IF NOT EXISTS sent_unsettled_idx
    ON alerts.sent (status) WHERE status <> 'sent';

-- Which facilities each alert listed, with the status and days overdue it gave them.
CREATE TABLE IF NOT EXISTS alerts.sent_facility (
    alert_key     text NOT NULL REFERENCES alerts.sent (alert_key) ON DELETE CASCADE,
    facility_id   text NOT NULL,
    status        text NOT NULL CHECK (status IN ('missing', 'rejected', 'late', 'not_registered')),
    days_overdue  integer NOT NULL,
    submitted_at  timestamptz,
    PRIMARY KEY (alert_key, facility_id)
);
CREATE INDEX IF NOT EXISTS sent_facility_facility_idx ON alerts.sent_facility (facility_id);
