-- Settle a claimed alert after its channel was tried (hmis.notify.ledger.settle).
UPDATE alerts.sent SET status = %(status)s, error = %(error)s, sent_at = %(sent_at)s,
       sent_clock_at = CASE WHEN %(error)s IS NULL THEN clock_timestamp() END
 WHERE alert_key = %(key)s
