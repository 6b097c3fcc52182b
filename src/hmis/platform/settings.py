"""Settings, read from the environment with embedded defaults.

One switch, ``HMIS_ENV``, chooses between ``embedded`` (the default: a project-owned
PostgreSQL, a loopback SMTP sink and a local landing folder under ``var/``) and
``production`` (the Airflow connections ``hmis_warehouse`` and ``smtp_default`` and whatever
landing store ``HMIS_LANDING_URL`` names). The code paths are the same in both.
Secrets never live here: they come from Airflow connections or the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/hmis


def project_root() -> Path:
    """The checkout holding ``dags/``, ``sql/`` and ``expectations/``.

    ``HMIS_HOME`` wins; otherwise the package is assumed to sit at ``<root>/src/hmis``.
    """
    if os.environ.get("HMIS_HOME"):
        return Path(os.environ["HMIS_HOME"]).resolve()
    return PACKAGE_DIR.parent.parent


@dataclass(frozen=True)
class Settings:
    env: str
    root: Path
    var_dir: Path
    landing_url: str
    due_day: int
    complete_share: float
    open_period_count: int
    max_file_bytes: int
    batch_files: int
    mail_from: str
    ops_email: str
    alert_policy_path: Path
    s3_endpoint_url: str | None
    run_lock_wait_seconds: float
    transient_retries: int

    @property
    def max_portal_report_bytes(self) -> int:
        """A portal report holds a whole district's facilities of one type (the portal's
        .xls of 548 CHCs is 2.6 MB of HTML), so it may be this many times one facility's file."""
        return self.max_file_bytes * 50

    @property
    def sql_dir(self) -> Path:
        return self.root / "sql"

    @property
    def expectations_dir(self) -> Path:
        return self.root / "expectations"

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"

    @property
    def export_url(self) -> str:
        """Store for the state's exports (``exports/<period>/...`` inside it): a folder or
        ``s3://bucket/prefix``."""
        return os.environ.get("HMIS_EXPORT_URL", str(self.var_dir))

    @property
    def airflow_url(self) -> str:
        """The Airflow UI's base URL, for the links in approval requests (``HMIS_AIRFLOW_URL``)."""
        return os.environ.get("HMIS_AIRFLOW_URL", "http://127.0.0.1:8080").rstrip("/")

    @property
    def approval_response_days(self) -> float:
        """How long an approval request waits for the nodal officer before its task fails
        (and the data engineers are told); ``HMIS_APPROVAL_RESPONSE_DAYS``."""
        return float(os.environ.get("HMIS_APPROVAL_RESPONSE_DAYS", "30"))

    @property
    def docs_dir(self) -> Path:
        return self.var_dir / "docs"

    @property
    def data_docs_dir(self) -> Path | None:
        """Where GX Data Docs are built; ``HMIS_DATA_DOCS=off`` skips building them."""
        if os.environ.get("HMIS_DATA_DOCS", "on").lower() in ("off", "0", "false", "no"):
            return None
        return self.var_dir / "data_docs"


def load_settings() -> Settings:
    root = project_root()
    var_dir = Path(os.environ.get("HMIS_VAR_DIR", root / "var")).resolve()
    return Settings(
        env=os.environ.get("HMIS_ENV", "embedded"),
        root=root,
        var_dir=var_dir,
        landing_url=os.environ.get("HMIS_LANDING_URL", str(var_dir / "landing")),
        due_day=int(os.environ.get("HMIS_DUE_DAY", "5")),
        # A month is complete once it is due and this share of its expected reports are in
        # (the WHO data-quality review's threshold); until then its figures are provisional.
        complete_share=float(os.environ.get("HMIS_COMPLETE_SHARE", "0.90")),
        open_period_count=int(os.environ.get("HMIS_OPEN_PERIODS", "3")),
        max_file_bytes=int(os.environ.get("HMIS_MAX_FILE_BYTES", str(5 * 1024 * 1024))),
        batch_files=int(os.environ.get("HMIS_BATCH_FILES", "2000")),
        mail_from=os.environ.get("HMIS_MAIL_FROM", "hmis-pipeline@hisar.hmis.example"),
        ops_email=os.environ.get("HMIS_OPS_EMAIL", "hmis-data-team@hisar.hmis.example"),
        alert_policy_path=Path(os.environ.get("HMIS_ALERT_POLICY", root / "config" / "alert_policy.yaml")),
        # An S3-compatible server other than AWS (the compose stack's object store).
        s3_endpoint_url=os.environ.get("HMIS_S3_ENDPOINT_URL") or None,
        # How long an ingest stage waits for another run's ledger lock before it gives up.
        run_lock_wait_seconds=float(os.environ.get("HMIS_RUN_LOCK_WAIT_SECONDS", "300")),
        # How often a transient failure (dropped connection, S3 throttling) is retried in a task.
        transient_retries=max(0, int(os.environ.get("HMIS_TRANSIENT_RETRIES", "2"))),
    )
