-- Unsent alerts of the given kinds that no longer have anything to say (hmis.notify.ledger.cancel).
UPDATE alerts.sent SET status = 'cancelled', error = %(why)s, run_id = %(run_id)s, last_attempt_at = %(as_of)s
 WHERE alert_key = ANY(%(keys)s) AND kind = ANY(%(kinds)s) AND status IN ('sending', 'failed')
