-- Marts state teams can trust: block level, splits by ownership / type / AYUSH, indicators,
-- build provenance; least-privilege roles and row-level security for district readers.

ALTER TABLE marts.district_monthly ADD COLUMN IF NOT EXISTS flagged_values integer NOT NULL DEFAULT 0;
ALTER TABLE marts.district_monthly ADD COLUMN IF NOT EXISTS ledger_state text;
ALTER TABLE marts.state_monthly    ADD COLUMN IF NOT EXISTS flagged_values integer NOT NULL DEFAULT 0;
ALTER TABLE marts.state_monthly    ADD COLUMN IF NOT EXISTS ledger_state text;
ALTER TABLE marts.reporting_rates  ADD COLUMN IF NOT EXISTS district text;
ALTER TABLE marts.reporting_rates  ADD COLUMN IF NOT EXISTS ledger_state text;

CREATE TABLE IF NOT EXISTS marts.block_monthly (
    state                 text NOT NULL,
    district              text NOT NULL,
    block                 text NOT NULL,
    period                text NOT NULL,
    item_code             text NOT NULL,
    value                 bigint NOT NULL,
    flagged_values        integer NOT NULL,
    facilities_reporting  integer NOT NULL,
    facilities_expected   integer NOT NULL,
    ledger_state          text NOT NULL,
    built_at              timestamptz NOT NULL,
    PRIMARY KEY (district, block, period, item_code)
);

-- Totals split by ownership, facility type and AYUSH flag, at block, district and state level.
CREATE TABLE IF NOT EXISTS marts.monthly_by_group (
    level                 text NOT NULL CHECK (level IN ('block', 'district', 'state')),
    state                 text NOT NULL,
    district              text,
    area                  text NOT NULL,
    period                text NOT NULL,
    item_code             text NOT NULL,
    ownership             text NOT NULL,
    facility_type         text NOT NULL,
    is_ayush              boolean NOT NULL,
    value                 bigint NOT NULL,
    flagged_values        integer NOT NULL,
    facilities_reporting  integer NOT NULL,
    facilities_expected   integer NOT NULL,
    ledger_state          text NOT NULL,
    built_at              timestamptz NOT NULL,
    PRIMARY KEY (level, area, period, item_code, ownership, facility_type, is_ayush)
);
CREATE INDEX IF NOT EXISTS monthly_by_group_district_period_idx ON marts.monthly_by_group (district, period);

-- Reporting and on-time rates split by ownership and AYUSH flag ('all' = every facility).
CREATE TABLE IF NOT EXISTS marts.reporting_rates_by_group (
    level           text NOT NULL CHECK (level IN ('block', 'district', 'state')),
    state           text NOT NULL,
    district        text,
    area            text NOT NULL,
    period          text NOT NULL,
    ownership       text NOT NULL,
    ayush           text NOT NULL,
    expected        integer NOT NULL,
    reported        integer NOT NULL,
    on_time         integer NOT NULL,
    reporting_rate  numeric(5, 4),
    on_time_rate    numeric(5, 4),
    ledger_state    text NOT NULL,
    built_at        timestamptz NOT NULL,
    PRIMARY KEY (level, area, period, ownership, ayush)
);

CREATE TABLE IF NOT EXISTS marts.indicator_monthly (
    level              text NOT NULL CHECK (level IN ('block', 'district', 'state')),
    state              text NOT NULL,
    district           text,
    area               text NOT NULL,
    period             text NOT NULL,
    financial_year     text NOT NULL,
    indicator_id       text NOT NULL,
    numerator          numeric,
    denominator        numeric,
    value              numeric(12, 4),
    fytd_numerator     numeric,
    fytd_denominator   numeric,
    fytd_value         numeric(12, 4),
    ledger_state       text NOT NULL,
    built_at           timestamptz NOT NULL,
    PRIMARY KEY (level, area, period, indicator_id)
);

-- Population by area and year, for indicators per population (optional input file).
CREATE TABLE IF NOT EXISTS ref.population (
    level        text NOT NULL CHECK (level IN ('block', 'district', 'state')),
    area         text NOT NULL,
    year         integer NOT NULL,
    population   bigint NOT NULL,
    PRIMARY KEY (level, area, year)
);

-- What each district-period of the marts was last built from.
CREATE TABLE IF NOT EXISTS marts.build_state (
    district      text NOT NULL,
    period        text NOT NULL,
    ledger_state  text NOT NULL,
    built_at      timestamptz NOT NULL,
    PRIMARY KEY (district, period)
);

-- Which districts a district reader may see (row-level security below).
CREATE TABLE IF NOT EXISTS marts.reader_scope (
    role_name  text NOT NULL,
    district   text NOT NULL,
    PRIMARY KEY (role_name, district)
);

-- Roles. Role names are cluster-wide, so creation is guarded; grants are per database.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hmis_owner') THEN
        CREATE ROLE hmis_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hmis_loader') THEN
        CREATE ROLE hmis_loader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'state_reader') THEN
        CREATE ROLE state_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'district_reader') THEN
        CREATE ROLE district_reader NOLOGIN;
    END IF;
END
$$;

-- The loader writes staging, facts, ledgers and marts; it never runs DDL.
GRANT USAGE ON SCHEMA ref, ingest, facts, dq, compliance, marts, alerts TO hmis_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ref, ingest, facts, dq, compliance, marts, alerts
    TO hmis_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ingest, dq TO hmis_loader;

-- Pseudonymised ultrasound scans: the loader only; never any reader.
GRANT USAGE ON SCHEMA ultrasound TO hmis_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ultrasound TO hmis_loader;

-- Tables that later migrations create get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA ref, ingest, facts, dq, compliance, marts, alerts
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hmis_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA ingest, dq, alerts GRANT USAGE, SELECT ON SEQUENCES TO hmis_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO state_reader, district_reader;

-- Readers see the marts and nothing else: no raw values, ledgers or personal data.
GRANT USAGE ON SCHEMA marts TO state_reader, district_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO state_reader, district_reader;
REVOKE SELECT ON marts.build_state, marts.reader_scope FROM state_reader, district_reader;
GRANT SELECT ON marts.reader_scope TO district_reader;

-- Row-level security: district readers see their own district's rows only.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['district_monthly', 'block_monthly', 'monthly_by_group', 'reporting_rates',
                             'reporting_rates_by_group', 'indicator_monthly']
    LOOP
        EXECUTE format('ALTER TABLE marts.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS state_all ON marts.%I', t);
        EXECUTE format('CREATE POLICY state_all ON marts.%I FOR SELECT TO state_reader USING (true)', t);
        EXECUTE format('DROP POLICY IF EXISTS loader_all ON marts.%I', t);
        EXECUTE format('CREATE POLICY loader_all ON marts.%I TO hmis_loader USING (true) WITH CHECK (true)', t);
        EXECUTE format('DROP POLICY IF EXISTS own_district ON marts.%I', t);
        EXECUTE format(
            'CREATE POLICY own_district ON marts.%I FOR SELECT TO district_reader USING ('
            'EXISTS (SELECT 1 FROM marts.reader_scope s '
            'WHERE s.district = %I.district AND pg_has_role(current_user, s.role_name, ''member'')))',
            t, t);
    END LOOP;
END
$$;

COMMENT ON TABLE marts.district_monthly IS 'Accepted values summed per district, period and item; one row per item reported in the district';
COMMENT ON COLUMN marts.district_monthly.value IS 'Sum of the accepted values of the district''s facilities';
COMMENT ON COLUMN marts.district_monthly.facilities_reporting IS 'Facilities whose accepted file has this item';
COMMENT ON COLUMN marts.district_monthly.facilities_expected IS 'Facilities expected to report in the period (registered on HMIS and open)';
COMMENT ON COLUMN marts.district_monthly.flagged_values IS 'How many of the summed values carry a data-quality warning';
COMMENT ON COLUMN marts.district_monthly.ledger_state IS 'Fingerprint of the statuses and loaded files the row was built from';
COMMENT ON TABLE marts.state_monthly IS 'Accepted values summed per state, period and item';
COMMENT ON TABLE marts.block_monthly IS 'Accepted values summed per block, period and item';
COMMENT ON TABLE marts.monthly_by_group IS 'Accepted values per area, period and item, split by ownership, facility type and AYUSH flag';
COMMENT ON TABLE marts.reporting_rates IS 'DHIS2 reporting rates: reported (on time or late) and on time, over expected reporters';
COMMENT ON COLUMN marts.reporting_rates.reporting_rate IS 'reported / expected, a fraction from 0 to 1';
COMMENT ON COLUMN marts.reporting_rates.on_time_rate IS 'on time / expected, a fraction from 0 to 1';
COMMENT ON TABLE marts.reporting_rates_by_group IS 'Reporting rates split by ownership (public/private/all) and AYUSH (yes/no/all)';
COMMENT ON TABLE marts.indicator_monthly IS 'Indicators from the indicator catalogue, per area and month and financial year to date';
COMMENT ON TABLE compliance.facility_status IS 'Reporting status of each expected facility per period';
