"""A lake on S3 for tests: a local S3 server (moto's server mode on 127.0.0.1) and a unique
prefix in its bucket, with the environment pyarrow reads. Import the fixtures into a test
module (``from tests.s3lake import s3_lake, s3_server  # noqa: F401``)."""
from __future__ import annotations

import uuid

import pytest

BUCKET = "lake"


@pytest.fixture(scope="module")
def s3_server():
    """The server's endpoint URL, for the module's tests (skipped without moto)."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_lake(s3_server, monkeypatch):
    """(s3://lake/<unique prefix>, boto3 client, prefix) on the local server."""
    import boto3

    monkeypatch.setenv("S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=BUCKET)
    prefix = "lake-" + uuid.uuid4().hex[:8]
    return f"s3://{BUCKET}/{prefix}", client, prefix
