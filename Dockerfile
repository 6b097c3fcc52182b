# Image for every Airflow service of the HMIS pipeline (api-server, scheduler,
# dag-processor, triggerer and the one-shot airflow-init). Built by docker-compose.yml
# as hmis-airflow:0.1.0.
#
# The DAGs, SQL and expectation suites are mounted at run time (see docker-compose.yml);
# the `hmis` package is installed into the image so that every service imports the same
# code; plugins/ holds only real Airflow plugins.
FROM apache/airflow:3.3.2-python3.11

# Install as the unprivileged airflow user, as the Airflow image expects.
USER airflow
WORKDIR /opt/airflow

# Pinned dependencies first, so this layer is reused while only the package changes.
# requirements.txt is a full pip freeze that already pins apache-airflow==3.3.2, so the
# Airflow shipped in the base image is kept as it is.
COPY --chown=airflow:0 requirements.txt /opt/airflow/hmis-build/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/hmis-build/requirements.txt

# The pipeline package itself (src/hmis), without touching the pinned dependencies. The
# development tools (dev/: embedded services, demo generator) are deliberately not copied.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/hmis-build/
COPY --chown=airflow:0 src/ /opt/airflow/hmis-build/src/
RUN pip install --no-cache-dir --no-deps /opt/airflow/hmis-build \
 && rm -rf /opt/airflow/hmis-build

# Mount points owned by airflow, so that the named volumes docker-compose.yml puts on
# them start out writable by the services:
#   /opt/airflow/project - HMIS_HOME; dags/, sql/ and expectations/ are mounted inside
#   /opt/airflow/var     - HMIS_VAR_DIR; reports and other pipeline output
#   /opt/airflow/auth    - the simple auth manager's password file
RUN mkdir -p /opt/airflow/project /opt/airflow/var /opt/airflow/auth
