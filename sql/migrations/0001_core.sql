-- Core warehouse schema: reference data, the file ledger, facts, quality results,
-- compliance status and the marts state teams query. Every statement is idempotent.

CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS ingest;
CREATE SCHEMA IF NOT EXISTS facts;
CREATE SCHEMA IF NOT EXISTS dq;
CREATE SCHEMA IF NOT EXISTS compliance;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS alerts;

-- The facility registry as last read from the landing store.
CREATE TABLE IF NOT EXISTS ref.facility (
    facility_id        text PRIMARY KEY,
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
    registry_sha256    text NOT NULL,
    loaded_at          timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS ref.contact (
    role    text NOT NULL,
    level   text NOT NULL CHECK (level IN ('block', 'district', 'state')),
    area    text NOT NULL,
    name    text NOT NULL,
    email   text NOT NULL,
    phone   text,
    PRIMARY KEY (role, area, email)
);

CREATE TABLE IF NOT EXISTS ref.data_item (
    item_code    text PRIMARY KEY,
    name         text NOT NULL,
    name_hi      text,
    section      text NOT NULL,
    unit         text NOT NULL,
    aggregation  text NOT NULL
);

-- One row per distinct file content seen in the landing store. A changed file (same key,
-- new checksum) is a new row, so history is kept and nothing is processed twice.
CREATE TABLE IF NOT EXISTS ingest.file (
    file_id        bigserial PRIMARY KEY,
    key            text NOT NULL,
    sha256         text NOT NULL,
    size_bytes     bigint NOT NULL,
    modified_at    timestamptz NOT NULL,
    submitted_at   timestamptz NOT NULL,
    facility_id    text,
    period         text,
    status         text NOT NULL CHECK (status IN
                       ('discovered', 'parsed', 'accepted', 'rejected', 'loaded', 'superseded')),
    reason         text,
    row_count      integer,
    warning_count  integer NOT NULL DEFAULT 0,
    quarantine_key text,
    run_id         text NOT NULL,
    discovered_at  timestamptz NOT NULL,
    processed_at   timestamptz,
    UNIQUE (key, sha256)
);
CREATE INDEX IF NOT EXISTS file_status_idx ON ingest.file (status);
CREATE INDEX IF NOT EXISTS file_facility_period_idx ON ingest.file (facility_id, period);

-- Parsed rows waiting for validation and loading; emptied as files are settled.
CREATE UNLOGGED TABLE IF NOT EXISTS ingest.staged_value (
    file_id      bigint NOT NULL,
    row_no       integer NOT NULL,
    facility_id  text,
    period       text,
    item_code    text,
    value_raw    text,
    flagged      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (file_id, row_no)
);

-- Accepted values: exactly one file's values per facility and period.
CREATE TABLE IF NOT EXISTS facts.monthly_value (
    facility_id  text NOT NULL,
    period       text NOT NULL,
    item_code    text NOT NULL,
    value        bigint NOT NULL CHECK (value >= 0),
    file_id      bigint NOT NULL REFERENCES ingest.file (file_id),
    flagged      boolean NOT NULL DEFAULT false,
    loaded_at    timestamptz NOT NULL,
    PRIMARY KEY (facility_id, period, item_code)
);

-- Great Expectations outcomes, one row per file and failed expectation. Source of truth
-- for why a file was rejected or flagged.
CREATE TABLE IF NOT EXISTS dq.result (
    result_id       bigserial PRIMARY KEY,
    run_id          text NOT NULL,
    file_id         bigint NOT NULL REFERENCES ingest.file (file_id),
    facility_id     text,
    period          text,
    expectation_id  text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('blocking', 'warning')),
    column_name     text,
    failed_rows     integer NOT NULL,
    observed        text,
    expected        text,
    message         text NOT NULL,
    checked_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS result_file_idx ON dq.result (file_id);

CREATE TABLE IF NOT EXISTS compliance.facility_status (
    facility_id   text NOT NULL,
    period        text NOT NULL,
    status        text NOT NULL CHECK (status IN
                      ('on_time', 'late', 'missing', 'rejected', 'pending')),
    submitted_at  timestamptz,
    due_at        timestamptz NOT NULL,
    file_id       bigint,
    as_of         timestamptz NOT NULL,
    PRIMARY KEY (facility_id, period)
);

CREATE TABLE IF NOT EXISTS marts.district_monthly (
    state                 text NOT NULL,
    district              text NOT NULL,
    period                text NOT NULL,
    item_code             text NOT NULL,
    value                 bigint NOT NULL,
    facilities_reporting  integer NOT NULL,
    facilities_expected   integer NOT NULL,
    built_at              timestamptz NOT NULL,
    PRIMARY KEY (district, period, item_code)
);

CREATE TABLE IF NOT EXISTS marts.state_monthly (
    state                 text NOT NULL,
    period                text NOT NULL,
    item_code             text NOT NULL,
    value                 bigint NOT NULL,
    facilities_reporting  integer NOT NULL,
    facilities_expected   integer NOT NULL,
    built_at              timestamptz NOT NULL,
    PRIMARY KEY (state, period, item_code)
);

CREATE TABLE IF NOT EXISTS marts.reporting_rates (
    level           text NOT NULL CHECK (level IN ('block', 'district', 'state')),
    area            text NOT NULL,
    period          text NOT NULL,
    expected        integer NOT NULL,
    reported        integer NOT NULL,
    on_time         integer NOT NULL,
    reporting_rate  numeric(5, 4),
    on_time_rate    numeric(5, 4),
    built_at        timestamptz NOT NULL,
    PRIMARY KEY (level, area, period)
);

-- Every alert the pipeline decided to send; alert_key makes each one happen at most once.
CREATE TABLE IF NOT EXISTS alerts.sent (
    alert_key       text PRIMARY KEY,
    kind            text NOT NULL,
    period          text NOT NULL,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    facility_ids    text[] NOT NULL,
    status          text NOT NULL CHECK (status IN ('sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 1,
    error           text,
    run_id          text NOT NULL,
    sent_at         timestamptz
);

-- One row per pipeline run and logical date: what happened, for the summary and for audits.
CREATE TABLE IF NOT EXISTS ingest.run (
    run_id        text PRIMARY KEY,
    logical_date  timestamptz NOT NULL,
    periods       text[] NOT NULL,
    summary       jsonb NOT NULL DEFAULT '{}'::jsonb,
    finished_at   timestamptz
);
