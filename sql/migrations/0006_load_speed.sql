-- The foreign key from facts to the ledger cost about half of every load (a lookup per
-- inserted row). Facts are only ever written by hmis.ingest.stages.load_accepted from staged rows
-- of ledger files, in the same transaction that marks those files loaded, so the reference
-- holds by construction; tests/integration check it after every kind of failure.
ALTER TABLE facts.monthly_value DROP CONSTRAINT IF EXISTS monthly_value_file_id_fkey;
CREATE INDEX IF NOT EXISTS monthly_value_file_idx ON facts.monthly_value (file_id);
