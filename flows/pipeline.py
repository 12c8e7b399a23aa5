"""One Prefect flow per DVC stage, and the `pipeline` flow that runs them in order.

Each flow runs `dvc repro --single-item <stage>` in the project folder (through
`accidents.dvc_stages`, which the Airflow DAG uses too), so DVC keeps deciding what is up to
date and the artefacts are the same whether Prefect, Airflow or a person runs it. Runs started
together queue stage by stage on the project's pipeline lock. Without `PREFECT_API_URL` the
flows run on Prefect's embedded server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from prefect import Flow, flow, get_run_logger, task

from accidents.dvc_stages import project_dir, reproduce_stage

EVALUATION_REPORT = Path("metrics") / "evaluation.json"


@task(task_run_name="dvc repro {stage}")
def reproduce(stage: str, force: bool = False) -> None:
    """Run one DVC stage; its output goes to the run's log, its failure fails the task."""
    reproduce_stage(project_dir(), stage, get_run_logger().info, force)


def _stage_flow(stage: str) -> Flow:
    def run_stage(force: bool = False) -> None:
        reproduce(stage, force)

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
