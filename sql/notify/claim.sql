-- Claim one alert before its channel is tried (hmis.notify.ledger.claim): a new row, or a
-- failed / left-over 'sending' row taken again (one more attempt, same Message-ID). A row
-- already 'sent' is left alone and nothing is returned, so the caller sends nothing.
INSERT INTO alerts.sent (alert_key, kind, period, rung, area_level, area, recipient, subject, facility_ids,
                         status, attempts, run_id, message_id, first_attempt_at, last_attempt_at)
VALUES (%(key)s, %(kind)s, %(period)s, %(rung)s, %(area_level)s, %(area)s, %(recipient)s, %(subject)s,
        %(facility_ids)s, 'sending', 1, %(run_id)s, %(message_id)s, %(as_of)s, %(as_of)s)
ON CONFLICT (alert_key) DO UPDATE SET
    status = 'sending', attempts = alerts.sent.attempts + 1, subject = EXCLUDED.subject,
    facility_ids = EXCLUDED.facility_ids, run_id = EXCLUDED.run_id, message_id = EXCLUDED.message_id,
    rung = EXCLUDED.rung, area_level = EXCLUDED.area_level, area = EXCLUDED.area,
    first_attempt_at = coalesce(alerts.sent.first_attempt_at, EXCLUDED.first_attempt_at),
    last_attempt_at = EXCLUDED.last_attempt_at
WHERE alerts.sent.status <> 'sent'
RETURNING attempts
