-- Disease-rise signals by area (EARS C1/C2/C3) and the ultrasound RCH-ID register.
-- Every statement is idempotent.

-- One row per area, disease item, period and EARS method the pipeline evaluated.
-- observed, expected, sd and upper_bound are case counts; alarm is NULL where the method
-- could not be evaluated (a missing month inside its baseline). basis says which series
-- the method ran on (see hmis.signals.series): 'standardised_ratio' for blocks,
-- 'rate_per_1000_visits' for districts; series_value is that series' value.
CREATE TABLE IF NOT EXISTS marts.disease_signals (
    area_level    text NOT NULL CHECK (area_level IN ('block', 'district')),
    area          text NOT NULL,
    district      text NOT NULL,
    item_code     text NOT NULL,
    period        text NOT NULL,
    method        text NOT NULL CHECK (method IN ('C1', 'C2', 'C3')),
    observed      bigint NOT NULL,
    expected      double precision,
    sd            double precision,
    upper_bound   double precision,
    alarm         boolean,
    basis         text NOT NULL,
    series_value  double precision,
    built_at      timestamptz NOT NULL,
    PRIMARY KEY (area_level, district, area, item_code, period, method)
);
CREATE INDEX IF NOT EXISTS disease_signals_alarm_idx ON marts.disease_signals (period) WHERE alarm;

-- Ultrasound scans on pregnant women, one row per line of a facility's monthly list.
-- RCH IDs are stored only as keyed HMAC-SHA256 pseudonyms. This schema holds data about
-- individual women: state and district readers are never granted it, and PUBLIC has no
-- access; only the pipeline's own role reads it.
CREATE SCHEMA IF NOT EXISTS ultrasound;
REVOKE ALL ON SCHEMA ultrasound FROM PUBLIC;

CREATE TABLE IF NOT EXISTS ultrasound.scan (
    facility_id    text NOT NULL,
    period         text NOT NULL,
    row_no         integer NOT NULL,
    scan_date      date,
    rch_pseudonym  text,
    weeks          integer,
    referral       text,
    pcpndt_reg     text,
    rch_valid      boolean NOT NULL,
    problem        text,
    source_key     text NOT NULL,
    loaded_at      timestamptz NOT NULL,
    PRIMARY KEY (facility_id, period, row_no)
);
REVOKE ALL ON ALL TABLES IN SCHEMA ultrasound FROM PUBLIC;

-- Line lists that could not be read at all, with the reason (no row-level content).
CREATE TABLE IF NOT EXISTS ultrasound.rejected_list (
    source_key   text NOT NULL,
    facility_id  text,
    period       text NOT NULL,
    reason       text NOT NULL,
    checked_at   timestamptz NOT NULL,
    PRIMARY KEY (source_key)
);
REVOKE ALL ON ALL TABLES IN SCHEMA ultrasound FROM PUBLIC;

-- Compliance with the RCH-ID rule per facility and month: counts only, no person data.
CREATE TABLE IF NOT EXISTS marts.ultrasound_compliance (
    facility_id           text NOT NULL,
    period                text NOT NULL,
    scans                 integer NOT NULL,
    scans_with_valid_rch  integer NOT NULL,
    share_valid           numeric(5, 4),
    threshold             numeric(5, 4) NOT NULL,
    below_threshold       boolean NOT NULL,
    built_at              timestamptz NOT NULL,
    PRIMARY KEY (facility_id, period)
);
