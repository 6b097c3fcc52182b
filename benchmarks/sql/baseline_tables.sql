-- Targets of the side-by-side baselines: the columns and types of facts.monthly_value.
-- copy_plain has no keys at all (the practical limit of moving the rows in); copy_keyed is
-- identical to the facts table (primary key, file index, check), which every real load pays
-- for; to_sql carries the primary key. The files carry no file id, so copy_keyed's file index
-- sees one value (cheaper than the real one: the comparison favours the baseline).
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

CREATE TABLE bench.copy_keyed (LIKE facts.monthly_value INCLUDING ALL);
ALTER TABLE bench.copy_keyed ALTER COLUMN file_id SET DEFAULT 0, ALTER COLUMN loaded_at SET DEFAULT now();

CREATE TABLE bench.to_sql (LIKE bench.copy_plain INCLUDING DEFAULTS,
    PRIMARY KEY (facility_id, period, item_code));
