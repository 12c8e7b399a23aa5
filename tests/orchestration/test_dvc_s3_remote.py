"""The S3 remote of `.dvc/config` (MinIO under compose): `dvc push` then `dvc pull` against
moto's S3 server on loopback, from a trained copy of the project."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import Project
from tests.processes import free_port

BUCKET = "accidents-dvc"
#: Every output DVC caches; `dvc pull` must bring each back byte for byte.
CACHED_OUTPUTS = ("data/raw", "data/preprocessed", "models/candidate_model.joblib",
                  "models/prod_model.joblib", "data/predictions/predictions.csv")


def digest(path: Path) -> str:
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    hashed = hashlib.sha256()
    for file in filter(Path.is_file, files):
        hashed.update(file.relative_to(path.parent).as_posix().encode())
        hashed.update(file.read_bytes())
    return hashed.hexdigest()


@pytest.fixture
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.mark.e2e
def test_push_then_pull_restores_outputs(tmp_path: Path, trained_project: Project,
                                         s3_endpoint: str) -> None:
    project = Project(tmp_path / "project", {**trained_project.env})
    shutil.copytree(trained_project.path, project.path, symlinks=True)
    project.env["ACCIDENTS_PROJECT_DIR"] = str(project.path)
    credentials = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
                   "AWS_DEFAULT_REGION": "us-east-1"}
    project.env.update(credentials)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="test-key",
                      aws_secret_access_key="test-secret", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    # The endpoint is a setting of this machine, kept out of the committed config.
    project.dvc("remote", "modify", "--local", "s3", "endpointurl", s3_endpoint)
    before = {name: digest(project.path / name) for name in CACHED_OUTPUTS}

    project.dvc("push", "-r", "s3")
    stored = s3.list_objects_v2(Bucket=BUCKET, Prefix="store/")
    assert stored["KeyCount"] > 0

    shutil.rmtree(project.path / ".dvc" / "cache")
    for name in CACHED_OUTPUTS:
        target = project.path / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    assert "deleted" in project.dvc("status").stdout

    project.dvc("pull", "-r", "s3")
    assert {name: digest(project.path / name) for name in CACHED_OUTPUTS} == before
    assert "up to date" in project.dvc("status").stdout
    assert "endpointurl" not in (project.path / ".dvc" / "config").read_text()
