-- The official HMIS formats (src/hmis/reference/official/): which items each format has,
-- what each item means as a format-neutral data element, its value type and disaggregation.
-- Codes are unique only within a format (9.1.3 is DPT1 in 2017, Pentavalent 1 in the newer
-- format), so facts are keyed by data element and disaggregation, never by a code alone.

CREATE TABLE IF NOT EXISTS ref.format (
    format_id       text PRIMARY KEY,
    title           text NOT NULL,
    provisional     boolean NOT NULL,
    effective_from  text,
    effective_to    text
);

CREATE TABLE IF NOT EXISTS ref.format_item (
    format_id        text NOT NULL REFERENCES ref.format (format_id),
    item_code        text NOT NULL,           -- as the format prints it
    data_element     text NOT NULL,           -- format-neutral: the 2017 consolidation's code, or <format>:<code>
    name             text NOT NULL,
    name_hi          text,                    -- NULL: no Hindi name yet (a counted gap)
    module           integer NOT NULL,
    section          text NOT NULL,
    section_hi       text NOT NULL,
    value_type       text NOT NULL CHECK (value_type IN ('count', 'stock', 'status', 'date', 'percentage')),
    disaggregations  text[] NOT NULL,         -- {TOTAL}, or the five stock sub-items
    sex              text CHECK (sex IN ('male', 'female')),
    provisional      boolean NOT NULL,
    PRIMARY KEY (format_id, item_code),
    UNIQUE (format_id, data_element)
);

-- Which format each facility type reports on in each open period, and which of its items the
-- type is expected to report (written by the prepare stage for the run's periods).
CREATE TABLE IF NOT EXISTS ref.expected_item (
    facility_type  text NOT NULL,
    period         text NOT NULL,
    format_id      text NOT NULL,
    item_code      text NOT NULL,
    data_element   text NOT NULL,
    PRIMARY KEY (facility_type, period, data_element)
);

-- ref.data_item now lists data elements (item_code = the element), so every reader of it
-- (report, signals, dictionary) names values by their format-neutral meaning.
ALTER TABLE ref.data_item ADD COLUMN IF NOT EXISTS value_type text;

ALTER TABLE ingest.file ADD COLUMN IF NOT EXISTS format_id text;
ALTER TABLE ingest.staged_value ADD COLUMN IF NOT EXISTS sub_item text;

-- Facts: item_code is the data element; the facility's own code and format are kept beside it.
-- Counts and stock figures are whole numbers in `value` (bigint, as before: a national month is
-- 57 M of them); a status, date or percentage is kept as sent in `value_text`, and `aggregation`
-- says how the marts may combine a value (sum, balance: sum across facilities of one month,
-- none: never added). Values from before the official formats carry the format 'legacy'.
ALTER TABLE facts.monthly_value ADD COLUMN IF NOT EXISTS disaggregation text NOT NULL DEFAULT 'TOTAL';
ALTER TABLE facts.monthly_value ADD COLUMN IF NOT EXISTS format_id text NOT NULL DEFAULT 'legacy';
ALTER TABLE facts.monthly_value ADD COLUMN IF NOT EXISTS format_code text;
ALTER TABLE facts.monthly_value ADD COLUMN IF NOT EXISTS value_text text;
ALTER TABLE facts.monthly_value ADD COLUMN IF NOT EXISTS aggregation text NOT NULL DEFAULT 'sum'
    CHECK (aggregation IN ('sum', 'balance', 'none'));
ALTER TABLE facts.monthly_value ALTER COLUMN value DROP NOT NULL;
UPDATE facts.monthly_value SET format_code = item_code WHERE format_code IS NULL;
ALTER TABLE facts.monthly_value DROP CONSTRAINT IF EXISTS monthly_value_pkey;
ALTER TABLE facts.monthly_value ADD CONSTRAINT monthly_value_pkey PRIMARY KEY (facility_id, period, item_code, disaggregation);
-- A value is a number (count, stock) or a text (status, date, percentage), never neither.
ALTER TABLE facts.monthly_value DROP CONSTRAINT IF EXISTS monthly_value_has_value;
ALTER TABLE facts.monthly_value ADD CONSTRAINT monthly_value_has_value CHECK (value IS NOT NULL OR value_text IS NOT NULL);

