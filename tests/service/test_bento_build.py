"""`bentoml build` packs the service, the package and its dependencies, without the network."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, REPO_ROOT, make_project

pytestmark = pytest.mark.e2e


def test_bentofile_packages_match_pyproject() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    expected = pyproject["dependencies"] + pyproject["optional-dependencies"]["postgres"]
    assert bentofile["python"]["packages"] == expected


def test_bentoml_build_packs_service_offline(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", None)
    home = tmp_path / "bentoml"
    # An unreachable proxy on loopback: any download attempt would fail the build.
    offline = {"BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true",
               "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "PIP_NO_INDEX": "1", "UV_OFFLINE": "1"}
    project.run(str(BIN / "bentoml"), "build", ".", timeout=600, **offline)

    (bento,) = (home / "bentos" / "accidents-priority-service").glob("*/bento.yaml")
    info = yaml.safe_load(bento.read_text())
    assert info["service"] == "service.service:PriorityService"
    assert info["entry_service"] == "PriorityService"
    assert {"name": "OMP_NUM_THREADS", "value": "1", "stage": "all"} in info["envs"]
    assert {"/auth/token", "/predict", "/retrain", "/retrain/{run_id}", "/docs"} <= set(
        info["schema"]["paths"])
    source = bento.parent / "src"
    for name in ("service/service.py", "service/api.py", "accidents/users/store.py",
                 "accidents/retraining.py", "accidents/model.py", "flows/pipeline.py"):
        assert (source / name).is_file(), name
    assert not (source / "tests").exists()
    requirements = (bento.parent / "env" / "python" / "requirements.txt").read_text()
    for package in ("scikit-learn>=1.9,<2", "libpass>=1.9", "pyjwt>=2.10", "bentoml"):
        assert package in requirements
    assert (bento.parent / "env" / "docker" / "Dockerfile").is_file()
