"""Structure of the container deployment: docker-compose.yml, .env.example and the Dockerfile.

Everything here runs without a Docker engine: the compose file is parsed as YAML (anchors and
merge keys resolve on loading) and checked for the shape the deployment relies on. When the
``docker`` client with its compose plugin is installed, ``docker compose config`` validates the
file as well; neither needs a running engine.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "requirements.txt"

AIRFLOW_LONG_RUNNING = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
AIRFLOW_SERVICES = ("airflow-init", *AIRFLOW_LONG_RUNNING)
ONE_SHOT = {"airflow-init", "object-store-init"}
EXPECTED_SERVICES = {"airflow-db", "warehouse", "object-store", "object-store-init", "mail", *AIRFLOW_SERVICES}
DATABASES = ("airflow-db", "warehouse")

# Project folders every Airflow service needs, as (host source, container target).
PROJECT_MOUNTS = (
    ("./dags", "/opt/airflow/dags"),
    ("./plugins", "/opt/airflow/plugins"),
    ("./expectations", "/opt/airflow/project/expectations"),
    ("./sql", "/opt/airflow/project/sql"),
    ("./config", "/opt/airflow/project/config"),
    ("./dags", "/opt/airflow/project/dags"),
)

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt}; "$${...}"
# is an escaped dollar for the container's shell, not a compose variable.
VAR_RE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
ENV_LINE_RE = re.compile(r"^\s*(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
SECRET_NAME_RE = re.compile(r"PASSWORD|SECRET|FERNET|ACCESS_KEY")


def substitute(text: str) -> str:
    """Replace every ``${...}`` placeholder with JSON- and URL-safe dummy text."""
    return VAR_RE.sub(lambda m: f"dummy-{m.group(1).lower()}", text)


def env_example_entries() -> dict[str, tuple[str, bool, list[str]]]:
    """``NAME -> (value, commented_out, comment lines just above it)`` from .env.example."""
    entries: dict[str, tuple[str, bool, list[str]]] = {}
    comments: list[str] = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = ENV_LINE_RE.match(line)
        if match:
            name = match.group(2)
            assert name not in entries, f".env.example sets {name} twice"
            entries[name] = (match.group(3).strip(), bool(match.group(1)), comments)
            comments = []
        elif line.strip().startswith("#"):
            comments.append(line.strip().lstrip("#").strip())
        elif not line.strip():
            comments = []
    return entries


def image_tag(image: str) -> str:
    """The tag of ``repo[:tag]``, or "" when there is none (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def volume_mounts(service: dict) -> list[tuple[str, str]]:
    """``(source, target)`` for each of a service's volumes, short or long syntax."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            parts = str(entry).split(":")
            mounts.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return mounts


def dependencies(service: dict) -> dict[str, str]:
    """``dependency -> condition``; the short list form means service_started."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends.items()}


def healthcheck_command(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    data = yaml.safe_load(compose_text)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.mark.dags
def test_expected_services_exist(services):
    missing = EXPECTED_SERVICES - set(services)
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


@pytest.mark.dags
def test_every_image_is_pinned_to_an_explicit_version(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image"
        assert "$" not in str(image), f"{name}: the image must not be chosen by a variable ({image})"
        tag = image_tag(str(image))
        assert tag, f"{name}: image {image} has no tag"
        assert tag != "latest", f"{name}: image {image} uses the latest tag"
        assert re.search(r"\d", tag), f"{name}: tag of {image} is not a version"


@pytest.mark.dags
def test_airflow_services_are_built_from_the_dockerfile(services):
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service.get("build") in (".", {"context": "."}), f"{name} is not built from ./Dockerfile"
        assert service["image"] == "hmis-airflow:0.1.0", name
        env_file = service.get("env_file")
        assert env_file == ".env" or env_file == [".env"], f"{name} does not read .env"


@pytest.mark.dags
def test_long_running_services_have_healthchecks_and_restart(services):
    for name, service in services.items():
        if name in ONE_SHOT:
            assert str(service.get("restart", "no")) == "no", f"one-shot {name} must not restart"
            continue
        healthcheck = service.get("healthcheck") or {}
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
        assert healthcheck_command(service).strip(), f"long-running {name} has no healthcheck"
        assert service.get("restart") == "always", f"long-running {name} lacks restart: always"


@pytest.mark.dags
def test_healthchecks_probe_the_right_thing(services):
    for name in DATABASES:
        assert "pg_isready" in healthcheck_command(services[name]), name
    assert "/api/v2/version" in healthcheck_command(services["airflow-apiserver"])
    for name, job_type in (
        ("airflow-scheduler", "SchedulerJob"),
        ("airflow-dag-processor", "DagProcessorJob"),
        ("airflow-triggerer", "TriggererJob"),
    ):
        command = healthcheck_command(services[name])
        assert "airflow jobs check" in command, name
        assert f"--job-type {job_type}" in command and "--local" in command, (name, command)


@pytest.mark.dags
def test_airflow_services_run_the_right_commands(services):
    expected = {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    for name, command in expected.items():
        actual = services[name]["command"]
        assert (actual if isinstance(actual, str) else " ".join(actual)) == command, name
    init = services["airflow-init"]["command"]
    init_script = init if isinstance(init, str) else "\n".join(init)
    assert "airflow db migrate" in init_script
    assert "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in init_script


@pytest.mark.dags
def test_airflow_environment(services):
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        # LocalExecutor unless the operator opts into the Celery profile
        assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
        assert str(env["AIRFLOW__CORE__LOAD_EXAMPLES"]).lower() == "false", name
        assert str(env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]).lower() == "true", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/", name
        db_url = urlsplit(substitute(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
        assert db_url.scheme.startswith("postgresql") and db_url.hostname == "airflow-db", name
        assert env["HMIS_ENV"] == "production", name
        assert env["HMIS_HOME"] == "/opt/airflow/project", name
        assert env["HMIS_LANDING_URL"].startswith("s3://"), name
        endpoint = urlsplit(env["HMIS_S3_ENDPOINT_URL"])
        assert endpoint.hostname == "object-store" and endpoint.port, name
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert VAR_RE.fullmatch(str(env[variable])), f"{name}: {variable} must come from .env"


@pytest.mark.dags
def test_s3_endpoint_matches_the_object_store(services):
    endpoint = urlsplit(services["airflow-scheduler"]["environment"]["HMIS_S3_ENDPOINT_URL"])
    store = services["object-store"]
    command = store["command"] if isinstance(store["command"], str) else " ".join(store["command"])
    assert f"-s3.port={endpoint.port}" in command
    assert f":{endpoint.port}/" in healthcheck_command(store)
    init_env = services["object-store-init"]["environment"]
    assert init_env["AWS_ENDPOINT_URL"] == services["airflow-scheduler"]["environment"]["HMIS_S3_ENDPOINT_URL"]


@pytest.mark.dags
def test_object_store_credentials_are_the_pipelines(compose, services):
    """The store accepts exactly the keys the pipeline and object-store-init sign with."""
    identities = json.loads(substitute(compose["configs"]["object-store-identities"]["content"]))
    keys = {(c["accessKey"], c["secretKey"]) for i in identities["identities"] for c in i["credentials"]}
    for name in ("airflow-scheduler", "object-store-init"):
        env = services[name]["environment"]
        pair = (substitute(env["AWS_ACCESS_KEY_ID"]), substitute(env["AWS_SECRET_ACCESS_KEY"]))
        assert pair in keys, f"{name} signs with keys the object store does not know"
    mounted = {c["source"]: c["target"] for c in services["object-store"]["configs"]}
    command = " ".join(services["object-store"]["command"])
    assert f"-s3.config={mounted['object-store-identities']}" in command


@pytest.mark.dags
def test_landing_bucket_is_the_one_object_store_init_creates(services):
    landing = substitute(services["airflow-scheduler"]["environment"]["HMIS_LANDING_URL"])
    bucket = substitute(services["object-store-init"]["environment"]["LANDING_BUCKET"])
    assert landing == f"s3://{bucket}"
    script = " ".join(services["object-store-init"]["command"])
    assert "create-bucket" in script


@pytest.mark.dags
@pytest.mark.parametrize(
    ("variable", "conn_type", "host", "port"),
    [
        ("AIRFLOW_CONN_HMIS_WAREHOUSE", "postgres", "warehouse", 5432),
        ("AIRFLOW_CONN_SMTP_DEFAULT", "smtp", "mail", 1025),
    ],
)
def test_airflow_connections_are_valid_json(services, variable, conn_type, host, port):
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert variable in env, f"{name} lacks {variable}"
        conn = json.loads(substitute(env[variable]))
        assert conn["conn_type"] == conn_type, name
        assert conn["host"] == host, name
        assert int(conn["port"]) == port, name
        assert host in services, f"{variable} points at {host}, which is not a service"


@pytest.mark.dags
def test_warehouse_connection_uses_the_warehouse_credentials(services):
    conn = json.loads(substitute(services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_HMIS_WAREHOUSE"]))
    warehouse = {k: substitute(str(v)) for k, v in services["warehouse"]["environment"].items()}
    assert conn["login"] == warehouse["POSTGRES_USER"]
    assert conn["password"] == warehouse["POSTGRES_PASSWORD"]
    assert conn["schema"] == warehouse["POSTGRES_DB"]


@pytest.mark.dags
def test_smtp_connection_is_plain_smtp(services):
    conn = json.loads(services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert conn["extra"] == {"disable_tls": True, "disable_ssl": True}


@pytest.mark.dags
def test_project_folders_are_mounted(services):
    for name in AIRFLOW_SERVICES:
        mounts = volume_mounts(services[name])
        for source, target in PROJECT_MOUNTS:
            assert (source, target) in mounts, f"{name} does not mount {source} at {target}"
            assert (ROOT / source).is_dir(), f"{source} does not exist in the repository"
        logs = [source for source, target in mounts if target == "/opt/airflow/logs"]
        assert logs and not logs[0].startswith((".", "/")), f"{name} has no named logs volume"


@pytest.mark.dags
def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source, _target in volume_mounts(service):
            if source and not source.startswith((".", "/", "~", "$")):
                assert source in declared, f"{name} uses volume {source}, which is not declared"
    for name in DATABASES:
        data = [s for s, t in volume_mounts(services[name]) if t == "/var/lib/postgresql/data"]
        assert data and data[0] in declared, f"{name} keeps its data outside a named volume"
    db_volume = dict((t, s) for s, t in volume_mounts(services["airflow-db"]))["/var/lib/postgresql/data"]
    wh_volume = dict((t, s) for s, t in volume_mounts(services["warehouse"]))["/var/lib/postgresql/data"]
    assert db_volume != wh_volume, "the warehouse needs its own volume"


@pytest.mark.dags
def test_published_ports_bind_to_loopback(services):
    published = 0
    for name, service in services.items():
        for port in service.get("ports", []):
            published += 1
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond 127.0.0.1"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"
    assert published, "nothing is published: the UIs would be unreachable"
    assert services["airflow-apiserver"].get("ports"), "the Airflow UI is not published"
    assert services["mail"].get("ports"), "the Mailpit UI is not published"
    assert services["warehouse"].get("ports"), "the warehouse port is not published"
    assert not services["airflow-db"].get("ports"), "Airflow's metadata database must stay internal"


@pytest.mark.dags
def test_airflow_services_wait_for_init_and_databases(services):
    for name in AIRFLOW_LONG_RUNNING:
        deps = dependencies(services[name])
        assert deps.get("airflow-init") == "service_completed_successfully", name
        for database in DATABASES:
            assert deps.get(database) == "service_healthy", (name, database)
    assert dependencies(services["airflow-init"]).get("airflow-db") == "service_healthy"
    assert dependencies(services["object-store-init"]).get("object-store") == "service_healthy"


@pytest.mark.dags
def test_dependency_conditions_can_be_met(services):
    for name, service in services.items():
        for dependency, condition in dependencies(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition == "service_healthy":
                assert healthcheck_command(services[dependency]), f"{name} waits for {dependency} to be healthy"
            if condition == "service_completed_successfully":
                assert dependency in ONE_SHOT, f"{name} waits for long-running {dependency} to exit"


@pytest.mark.dags
def test_every_dollar_is_a_braced_variable_or_escaped(compose_text):
    stripped = compose_text.replace("$$", "")
    bare = [m.start() for m in re.finditer(r"\$(?!\{)", stripped)]
    assert not bare, "use ${NAME} for compose variables and $$ for the container's shell"


@pytest.mark.dags
def test_every_variable_is_documented_or_has_a_default(compose_text):
    documented = env_example_entries()
    used = list(VAR_RE.finditer(compose_text))
    assert used, "docker-compose.yml uses no variables from .env"
    undocumented = sorted({m.group(1) for m in used if m.group(1) not in documented and m.group(2) not in (":-", "-")})
    assert not undocumented, f"variables neither in .env.example nor defaulted: {undocumented}"


@pytest.mark.dags
def test_secrets_are_required_and_have_no_defaults(compose_text):
    for match in VAR_RE.finditer(compose_text):
        name, operator = match.group(1), match.group(2)
        if SECRET_NAME_RE.search(name):
            assert operator == ":?", f"secret {name} must be written ${{{name}:?message}}"


@pytest.mark.dags
def test_env_example_documents_every_variable_without_real_secrets():
    entries = env_example_entries()
    assert entries, ".env.example sets nothing"
    for name, (value, _commented, comments) in entries.items():
        assert comments, f"{name} in .env.example has no comment explaining it"
        if SECRET_NAME_RE.search(name):
            assert value.startswith("change-me"), f"{name} in .env.example must be a change-me placeholder"


@pytest.mark.dags
def test_dockerfile_builds_the_airflow_image():
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    from_lines = [line for line in lines if line.upper().startswith("FROM ")]
    assert from_lines == ["FROM apache/airflow:3.3.2-python3.11"]
    pins = re.findall(r"^apache-airflow==(\S+)$", REQUIREMENTS.read_text(), flags=re.MULTILINE)
    assert pins == ["3.3.2"], "requirements.txt must pin the same Airflow as the base image"
    users = [i for i, line in enumerate(lines) if line.startswith("USER ")]
    installs = [i for i, line in enumerate(lines) if "pip install" in line]
    assert installs and users and lines[users[-1]] == "USER airflow" and users[-1] < installs[0]
    assert any("requirements.txt" in line for line in lines if line.startswith("COPY "))
    assert any("pyproject.toml" in line for line in lines if line.startswith("COPY "))
    copies = [line for line in lines if line.startswith("COPY ")]
    assert any(" src/ " in line for line in copies), "the image installs the runtime package from src/"
    assert not any(" dev/" in line or " . " in line for line in copies), "development tools stay out of the image"
    install_text = "\n".join(lines[installs[0] :])
    assert "pip install --no-cache-dir -r" in install_text and "requirements.txt" in install_text
    assert "--no-deps" in install_text


def _compose_project(tmp_path: Path, env_text: str) -> tuple[Path, dict]:
    """A copy of the compose file with ``env_text`` as its .env, and an environment for compose."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(env_text)
    used = {m.group(1) for m in VAR_RE.finditer(COMPOSE_FILE.read_text())}
    env = {k: v for k, v in os.environ.items() if k not in used and not k.startswith("COMPOSE_")}
    return tmp_path, env


def _docker_compose_or_skip(env: dict) -> None:
    if shutil.which("docker") is None:
        pytest.skip("the docker client is not installed, so `docker compose config` cannot run")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, env=env, timeout=60)
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no output"])[0]
        pytest.skip(f"the docker client has no compose plugin (`docker compose version` said: {reason})")


@pytest.mark.dags
def test_docker_compose_config_validates(tmp_path):
    """Compose's own validation; it needs the docker client but no running engine."""
    project, env = _compose_project(tmp_path, ENV_EXAMPLE.read_text())
    _docker_compose_or_skip(env)
    result = subprocess.run(
        ["docker", "compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"


@pytest.mark.dags
def test_docker_compose_config_refuses_a_missing_secret(tmp_path):
    env_text = re.sub(r"^WAREHOUSE_PASSWORD=.*$", "WAREHOUSE_PASSWORD=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)
    project, env = _compose_project(tmp_path, env_text)
    _docker_compose_or_skip(env)
    result = subprocess.run(
        ["docker", "compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode != 0, "compose accepted an empty WAREHOUSE_PASSWORD"
    assert "WAREHOUSE_PASSWORD" in result.stderr


@pytest.mark.dags
def test_celery_profile_offers_a_broker_and_workers(services):
    for name in ("redis", "airflow-worker"):
        assert services[name].get("profiles") == ["celery"], name
        assert "healthcheck" in services[name], name
    assert services["airflow-worker"]["command"] == "celery worker"
    assert services["airflow-worker"]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES:
        assert "profiles" not in services[name], name  # the default stack needs no profile
