"""Where the embedded warehouse comes from on a development machine.

In ``HMIS_ENV=embedded`` (the default) commands that need the warehouse ask the
development tools to start it, through the ``hmis.bootstrap`` entry points that the
``hmis-pipeline-dev`` distribution declares. The production image does not carry those
tools, so there the Airflow connection ``hmis_warehouse`` must be set, as it always is.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from hmis.platform.settings import Settings

BOOTSTRAP_GROUP = "hmis.bootstrap"


def start_embedded_services(settings: Settings) -> None:
    """Start the project-owned warehouse when the settings ask for one and none is configured."""
    if settings.env != "embedded" or os.environ.get("AIRFLOW_CONN_HMIS_WAREHOUSE"):
        return
    for point in entry_points(group=BOOTSTRAP_GROUP):
        point.load()(settings)
