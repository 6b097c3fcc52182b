"""Airflow plugin: the HMIS compliance report pages inside the Airflow UI.

Adds "Compliance reports" to the UI's Browse menu and serves the pages the export task wrote
(:mod:`hmis.report.viewer`) under ``/hmis-reports/`` of the API server, for logged-in users
only. This folder holds real Airflow plugins and nothing else; the pipeline's code is the
installed ``hmis`` package.

Every Airflow process loads plugins, task processes included (for macros). Airflow's login
dependency costs about 1.6 s to import outside the API server, so the web app is built only
where it is served: in the API server, which has imported ``airflow.api_fastapi.app`` before
it asks for plugins. Elsewhere the plugin is an empty shell that costs nothing.
"""

import sys

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/hmis-reports"


def _apps() -> list[dict]:
    if "airflow.api_fastapi.app" not in sys.modules:
        return []
    from airflow.api_fastapi.core_api.security import get_user

    from hmis.report.viewer import create_app

    return [{"app": create_app(user_dependency=get_user), "url_prefix": URL_PREFIX, "name": "HMIS compliance reports"}]


class HmisReportsPlugin(AirflowPlugin):
    name = "hmis_reports"
    fastapi_apps = _apps()
    # A relative href: the UI may be served behind a proxy under a sub-path.
    external_views = [{"name": "Compliance reports", "href": URL_PREFIX.lstrip("/") + "/", "destination": "nav",
                       "category": "browse", "url_route": "hmis-reports"}]
