"""Who may read each mart, applied from the list of marts after the migrations.

- **district** marts: row-level security on, with the policies of migration 0005 —
  ``state_all`` (the state reader sees every row), ``loader_all`` (the loader reads and
  writes every row) and ``own_district`` (a district reader sees the rows of the districts
  ``marts.reader_scope`` gives its roles) — and SELECT for both reader roles.
- **state** marts: SELECT for both reader roles; every reader sees every row.
- **internal** tables: no reader privilege. ``marts.reader_scope`` is the one exception the
  list declares (``policy_lookup``): the ``own_district`` policies read it as the reader, so
  ``district_reader`` keeps SELECT on it, under a policy that shows only its own roles' rows.
- tables of ``marts`` the list does not name: no reader privilege, and they are reported.

Only what differs from that is changed. Creating a policy or enabling row-level security
locks the table against readers (ACCESS EXCLUSIVE), so a daily run that finds everything in
place changes nothing and never queues behind a reader's long query. Each policy this step
creates carries a comment with a digest of its statement, so a policy whose definition
changed here (or was made by a migration) is recreated once.
"""

from __future__ import annotations

import hashlib
import logging

from psycopg2 import sql

from hmis.marts.catalog import Catalog, Table, load_catalog
from hmis.platform.warehouse import MIGRATION_LOCK_KEY, statement

log = logging.getLogger(__name__)

SQL = "marts/access.sql"
SCHEMA = "marts"
READERS = ("state_reader", "district_reader")
PUBLIC = "public"
# Every table privilege PostgreSQL knows (MAINTAIN from version 17); nothing else is ever
# composed into a GRANT or REVOKE.
PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"})
# Policy name -> (command as pg_policy.polcmd has it, roles it applies to).
DISTRICT_POLICIES = {
    "state_all": ("r", ("state_reader",)),
    "loader_all": ("*", ("hmis_loader",)),
    "own_district": ("r", ("district_reader",)),
}
LOOKUP_POLICIES = {
    "loader_all": ("*", ("hmis_loader",)),
    "own_roles": ("r", ("district_reader",)),
}
COMMENT_PREFIX = "hmis.marts.access "


class MartAccessError(RuntimeError):
    """The list of marts and the warehouse disagree in a way access cannot be applied to."""


def expected_privileges(table: Table | None) -> dict[str, frozenset[str]]:
    """What each reader role (and PUBLIC) may do on ``table``; None is a table not on the list."""
    none: frozenset[str] = frozenset()
    if table is not None and table.reader_facing:
        return {"state_reader": frozenset({"SELECT"}), "district_reader": frozenset({"SELECT"}), PUBLIC: none}
    if table is not None and table.policy_lookup:
        return {"state_reader": none, "district_reader": frozenset({"SELECT"}), PUBLIC: none}
    return {"state_reader": none, "district_reader": none, PUBLIC: none}


def expected_policies(table: Table) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The policies ``table`` must have (and no others); empty where none are enforced."""
    if table.scope == "district":
        return DISTRICT_POLICIES
    if table.policy_lookup:
        return LOOKUP_POLICIES
    return {}


def _marker(policy: str) -> str:
    return COMMENT_PREFIX + hashlib.sha256(statement(SQL, f"policy.{policy}").encode()).hexdigest()[:16]


def _role(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == PUBLIC else sql.Identifier(name)


def _privileges(names: set[str] | frozenset[str]) -> sql.Composable:
    unknown = set(names) - PRIVILEGES
    if unknown:
        raise MartAccessError(f"unknown table privilege(s) {sorted(unknown)}")
    return sql.SQL(", ").join(sql.SQL(name) for name in sorted(names))


def apply(conn, catalog: Catalog | None = None) -> dict:
    """Make the readers' access to every table of ``marts`` what the list of marts says.

    Idempotent; returns ``changed`` (one sentence per change made) and ``unlisted`` (tables
    of ``marts`` the list does not name, now closed to readers). Raises
    :class:`MartAccessError` if the list names a table the warehouse does not have.
    """
    catalog = catalog or load_catalog()
    listed = {table.name: table for table in catalog.marts}
    changed: list[str] = []
    with conn, conn.cursor() as cur:
        # The migrations' lock: two runs preparing at once would create the same policy twice.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        cur.execute(statement(SQL, "tables"))
        security = dict(cur.fetchall())
        missing = sorted(set(listed) - set(security))
        if missing:
            raise MartAccessError(
                f"the list of marts names {', '.join(f'marts.{m}' for m in missing)}, which the warehouse does not "
                "have: add the migration that creates it, or remove it from src/hmis/marts/marts.yaml")
        cur.execute(statement(SQL, "policies"))
        policies: dict[str, dict[str, tuple[str, tuple[str, ...], str | None]]] = {}
        for relname, polname, cmd, roles, comment in cur.fetchall():
            policies.setdefault(relname, {})[polname] = (cmd, tuple(roles), comment)
        cur.execute(statement(SQL, "privileges"), {"readers": list(READERS)})
        held: dict[tuple[str, str], set[str]] = {}
        for relname, grantee, privilege in cur.fetchall():
            held.setdefault((relname, grantee), set()).add(privilege)

        for name in sorted(security):
            table = listed.get(name)
            target = sql.Identifier(SCHEMA, name)
            if table is not None and expected_policies(table):
                changed += _apply_policies(cur, table, target, security[name], policies.get(name, {}))
            for role, allowed in expected_privileges(table).items():
                current = held.get((name, role), set())
                if current - allowed:
                    cur.execute(sql.SQL("REVOKE {} ON {} FROM {}").format(
                        _privileges(current - allowed), target, _role(role)))
                    changed.append(f"marts.{name}: {', '.join(sorted(current - allowed))} revoked from {role}")
                if allowed - current:
                    cur.execute(sql.SQL("GRANT {} ON {} TO {}").format(
                        _privileges(allowed - current), target, _role(role)))
                    changed.append(f"marts.{name}: {', '.join(sorted(allowed - current))} granted to {role}")
    unlisted = sorted(set(security) - set(listed))
    for name in unlisted:
        log.warning("marts.%s is not in the list of marts (src/hmis/marts/marts.yaml): no reader may read it", name)
    for change in changed:
        log.info("reader access: %s", change)
    return {"changed": changed, "unlisted": [f"marts.{name}" for name in unlisted]}


def _apply_policies(cur, table: Table, target: sql.Composable, row_security: bool,
                    existing: dict[str, tuple[str, tuple[str, ...], str | None]]) -> list[str]:
    changed = []
    if not row_security:
        cur.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target))
        changed.append(f"{table.qualified}: row-level security enabled")
    wanted = expected_policies(table)
    for policy in sorted(set(existing) - set(wanted)):
        # Policies are permissive: any other one could show a district reader every row.
        cur.execute(sql.SQL("DROP POLICY {} ON {}").format(sql.Identifier(policy), target))
        changed.append(f"{table.qualified}: policy {policy} dropped (not one the list of marts gives it)")
    for policy, (cmd, roles) in wanted.items():
        marker = _marker(policy)
        if existing.get(policy) == (cmd, roles, marker):
            continue
        cur.execute(sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(policy), target))
        cur.execute(sql.SQL(statement(SQL, f"policy.{policy}")).format(
            table=target, name=sql.Identifier(table.name)))
        cur.execute(sql.SQL("COMMENT ON POLICY {} ON {} IS {}").format(
            sql.Identifier(policy), target, sql.Literal(marker)))
        changed.append(f"{table.qualified}: policy {policy} {'re' if policy in existing else ''}created")
    return changed
