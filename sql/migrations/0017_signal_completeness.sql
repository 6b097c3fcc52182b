-- Provisional months are never alarmed (issue 16). Every disease signal records the
-- completeness class of the area-month it judged (marts.reporting_rates.completeness: a
-- block's own class for a block, the district's for a district; see hmis.signals.completeness)
-- and what the method found before that rule (would_alarm). alarm is would_alarm on a complete
-- month and false (NULL where the method could not judge) on a provisional one, so a rise in a
-- month not yet due or barely reported is kept and shown, but never alarmed nor e-mailed.

-- The default is 'complete' because that is what every signal row meant before this migration
-- (and what rows written by hand, without a class, still mean); the pipeline always writes the
-- class itself, from the marts.
ALTER TABLE marts.disease_signals ADD COLUMN IF NOT EXISTS completeness text NOT NULL DEFAULT 'complete';
ALTER TABLE marts.disease_signals ADD COLUMN IF NOT EXISTS would_alarm boolean;
UPDATE marts.disease_signals SET would_alarm = alarm WHERE would_alarm IS NULL;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'disease_signals_completeness_check') THEN
        ALTER TABLE marts.disease_signals ADD CONSTRAINT disease_signals_completeness_check
            CHECK (completeness IN ('provisional', 'complete'));
    END IF;
    -- The rule itself, kept by the table: whatever writes a row, a provisional month never alarms.
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'disease_signals_no_provisional_alarm') THEN
        ALTER TABLE marts.disease_signals ADD CONSTRAINT disease_signals_no_provisional_alarm
            CHECK (alarm IS NOT TRUE OR completeness = 'complete');
    END IF;
END
$$;

COMMENT ON COLUMN marts.disease_signals.completeness IS
    'class of the judged area-month (marts.reporting_rates): provisional months are never alarmed';
COMMENT ON COLUMN marts.disease_signals.would_alarm IS
    'the method''s verdict before the completeness rule; alarm = would_alarm on complete months only';
