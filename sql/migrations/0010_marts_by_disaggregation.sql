-- The value marts are keyed by data element and disaggregation, as the facts are (0009): a
-- stock item's five sub-items are five rows, and a DHIS2 category option combo has its own.
-- Only numbers (counts and stock figures) are aggregated; statuses, dates and percentages
-- stay in facts.monthly_value. Existing rows are plain totals.
ALTER TABLE marts.block_monthly ADD COLUMN IF NOT EXISTS disaggregation text NOT NULL DEFAULT 'TOTAL';
ALTER TABLE marts.district_monthly ADD COLUMN IF NOT EXISTS disaggregation text NOT NULL DEFAULT 'TOTAL';
ALTER TABLE marts.state_monthly ADD COLUMN IF NOT EXISTS disaggregation text NOT NULL DEFAULT 'TOTAL';
ALTER TABLE marts.monthly_by_group ADD COLUMN IF NOT EXISTS disaggregation text NOT NULL DEFAULT 'TOTAL';

ALTER TABLE marts.block_monthly DROP CONSTRAINT IF EXISTS block_monthly_pkey;
ALTER TABLE marts.block_monthly ADD PRIMARY KEY (district, block, period, item_code, disaggregation);
ALTER TABLE marts.district_monthly DROP CONSTRAINT IF EXISTS district_monthly_pkey;
ALTER TABLE marts.district_monthly ADD PRIMARY KEY (district, period, item_code, disaggregation);
ALTER TABLE marts.state_monthly DROP CONSTRAINT IF EXISTS state_monthly_pkey;
ALTER TABLE marts.state_monthly ADD PRIMARY KEY (state, period, item_code, disaggregation);
ALTER TABLE marts.monthly_by_group DROP CONSTRAINT IF EXISTS monthly_by_group_pkey;
ALTER TABLE marts.monthly_by_group ADD PRIMARY KEY
    (level, area, period, item_code, disaggregation, ownership, facility_type, is_ayush);

-- Expected facilities per item come from ref.expected_item; the rebuild looks it up by type and period.
CREATE INDEX IF NOT EXISTS expected_item_period_idx ON ref.expected_item (period, facility_type);
