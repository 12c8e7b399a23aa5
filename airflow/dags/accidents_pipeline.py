"""Airflow DAG `accidents_pipeline`: the product's DVC pipeline, one task per stage, weekly.

Schedule: every Monday at 03:00 Europe/Paris, no catch-up; a manual run from the UI (or
`airflow dags trigger accidents_pipeline`) runs the same tasks. Each task runs
`dvc repro --single-item <stage>` in the project folder, read when the task runs from
`ACCIDENTS_PROJECT_DIR` (default: the repository holding this DAG folder), so DVC decides what
is up to date exactly as for `dvc repro`, `make pipeline` or the Prefect flow.

Only Airflow's task SDK is imported at parse time: DVC, MLflow and the product run in a
subprocess of each task. The tasks take the project's pipeline lock (`.dvc/tmp/pipeline.lock`,
the one Prefect's flows take), so a Prefect run or `/retrain` at the same time waits its turn.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, chain, task

STAGES = ("import_data", "preprocess", "train", "evaluate", "predict")
SCHEDULE = CronTriggerTimetable("0 3 * * 1", timezone="Europe/Paris")


def reproduce(stage: str) -> None:
    """Run one DVC stage under the project's pipeline lock; log its output; fail on failure."""
    import logging
    from pathlib import Path

    from accidents.dvc_stages import project_dir, reproduce_stage

    project = project_dir(default=Path(__file__).resolve().parents[2])
    reproduce_stage(project, stage, logging.getLogger("airflow.task").info)


with DAG(
    dag_id="accidents_pipeline",
    description="The product's DVC pipeline: import_data → preprocess → train → evaluate → "
                "predict",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2025, 1, 6, 3, tz="Europe/Paris"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["accidents", "dvc"],
    doc_md=__doc__,
):
    chain(*(task(task_id=stage)(reproduce)(stage) for stage in STAGES))
