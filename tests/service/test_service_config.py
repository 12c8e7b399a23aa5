"""The product's settings reach BentoML's service configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PROBES = ["/healthz", "/readyz", "/livez", "/metrics"]


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, {"workers": 2, "traffic": {"timeout": 10.0},
          "tracing": {"excluded_urls": [*PROBES, "/predict"]}}),
    ({"ACCIDENTS_REQUEST_TIMEOUT_SECONDS": "3.5", "ACCIDENTS_TRACE_PREDICTIONS": "true"},
     {"workers": 2, "traffic": {"timeout": 3.5}, "tracing": {"excluded_urls": PROBES}}),
])
def test_service_config_follows_settings(tmp_path: Path, settings: dict[str, str],
                                         expected: dict) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCIDENTS_")}
    env.update({"ACCIDENTS_PROJECT_DIR": str(tmp_path), "ACCIDENTS_SERVICE_WORKERS": "2",
                "BENTOML_HOME": str(tmp_path / "bentoml"), **settings})
    printed = subprocess.run(
        [sys.executable, "-c", "import json; from service.service import PriorityService; "
                               "print(json.dumps(PriorityService.config))"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(printed.stdout.splitlines()[-1]) == expected
