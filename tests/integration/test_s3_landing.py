"""The same ingest stages with the landing store on S3: a real S3 HTTP API on loopback
(moto's server mode), reached through boto3 exactly as production reaches its bucket."""

from datetime import UTC, datetime, timedelta

import pytest

from hmis.pipeline import monthly as tasks
from hmis.pipeline.run import Run
from hmis.platform.landing import S3Store
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.generator import generate

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_endpoint(monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "ap-south-1",
                        "HMIS_S3_ENDPOINT_URL": f"http://{host}:{port}"}.items():
        monkeypatch.setenv(name, value)
    yield f"http://{host}:{port}"
    server.stop()


def test_files_in_a_bucket_are_discovered_validated_and_loaded(s3_endpoint, warehouse, tmp_path, monkeypatch):
    # Objects uploaded now carry LastModified = now, so the run's moment must follow the upload.
    as_of = datetime.now(UTC).astimezone(REPORTING_TZ)
    local = tmp_path / "generated"
    truth = generate(local, as_of - timedelta(minutes=5), months=1)
    store = S3Store("s3://hmis-landing/hisar")
    store.client.create_bucket(Bucket="hmis-landing",
                               CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        store.write(path.relative_to(local).as_posix(), path.read_bytes())
    monkeypatch.setenv("HMIS_LANDING_URL", "s3://hmis-landing/hisar")
    monkeypatch.setenv("HMIS_OPEN_PERIODS", "1")
    run_at = as_of + timedelta(minutes=1)

    tasks.prepare(Run.at(run_at))
    found = tasks.discover(Run.at(run_at))
    assert found["new_files"] == len(truth.files)
    tasks.parse(Run.at(run_at))
    tasks.validate(Run.at(run_at))
    loaded = tasks.load(Run.at(run_at))
    assert loaded["loaded_files"] == len(truth.values)

    # Rejected files were copied to the bucket's quarantine prefix, each with its reason.
    rejected = [f for f in truth.files if not f.valid]
    quarantined = [o.key for o in store.list("quarantine/")]
    assert len([k for k in quarantined if k.endswith(".reason.txt")]) == len(rejected)

    # A second discovery finds nothing new: the ledger remembers every object's content.
    assert tasks.discover(Run.at(run_at))["new_files"] == 0
