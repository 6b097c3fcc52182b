-- Statements of src/hmis/platform/locks.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: lock_holder
SELECT a.pid, a.application_name, a.backend_start, a.state
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
              SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = %s AND l.objid = %s AND l.objsubid = 2;
