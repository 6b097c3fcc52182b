-- Pulls from a DHIS2 server's Web API (hmis.ingest.dhis2_pull): one row per pull, so the next
-- asks only for values changed since the latest server time this one saw.
CREATE TABLE IF NOT EXISTS ingest.dhis2_pull (
    pull_id          bigserial PRIMARY KEY,
    run_id           text NOT NULL,
    pulled_at        timestamptz NOT NULL,      -- the run's moment: the facility-months' arrival
    since            text,                      -- lastUpdated asked for (NULL: everything)
    high_watermark   text,                      -- the latest lastUpdated in the answer
    periods          text[] NOT NULL,
    values_pulled    integer NOT NULL,
    new_versions     integer NOT NULL           -- facility-months written as submissions
);
