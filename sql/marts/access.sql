-- Statements of src/hmis/marts/access.py, each under its name line (loaded by hmis.platform.warehouse.statement).
-- In the policies, {table} is the schema-qualified table and {name} its own name (the row the
-- policy checks); both are composed as identifiers by psycopg2.sql.

-- name: tables
SELECT c.relname, c.relrowsecurity
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'p');

-- name: policies
SELECT c.relname, p.polname, p.polcmd::text,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
               FROM unnest(p.polroles) r ORDER BY 1),
       obj_description(p.oid, 'pg_policy')
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'marts';

-- name: privileges
-- Privileges granted directly to the reader roles or to PUBLIC (which every reader has).
SELECT c.relname, CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee)::text END,
       a.privilege_type
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL aclexplode(c.relacl) a
 WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'p')
   AND (a.grantee = 0 OR pg_get_userbyid(a.grantee)::text = ANY(%(readers)s));

-- name: policy.state_all
CREATE POLICY state_all ON {table} FOR SELECT TO state_reader USING (true);

-- name: policy.loader_all
CREATE POLICY loader_all ON {table} TO hmis_loader USING (true) WITH CHECK (true);

-- name: policy.own_district
-- The same policy as sql/migrations/0005_marts_access.sql: a row is visible to a member of a
-- role that marts.reader_scope lists for the row's district.
CREATE POLICY own_district ON {table} FOR SELECT TO district_reader USING (
    EXISTS (SELECT 1 FROM marts.reader_scope s
             WHERE s.district = {name}.district AND pg_has_role(current_user, s.role_name, 'member')));

-- name: policy.own_roles
-- For marts.reader_scope itself: a district reader sees the rows of the roles it is a member
-- of, which is all the policies above look up. Roles that no longer exist match nothing.
CREATE POLICY own_roles ON {table} FOR SELECT TO district_reader USING (
    EXISTS (SELECT 1 FROM pg_roles r
             WHERE r.rolname = {name}.role_name AND pg_has_role(current_user, r.oid, 'member')));
