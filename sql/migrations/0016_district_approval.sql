-- District approval and lock (issue 16): once a district-month is complete, the district HMIS
-- nodal officer approves it (Airflow's human-in-the-loop approval, DAG hmis_approval), which
-- freezes its figures as a numbered revision for the state. A later correction opens a new
-- revision that needs approval again. See src/hmis/approval/.
--
-- Times: created_as_of and responded_as_of are logical (the runs' dates); created_at,
-- responded_at and recorded_at are real times (the clock), kept for audits.

CREATE TABLE IF NOT EXISTS marts.district_revision (
    state             text NOT NULL,
    district          text NOT NULL,
    period            text NOT NULL,
    revision          integer NOT NULL CHECK (revision >= 1),
    ledger_state      text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'rejected', 'superseded')),
    expected          integer,
    reported          integer,
    on_time           integer,
    reporting_rate    numeric,
    due_at            timestamptz,
    built_at          timestamptz NOT NULL,
    created_run_id    text NOT NULL,
    created_as_of     timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    superseded_by     integer,
    dag_run_id        text,
    response          text CHECK (response IN ('Approve', 'Reject')),
    responded_by      text,
    responded_at      timestamptz,
    responded_as_of   timestamptz,
    recorded_at       timestamptz,
    comment           text,
    PRIMARY KEY (district, period, revision)
);
-- At most one revision of a district-month waits for the officer: opening a new one
-- supersedes the one still pending (hmis.approval.revisions.open_revisions).
CREATE UNIQUE INDEX IF NOT EXISTS district_revision_one_pending_idx
    ON marts.district_revision (district, period) WHERE status = 'pending';

-- The figures a revision froze when it was opened: what the officer was shown and approved.
CREATE TABLE IF NOT EXISTS marts.district_revision_value (
    state                 text NOT NULL,
    district              text NOT NULL,
    period                text NOT NULL,
    revision              integer NOT NULL,
    item_code             text NOT NULL,
    disaggregation        text NOT NULL,
    value                 numeric,
    flagged_values        integer NOT NULL DEFAULT 0,
    facilities_reporting  integer,
    facilities_expected   integer,
    PRIMARY KEY (district, period, revision, item_code, disaggregation),
    FOREIGN KEY (district, period, revision) REFERENCES marts.district_revision (district, period, revision)
        ON DELETE CASCADE
);

-- What the state reads by default: the newest approved revision of every approved
-- district-month, with the current (provisional) figure beside each approved one. A table,
-- not a view, so that the readers' row-level security applies to it like to every district
-- mart (hmis.marts.access); the approval stages refresh it whenever a revision is approved and
-- whenever the marts changed (provisional_built_at says from which build the figure beside is).
CREATE TABLE IF NOT EXISTS marts.approved_district_monthly (
    state                 text NOT NULL,
    district              text NOT NULL,
    period                text NOT NULL,
    item_code             text NOT NULL,
    disaggregation        text NOT NULL,
    revision              integer NOT NULL,
    approved_at           timestamptz NOT NULL,
    approved_by           text,
    approved_value        numeric,
    facilities_reporting  integer,
    facilities_expected   integer,
    provisional_value     numeric,
    provisional_built_at  timestamptz,
    differs               boolean NOT NULL,
    PRIMARY KEY (district, period, item_code, disaggregation)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON marts.district_revision, marts.district_revision_value,
    marts.approved_district_monthly TO hmis_loader;
