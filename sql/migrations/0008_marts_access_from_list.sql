-- Readers' access follows the list of marts (src/hmis/marts/marts.yaml), which
-- hmis.marts.access applies after the migrations. This closes the two tables that 0005 left
-- open to every district reader: marts.disease_signals (it has a district column but no
-- row-level security) and marts.ultrasound_compliance (it had no district at all).

-- Ultrasound compliance gets its facility's district, from the registry. A facility that
-- has since left the registry keeps the district of its last registry entry.
ALTER TABLE marts.ultrasound_compliance ADD COLUMN IF NOT EXISTS district text;

UPDATE marts.ultrasound_compliance u
   SET district = f.district
  FROM ref.facility f
 WHERE f.facility_id = u.facility_id AND u.district IS NULL;

UPDATE marts.ultrasound_compliance u
   SET district = v.district
  FROM (SELECT DISTINCT ON (facility_id) facility_id, district
          FROM ref.facility_version
         ORDER BY facility_id, valid_from DESC) v
 WHERE v.facility_id = u.facility_id AND u.district IS NULL;

-- The line-list step only accepts facilities of the registry, so every row has a district
-- by now; one that does not cannot be shown to any district, and says so here.
DO $$
DECLARE
    orphans integer;
BEGIN
    SELECT count(*) INTO orphans FROM marts.ultrasound_compliance WHERE district IS NULL;
    IF orphans > 0 THEN
        RAISE EXCEPTION '% row(s) of marts.ultrasound_compliance belong to facilities no registry version lists; '
                        'set their district or delete them, then migrate again', orphans;
    END IF;
END
$$;
ALTER TABLE marts.ultrasound_compliance ALTER COLUMN district SET NOT NULL;
CREATE INDEX IF NOT EXISTS ultrasound_compliance_district_period_idx
    ON marts.ultrasound_compliance (district, period);

-- Both become district-scoped with the policies of 0005 (the access step keeps them so).
-- disease_signals has no state rows (its check allows block and district areas only), and
-- every row carries its area's district: a district reader sees its district's signals.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['disease_signals', 'ultrasound_compliance']
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

-- A table a later migration creates in marts is no longer readable by every reader until
-- someone remembers to add row-level security: readers get it when the list of marts
-- declares its scope and the access step grants it.
ALTER DEFAULT PRIVILEGES IN SCHEMA marts REVOKE SELECT ON TABLES FROM state_reader, district_reader;
