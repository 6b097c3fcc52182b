-- Reports pulled from the HMIS portal (hmis portal-import; see store_layout). Each pull is one
-- row; each facility-month in it becomes its own submission in ingest.file, judged on its own.
CREATE TABLE IF NOT EXISTS ingest.portal_pull (
    key              text PRIMARY KEY,          -- portal/<YYYY-MM-DD>/<moment>__<name>
    sha256           text NOT NULL,
    pulled_at        timestamptz NOT NULL,      -- the moment the district downloaded it
    data_as_on       timestamptz,               -- the report's own "Data as on" time
    report_kind      text,                      -- facility-wise or district item-wise
    facility_type    text,                      -- as the report prints it
    periods          text[],
    status           text NOT NULL CHECK (status IN ('split', 'rejected')),
    reason           text,
    facility_months  integer NOT NULL DEFAULT 0, -- rows the pull held
    reported         integer NOT NULL DEFAULT 0, -- of which with at least one item
    new_versions     integer NOT NULL DEFAULT 0, -- of which new or changed: written as submissions
    run_id           text,
    processed_at     timestamptz
);

-- Facilities as the portal's descriptor columns describe them (the latest pull that named each).
CREATE TABLE IF NOT EXISTS ref.portal_facility (
    facility_id     text PRIMARY KEY,           -- the portal's Facility Code
    name            text,
    facility_type   text,                       -- mapped to the registry's types; NULL if unknown
    type_printed    text,
    ownership       text,
    block           text,
    block_lgd       text,
    district        text,
    district_lgd    text,
    state           text,
    status          text,
    source_key      text NOT NULL,              -- the pull it was last seen in
    seen_at         timestamptz NOT NULL
);

-- Where the registry and the portal disagree about a facility, for the district to resolve.
CREATE TABLE IF NOT EXISTS ref.registry_difference (
    facility_id     text NOT NULL,
    field           text NOT NULL,              -- facility_type, ownership, block, status, or 'not in registry'
    registry_value  text,
    portal_value    text,
    source_key      text NOT NULL,
    noted_at        timestamptz NOT NULL,
    PRIMARY KEY (facility_id, field)
);

-- A facility the registry does not list but a portal report does is added from the report;
-- `source` says where each facility row came from. (Grants: the default privileges of 0005.)
ALTER TABLE ref.facility ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'registry';

