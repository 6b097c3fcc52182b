-- Targets of the side-by-side baselines: the columns and types of facts.monthly_value.
-- copy_plain has no keys at all (the practical limit of moving the rows in); copy_keyed
-- and to_sql carry the same primary key as the facts table, which every real load pays for.
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

CREATE TABLE bench.copy_plain (
    facility_id  text NOT NULL,
    period       text NOT NULL,
    item_code    text NOT NULL,
    value        bigint NOT NULL,
    file_id      bigint NOT NULL DEFAULT 0,
    flagged      boolean NOT NULL DEFAULT false,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bench.copy_keyed (LIKE bench.copy_plain INCLUDING DEFAULTS,
    PRIMARY KEY (facility_id, period, item_code));

CREATE TABLE bench.to_sql (LIKE bench.copy_plain INCLUDING DEFAULTS,
    PRIMARY KEY (facility_id, period, item_code));
