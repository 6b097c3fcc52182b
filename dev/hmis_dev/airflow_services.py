"""A real Airflow on loopback — scheduler, DAG processor and API server — for tests and the demo.

``dag.test()`` cannot drive a human-in-the-loop task: on Airflow 3.3 a waiting approval is in
the scheduler-managed ``awaiting_input`` state and resumes only when someone answers through
the API server. So the approval is exercised against the three services Airflow itself runs,
started here against a project-local Airflow home:

- metadata in SQLite inside the home (default), or in a database of the embedded PostgreSQL
  (``metadata_url=``, e.g. :func:`postgres_metadata_url`);
- the LocalExecutor, its workers children of the scheduler; the scheduler started with
  ``--skip-serve-logs`` (no log server on every interface); everything listens on 127.0.0.1;
- the simple auth manager with known users and passwords written into the home beforehand
  (``admin`` and the scripted nodal officer), so a script can log in (``POST /auth/token``);
- one shared JWT secret, so the tasks the scheduler starts may call the API server's
  execution API.

Every process runs under ``timeout`` (it ends by itself after ``lifetime`` seconds, even if
the starting process dies) in its own process group, and :meth:`AirflowServices.stop` ends
exactly those groups by their PIDs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hmis.platform.settings import Settings

ADMIN = "admin"
OFFICER = "nodal.hisar"  # the scripted district HMIS nodal officer (simple auth manager role "user")
SERVICES = ("api-server", "dag-processor", "scheduler")
DEFAULT_LIFETIME = 20 * 60
# The parked worker's supervisor lingers about 5 s, then the scheduler takes its exit event.
PARK_SETTLE_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_metadata_url(server, database: str = "airflow_meta") -> str:
    """A SQLAlchemy URL for Airflow's metadata in a database of the embedded PostgreSQL
    (``hmis_dev.services.postgres.start(...)``), created if missing."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        conn.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:{server.port}/{database}"


@dataclass
class AirflowServices:
    """The running services; also a small client of their REST API."""

    home: Path
    port: int
    env: dict[str, str]
    passwords: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ processes

    def start(self, lifetime: float = DEFAULT_LIFETIME) -> AirflowServices:
        airflow = [sys.executable, "-m", "airflow"]
        commands = {
            "api-server": airflow + ["api-server", "--host", "127.0.0.1", "--port", str(self.port)],
            "dag-processor": airflow + ["dag-processor"],
            "scheduler": airflow + ["scheduler", "--skip-serve-logs"],
        }
        logs = self.home / "service-logs"
        logs.mkdir(parents=True, exist_ok=True)
        timeout = shutil.which("timeout")
        for name in SERVICES:
            command = commands[name]
            if timeout:  # ends by itself, even if nobody calls stop()
                command = [timeout, "--kill-after=10", str(int(lifetime))] + command
            with open(logs / f"{name}.log", "ab") as out:
                # our own interpreter and fixed arguments
                self.processes[name] = subprocess.Popen(  # noqa: S603
                    command, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
        return self

    def stop(self, grace: float = 20.0) -> None:
        """End each service's process group (its workers included), by the PIDs started here."""
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=5)

    def __enter__(self) -> AirflowServices:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.home / "service-logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"Airflow {name} exited with {process.returncode}:\n{self.log_tail(name)}")

    # ------------------------------------------------------------------ REST API

    def token(self, user: str = ADMIN) -> str:
        """Log in as ``user`` (``POST /auth/token``) and keep the access token."""
        if user not in self._tokens:
            reply = self._call("POST", "/auth/token", {"username": user, "password": self.passwords[user]}, auth=None)
            self._tokens[user] = reply["access_token"]
        return self._tokens[user]

    def _call(self, method: str, path: str, body: dict | None = None, auth: str | None = ADMIN):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token(auth)}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        # always http://127.0.0.1:<port>, built here
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers,  # noqa: S310
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} -> {exc.code}: {exc.read().decode('utf-8', 'replace')[:500]}") from exc
        return json.loads(text) if text else None

    def api(self, method: str, path: str, body: dict | None = None, user: str = ADMIN):
        """One call of Airflow's REST API (``/api/v2/...``) as ``user``."""
        return self._call(method, path, body, auth=user)

    def wait_until_ready(self, dag_ids: tuple[str, ...], timeout: float = 180.0) -> None:
        """Wait until the API server answers, the scheduler is healthy and ``dag_ids`` are parsed."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = self._call("GET", "/api/v2/monitor/health", auth=None)
                if health["scheduler"]["status"] == "healthy":
                    found = self.api("GET", "/api/v2/dags?limit=100")
                    parsed = {d["dag_id"] for d in found["dags"]}
                    if set(dag_ids) <= parsed:
                        return
                    last = f"parsed so far: {sorted(parsed)}"
                else:
                    last = f"health {health}"
            except (OSError, RuntimeError, KeyError) as exc:
                last = str(exc)
            time.sleep(1.0)
        raise TimeoutError(f"Airflow was not ready with {dag_ids} in {timeout:.0f} s ({last})\n"
                           + "\n".join(f"--- {n}\n{self.log_tail(n, 15)}" for n in SERVICES))

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, conf: dict | None = None) -> dict:
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                        {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}})

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        try:
            return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")["state"]
        except RuntimeError as exc:
            if "-> 404" in str(exc):
                return None
            raise

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/{task_id}"
        try:
            return self.api("GET", path)["state"]
        except RuntimeError as exc:
            if "-> 404" in str(exc):
                return None
            raise

    def wait_for(self, what: str, probe, timeout: float = 180.0, every: float = 1.0):
        """Poll ``probe()`` until it returns something truthy; fail with ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            found = probe()
            if found:
                return found
            time.sleep(every)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}\n"
                           + "\n".join(f"--- {n}\n{self.log_tail(n, 20)}" for n in SERVICES))

    def wait_run(self, dag_id: str, run_id: str, states=("success", "failed"), timeout: float = 180.0) -> str:
        return self.wait_for(f"{dag_id} run {run_id} to be {'/'.join(states)}",
                             lambda: (s := self.run_state(dag_id, run_id)) in states and s, timeout)

    def wait_task(self, dag_id: str, run_id: str, task_id: str, states, timeout: float = 180.0) -> str:
        return self.wait_for(f"{dag_id}.{task_id} of {run_id} to be {'/'.join(states)}",
                             lambda: (s := self.task_state(dag_id, run_id, task_id)) in states and s, timeout)

    def wait_for_form(self, dag_id: str, run_id: str, task_id: str, timeout: float = 240.0,
                      settle: float = PARK_SETTLE_SECONDS) -> None:
        """Wait until the approval form waits for its answer, and for the parked task's worker
        to be gone: on Airflow 3.3.2 an answer within seconds of the task parking races the
        scheduler's handling of the parked worker's exit, which then fails the resumed task
        (up_for_retry) and leaves the form answered but waiting. A person takes longer than
        that; a script waits ``settle`` seconds."""
        self.wait_task(dag_id, run_id, task_id, ("awaiting_input",), timeout)
        time.sleep(settle)
        state = self.task_state(dag_id, run_id, task_id)
        if state != "awaiting_input":
            raise RuntimeError(f"{dag_id}.{task_id} of {run_id} left awaiting_input for {state} unanswered")

    def hitl_detail(self, dag_id: str, run_id: str, task_id: str) -> dict:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/"
                               f"{task_id}/-1/hitlDetails")

    def respond(self, dag_id: str, run_id: str, task_id: str, choice: str, comment: str = "",
                user: str = OFFICER) -> dict:
        """Answer a human-in-the-loop form as ``user``: what an officer's script does."""
        return self.api("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/"
                                 f"{task_id}/-1/hitlDetails",
                        {"chosen_options": [choice], "params_input": {"comment": comment}}, user=user)


def prepare(settings: Settings, home: Path, *, metadata_url: str | None = None,
            extra_env: dict[str, str] | None = None, users: dict[str, str] | None = None) -> AirflowServices:
    """An Airflow home under ``home`` ready for the services: configuration in the environment
    the services get, known passwords, the metadata database migrated. Nothing is started."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    users = users or {ADMIN: "admin", OFFICER: "user"}
    password_file = home / "simple_auth_manager_passwords.json"
    passwords = json.loads(password_file.read_text()) if password_file.exists() else {}
    passwords = {user: passwords.get(user) or secrets.token_urlsafe(12) for user in users}
    password_file.write_text(json.dumps(passwords) + "\n")
    password_file.chmod(0o600)
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # Only the DAGs a caller unpauses run: hmis_monthly's daily schedule must not start here.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url or f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{role}" for u, role in users.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        # Quick turns, for a test or a demo that waits on each step.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "HMIS_AIRFLOW_URL": base_url,
    })
    env.update(extra_env or {})
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                            text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return AirflowServices(home=home, port=port, env=env, passwords=passwords)


def start(settings: Settings, home: Path, *, dag_ids: tuple[str, ...] = ("hmis_approval_requests", "hmis_approval"),
          lifetime: float = DEFAULT_LIFETIME, metadata_url: str | None = None,
          extra_env: dict[str, str] | None = None) -> AirflowServices:
    """Prepare the home, start the three services, wait until ``dag_ids`` are parsed, unpause them."""
    services = prepare(settings, home, metadata_url=metadata_url, extra_env=extra_env).start(lifetime)
    try:
        services.wait_until_ready(dag_ids)
        for dag_id in dag_ids:
            services.unpause(dag_id)
    except BaseException:
        services.stop()
        raise
    return services
