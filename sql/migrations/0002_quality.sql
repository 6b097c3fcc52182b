-- Data quality in depth: item attribution, Hindi messages, completeness, feedback documents
-- and one row per GX validation run.

ALTER TABLE dq.result ADD COLUMN IF NOT EXISTS item_code text;
ALTER TABLE dq.result ADD COLUMN IF NOT EXISTS message_hi text;
ALTER TABLE dq.result ADD COLUMN IF NOT EXISTS suite text;
CREATE INDEX IF NOT EXISTS result_facility_period_idx ON dq.result (facility_id, period);

-- Share of the items a facility of its type should report that its file holds.
CREATE TABLE IF NOT EXISTS dq.completeness (
    file_id         bigint PRIMARY KEY REFERENCES ingest.file (file_id),
    facility_id     text NOT NULL,
    period          text NOT NULL,
    items_expected  integer NOT NULL,
    items_present   integer NOT NULL,
    items_nonzero   integer NOT NULL,
    present_share   numeric(5, 4),
    nonzero_share   numeric(5, 4)
);

-- Feedback documents written for a facility and its block officer.
CREATE TABLE IF NOT EXISTS dq.feedback (
    file_id              bigint PRIMARY KEY REFERENCES ingest.file (file_id),
    facility_id          text,
    period               text,
    kind                 text NOT NULL CHECK (kind IN ('rejected', 'flagged')),
    problems             integer NOT NULL,
    html_key             text NOT NULL,
    csv_key              text NOT NULL,
    status               text NOT NULL CHECK (status IN ('open', 'resolved')),
    resolved_by_file_id  bigint REFERENCES ingest.file (file_id),
    created_at           timestamptz NOT NULL,
    resolved_at          timestamptz
);
CREATE INDEX IF NOT EXISTS feedback_facility_period_idx ON dq.feedback (facility_id, period);

-- One row per Great Expectations validation: which suite, how many rows and files, outcome.
CREATE TABLE IF NOT EXISTS dq.validation_run (
    validation_id   bigserial PRIMARY KEY,
    run_id          text NOT NULL,
    suite           text NOT NULL,
    files           integer NOT NULL,
    rows_checked    integer NOT NULL,
    expectations    integer NOT NULL,
    failed          integer NOT NULL,
    success         boolean NOT NULL,
    seconds         numeric(10, 3) NOT NULL,
    data_docs       text,
    checked_at      timestamptz NOT NULL
);

-- WHO DQR consistency at district level: related indicators summed over the district.
CREATE OR REPLACE VIEW dq.district_consistency AS
SELECT f.district, v.period,
       sum(v.value) FILTER (WHERE v.item_code = '1.1')   AS anc_registered,
       sum(v.value) FILTER (WHERE v.item_code = '1.2.1') AS td1,
       round(sum(v.value) FILTER (WHERE v.item_code = '1.2.1')::numeric
             / nullif(sum(v.value) FILTER (WHERE v.item_code = '1.1'), 0), 4) AS td1_per_anc,
       sum(v.value) FILTER (WHERE v.item_code = '9.1.3') AS penta1,
       sum(v.value) FILTER (WHERE v.item_code = '9.1.5') AS penta3,
       round(1 - sum(v.value) FILTER (WHERE v.item_code = '9.1.5')::numeric
             / nullif(sum(v.value) FILTER (WHERE v.item_code = '9.1.3'), 0), 4) AS penta_dropout
  FROM facts.monthly_value v JOIN ref.facility f USING (facility_id)
 GROUP BY f.district, v.period;
