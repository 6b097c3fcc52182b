-- Targets of the side-by-side baselines, shaped as facts.monthly_value. copy_plain has its
-- columns and no keys, indexes or checks at all (the practical limit of moving the rows in);
-- copy_keyed is identical to the facts table (primary key on facility, period, item and
-- disaggregation, and its checks), which every real load pays for; to_sql carries the primary
-- key. A raw COPY puts every value as sent into value_text, and a five-column file's sub-item
-- into disaggregation ('' on the lines of its items without one; a four-column file's lines get
-- the default, TOTAL). The files carry no file id.
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

CREATE TABLE bench.copy_plain (LIKE facts.monthly_value INCLUDING DEFAULTS);
ALTER TABLE bench.copy_plain ALTER COLUMN file_id SET DEFAULT 0, ALTER COLUMN loaded_at SET DEFAULT now();

CREATE TABLE bench.copy_keyed (LIKE facts.monthly_value INCLUDING ALL);
ALTER TABLE bench.copy_keyed ALTER COLUMN file_id SET DEFAULT 0, ALTER COLUMN loaded_at SET DEFAULT now();

CREATE TABLE bench.to_sql (LIKE bench.copy_plain INCLUDING DEFAULTS,
    PRIMARY KEY (facility_id, period, item_code, disaggregation));
