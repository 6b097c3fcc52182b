-- The ledger rows of some kinds and periods (hmis.notify.ledger.read_entries).
SELECT alert_key, kind, period, rung, area, recipient, status, sent_at
  FROM alerts.sent
 WHERE period = ANY(%(periods)s) AND kind = ANY(%(kinds)s)
 ORDER BY alert_key
