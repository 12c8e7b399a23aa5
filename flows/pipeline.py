"""One Prefect flow per DVC stage, and the `pipeline` flow that runs them in order.

Each flow runs `dvc repro --single-item <stage>` in the project folder, so DVC keeps deciding
what is up to date and the artefacts are the same whether Prefect, Airflow or a person runs it.
Without `PREFECT_API_URL` the flows run on Prefect's embedded server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prefect import Flow, flow, get_run_logger, task

STAGES = ("import_data", "preprocess", "train", "evaluate", "predict")
EVALUATION_REPORT = Path("metrics") / "evaluation.json"


def project_dir() -> Path:
    return Path(os.environ.get("ACCIDENTS_PROJECT_DIR") or Path.cwd()).resolve()


@task(task_run_name="dvc repro {stage}")
def reproduce_stage(stage: str, force: bool = False) -> None:
    """Run one DVC stage; its output goes to the run's log, its failure fails the task."""
    logger = get_run_logger()
    command = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    if force:
        command.append("--force")
    process = subprocess.Popen(command, cwd=project_dir(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:  # type: ignore[union-attr]  # PIPE was requested
        lines.append(line.rstrip())
        logger.info(line.rstrip())
    if process.wait() != 0:
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
