"""One Prefect flow per DVC stage, and the `pipeline` flow that runs them in order.

Each flow runs `dvc repro --single-item <stage>` in the project folder, so DVC keeps deciding
what is up to date and the artefacts are the same whether Prefect, Airflow or a person runs it.
Without `PREFECT_API_URL` the flows run on Prefect's embedded server.

Runs started together (the schedule and a `/retrain`, or Airflow and Prefect) queue stage by
stage on an OS lock of the project, `.dvc/tmp/pipeline.lock`, which the Airflow DAG takes too:
DVC releases its own repository lock while a stage's command runs and then fails a second
writer of the same outputs ("is busy") instead of waiting.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import Flow, flow, get_run_logger, task

STAGES = ("import_data", "preprocess", "train", "evaluate", "predict")
EVALUATION_REPORT = Path("metrics") / "evaluation.json"
PIPELINE_LOCK = Path(".dvc") / "tmp" / "pipeline.lock"


def project_dir() -> Path:
    return Path(os.environ.get("ACCIDENTS_PROJECT_DIR") or Path.cwd()).resolve()


@contextmanager
def pipeline_lock(project: Path,
                  logger: logging.Logger | logging.LoggerAdapter) -> Iterator[None]:
    """Hold the project's pipeline lock, waiting for another run's stage to finish first.

    A flock: the kernel releases it when the holder exits, even if it crashes.
    """
    path = project / PIPELINE_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("another pipeline run holds %s; waiting for it", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@task(task_run_name="dvc repro {stage}")
def reproduce_stage(stage: str, force: bool = False) -> None:
    """Run one DVC stage; its output goes to the run's log, its failure fails the task."""
    logger = get_run_logger()
    command = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    if force:
        command.append("--force")
    with pipeline_lock(project_dir(), logger):
        process = subprocess.Popen(command, cwd=project_dir(), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]  # PIPE was requested
            lines.append(line.rstrip())
            logger.info(line.rstrip())
        returncode = process.wait()
    if returncode != 0:
        raise RuntimeError(f"dvc stage {stage} failed: " + "\n".join(lines[-15:]))


def _stage_flow(stage: str) -> Flow:
    def run_stage(force: bool = False) -> None:
        reproduce_stage(stage, force)

    run_stage.__doc__ = f"Run the `{stage}` stage of the DVC pipeline."
    return flow(name=stage, log_prints=False)(run_stage)


import_data_flow = _stage_flow("import_data")
preprocess_flow = _stage_flow("preprocess")
train_flow = _stage_flow("train")
evaluate_flow = _stage_flow("evaluate")
predict_flow = _stage_flow("predict")
STAGE_FLOWS = (import_data_flow, preprocess_flow, train_flow, evaluate_flow, predict_flow)


@flow(name="pipeline")
def pipeline(force: bool = False) -> dict:
    """Run import_data → preprocess → train → evaluate → predict; return the promotion report.

    Args:
        force: run every stage even where DVC finds nothing changed (a retrain on fresh data).
    """
    for stage_flow in STAGE_FLOWS:
        stage_flow(force=force)
    report = json.loads((project_dir() / EVALUATION_REPORT).read_text())
    get_run_logger().info("promotion decision: %s (%s)", report["decision"], report["reason"])
    return report


if __name__ == "__main__":
    pipeline(force="--force" in sys.argv[1:])
