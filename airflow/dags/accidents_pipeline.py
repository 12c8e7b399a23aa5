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
    import fcntl
    import logging
    import os
    import subprocess
    import sys
    from pathlib import Path

    log = logging.getLogger("airflow.task")
    configured = os.environ.get("ACCIDENTS_PROJECT_DIR")
    project = Path(configured or Path(__file__).resolve().parents[2])
    if not (project / "dvc.yaml").is_file():
        raise RuntimeError(
            f"no dvc.yaml in {project}: set ACCIDENTS_PROJECT_DIR to the product's project folder"
        )
    lock_path = project / ".dvc" / "tmp" / "pipeline.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another pipeline run holds %s; waiting for it", lock_path)
            fcntl.flock(lock, fcntl.LOCK_EX)
        log.info("running %s in %s", " ".join(command[2:]), project)
        result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    for line in (result.stdout + result.stderr).splitlines():
        log.info("%s", line)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise RuntimeError(f"dvc stage {stage} failed (exit {result.returncode}):\n{tail}")


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
