"""The signals DAG's stages: ultrasound compliance, disease signals, e-mail to the surveillance officer.

Like :mod:`hmis.pipeline.monthly`, every stage takes the :class:`~hmis.pipeline.run.Run`
and derives the open periods from its logical date, never from the clock, and keeps its state in the warehouse, so a
re-run sends nothing twice. Alarms go to the district surveillance officer
(``ref.contact`` role ``district_surveillance_officer``) once per area, disease and period,
through the alert ledger ``alerts.sent`` (kind ``disease_signal``) like officer alerts
(:mod:`hmis.notify.signal_alerts`); a failed send is recorded and retried by the next run.
Messages carry area-level counts only. Provisional months (:mod:`hmis.signals.completeness`)
are judged and kept but never alarmed, so no e-mail ever goes out for one.
"""

from __future__ import annotations

import logging

from hmis.notify.signal_alerts import send_signal_alerts
from hmis.pipeline.run import Run
from hmis.platform.landing import open_store
from hmis.platform.settings import load_settings
from hmis.platform.warehouse import with_migrated_connection
from hmis.signals import series
from hmis.ultrasound import linelist as ultrasound

log = logging.getLogger(__name__)



def ultrasound_compliance(run: Run) -> dict:
    """Check, pseudonymise and load the open periods' ultrasound line lists; compliance per facility."""
    settings = load_settings()
    store = open_store(settings.landing_url)
    key = ultrasound.pseudonym_key(settings)
    threshold = ultrasound.threshold_from_env()
    return with_migrated_connection(lambda conn: ultrasound.ingest(conn, store, list(run.periods), run.as_of, key, threshold))


def rebuild_signals(run: Run) -> dict:
    """Recompute every disease signal from the accepted values (``marts.disease_signals``), each
    with its month's completeness class as of the run's moment."""

    result = with_migrated_connection(lambda conn: series.rebuild(conn, run.as_of))
    log.info("disease signals rebuilt as of %s: %s", run.as_of.isoformat(), result)
    return result


def notify_signals(run: Run) -> dict:
    """E-mail each new alarm of the open periods once; fail (so Airflow retries) if a send failed."""
    settings = load_settings()
    result = with_migrated_connection(lambda conn: send_signal_alerts(conn, list(run.periods), run.as_of, run.key,
                                                        settings.mail_from))
    log.info("signal alarms as of %s: %d alarms, %d sent, %d already sent, %d failed", run.as_of.isoformat(),
             result["alarms"], result["signal_alerts_sent"], result["signal_alerts_already_sent"],
             result["signal_alerts_failed"])
    if result["signal_alerts_failed"]:
        raise RuntimeError(
            f"{result['signal_alerts_failed']} signal alert(s) could not be sent and are recorded as failed in "
            f"alerts.sent; they will be retried: {'; '.join(result['errors'])}"
        )
    return result
