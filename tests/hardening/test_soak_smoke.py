"""A short run of the soak benchmark (`benchmarks/soak.py`): it must still work, and the
service must answer every request of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_soak_for_twenty_seconds_answers_every_request(trained_project: Project,
                                                       tmp_path: Path) -> None:
    figures_path = tmp_path / "soak.json"
    finished = subprocess.run(
        [sys.executable, "benchmarks/soak.py", "--seconds", "20", "--rate", "20",
         "--project", str(trained_project.path), "--json", str(figures_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert figures_path.exists(), finished.stdout + finished.stderr
    figures = json.loads(figures_path.read_text())
    assert figures["requests"] == 400
    assert figures["logins"] == 40 and figures["predictions"] == 360
    assert figures["errors"] == 0, figures["error_kinds"]
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["rss_start_mib"] > 100  # the server and both workers were measured
    assert "| errors | 0 |" in finished.stdout
