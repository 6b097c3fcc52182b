"""The compliance report pages, served inside the Airflow UI (see ``plugins/hmis_reports.py``).

The export stage writes one page per district and month to the state's store
(``reports/<period>/compliance-<district>.html``). This small web app lists those pages,
newest month first, and returns one on request, so a data engineer or officer with an Airflow
login reads them without access to the store. Only names in the export's own shape are
served; anything else is a 404, so the app can never be used to read other keys.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from itertools import groupby

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from hmis.platform.landing import LandingStore, open_store
from hmis.platform.settings import load_settings
from hmis.reference.periods import month_name

PREFIX = "reports/"
_PAGE_RE = re.compile(r"^(?P<period>\d{4}-(?:0[1-9]|1[0-2]))/(?P<name>compliance-[a-z0-9-]+\.html)$")


def report_keys(store: LandingStore) -> list[tuple[str, str]]:
    """(period, file name) of every exported report page, newest period first."""
    found = []
    for obj in store.list(PREFIX):
        match = _PAGE_RE.match(obj.key.removeprefix(PREFIX))
        if match:
            found.append((match["period"], match["name"]))
    return sorted(found, key=lambda pair: (pair[0], pair[1]), reverse=True)


def _index(pages: list[tuple[str, str]]) -> str:
    sections = []
    for period, group in groupby(pages, key=lambda pair: pair[0]):
        links = "".join(
            f'<li><a href="{html.escape(period)}/{html.escape(name)}">'
            f"{html.escape(name.removeprefix('compliance-').removesuffix('.html').replace('-', ' ').title())}</a></li>"
            for _, name in group)
        sections.append(f"<h2>{html.escape(month_name(period))}</h2><ul>{links}</ul>")
    body = "".join(sections) or "<p>No report page has been exported yet: the export task writes them.</p>"
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>HMIS compliance reports</title>'
            "<style>body{font-family:sans-serif;margin:1.5rem;max-width:50rem}h2{font-size:1.1rem}</style>"
            f"</head><body><h1>HMIS compliance reports</h1>{body}</body></html>")


def create_app(store_factory: Callable[[], LandingStore] | None = None,
               user_dependency: Callable | None = None) -> FastAPI:
    """The web app; ``user_dependency`` (Airflow's logged-in user) guards every page."""
    store_factory = store_factory or (lambda: open_store(load_settings().export_url))
    guards = [Depends(user_dependency)] if user_dependency else []
    app = FastAPI(title="HMIS compliance reports", dependencies=guards)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return _index(report_keys(store_factory()))

    @app.get("/{period}/{name}", response_class=HTMLResponse)
    def page(period: str, name: str) -> HTMLResponse:
        store = store_factory()
        # Served only if the export wrote it: the listing decides, never the path asked for.
        if not _PAGE_RE.match(f"{period}/{name}") or (period, name) not in report_keys(store):
            raise HTTPException(status_code=404, detail="no such report page")
        return HTMLResponse(store.read(f"{PREFIX}{period}/{name}"))

    return app
