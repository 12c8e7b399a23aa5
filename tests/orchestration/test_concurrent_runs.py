"""Two pipeline runs started together on Prefect's embedded server (no PREFECT_API_URL): the
schedule and a `/retrain` in one project. Both must complete; neither may fail on Prefect's
SQLite ("database is locked") nor on DVC's locks ("is busy")."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, make_project

WAITED = "another pipeline run holds"


@pytest.mark.e2e
@pytest.mark.timeout(2400)
def test_two_pipeline_runs_at_once_both_complete(tmp_path: Path, sample_dir: Path) -> None:
    project = make_project(tmp_path / "project", sample_dir)
    # Two embedded servers start at once and migrate one SQLite file: give them time.
    env = {**project.env, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}
    logs = [tmp_path / f"run-{name}.log" for name in ("schedule", "retrain")]
    runs = []
    for log in logs:
        with log.open("w") as output:
            runs.append(subprocess.Popen(
                [str(BIN / "python"), "flows/pipeline.py"], cwd=project.path,
                env=env, stdout=output, stderr=subprocess.STDOUT))
    codes = [run.wait(timeout=2000) for run in runs]
    outputs = [log.read_text() for log in logs]

    assert codes == [0, 0], "\n\n".join(output[-5000:] for output in outputs)
    for output in outputs:
        assert "database is locked" not in output
        assert "is busy" not in output
        finished = [line for line in output.splitlines()
                    if "Flow run '" in line and "Finished in state Completed()" in line]
        assert len(finished) == 6  # the five stage flows and the pipeline
    # They really overlapped: one of them queued behind the other's stage at least once.
    assert any(WAITED in output for output in outputs)
    report = json.loads((project.path / "metrics" / "evaluation.json").read_text())
    assert report["decision"] in {"promoted", "kept production"}
    assert "up to date" in project.dvc("status").stdout
