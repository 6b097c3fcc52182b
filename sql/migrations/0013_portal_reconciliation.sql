-- The portal's district-level "Data ItemWise Report" (hmis portal-import; hmis.ingest.portal):
-- the district's own figures as the HMIS portal holds them, kept per pull so the marts can be
-- reconciled with them. The pull itself is a row of ingest.portal_pull with
-- report_kind = 'district item-wise'.
CREATE TABLE IF NOT EXISTS ingest.portal_district_value (
    pull_key        text NOT NULL REFERENCES ingest.portal_pull (key),
    district        text NOT NULL,              -- the registry's name of the district (ref.facility)
    district_lgd    text,                       -- the LGD code the report prints after the name
    area_printed    text NOT NULL,              -- the area as the report names it ("Hisar(63)" -> Hisar)
    period          text NOT NULL,              -- YYYY-MM: the month, or the last month of a cumulation
    financial_year  text NOT NULL,              -- 2026-2027
    cumulative      boolean NOT NULL,           -- financial year to date ("B.Cummulative") rather than the month
    item_code       text NOT NULL,              -- the 2017 consolidation's code = the data element
    disaggregation  text NOT NULL,              -- TOTAL, or the stock sub-item
    report_column   text NOT NULL CHECK (report_column IN ('total', 'public', 'private', 'urban', 'rural')),
    value           bigint,                     -- NULL: the cell is blank
    PRIMARY KEY (pull_key, district, item_code, disaggregation, report_column)
);
CREATE INDEX IF NOT EXISTS portal_district_value_period_idx
    ON ingest.portal_district_value (district, period, cumulative);

-- Our district totals against the portal's latest item-wise pull (sql/marts/reconciliation.sql).
CREATE TABLE IF NOT EXISTS marts.portal_reconciliation (
    state               text,
    district            text NOT NULL,
    period              text NOT NULL,
    basis               text NOT NULL CHECK (basis IN ('month', 'financial_year_to_date')),
    item_code           text NOT NULL,
    disaggregation      text NOT NULL,
    our_value           bigint,
    portal_value        bigint,
    difference          bigint NOT NULL,
    status              text NOT NULL CHECK (status IN ('match', 'differs', 'only_ours', 'only_portal')),
    pull_key            text NOT NULL,
    portal_status_as_on timestamptz,
    built_at            timestamptz NOT NULL,
    PRIMARY KEY (district, period, basis, item_code, disaggregation)
);
