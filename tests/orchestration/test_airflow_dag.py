"""The Airflow DAG: it parses cleanly and fast, keeps the documented schedule, and runs the
whole pipeline on the real sample under Airflow 3 with SQLite."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO_ROOT, Project, make_project
from tests.orchestration.background import Background
from tests.processes import free_port

DAGS_FOLDER = REPO_ROOT / "airflow" / "dags"
STAGES = ["import_data", "preprocess", "train", "evaluate", "predict"]

#: Parsed in a subprocess so the test process keeps no Airflow configuration.
INSPECT_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1], include_examples=False)
dag = bag.dags["accidents_pipeline"]
heavy = sorted(name for name in ("dvc", "mlflow", "pandas", "sklearn", "prefect", "bentoml",
                                 "accidents") if name in sys.modules)
print(json.dumps({
    "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
    "heavy_modules": heavy,
    "timetable": type(dag.timetable).__name__,
    "cron": dag.timetable.expression,
    "timezone": str(dag.timetable.timezone),
    "catchup": dag.catchup,
    "max_active_runs": dag.max_active_runs,
    "retries": dag.default_args.get("retries"),
    "tasks": [task.task_id for task in dag.topological_sort()],
    "upstream": {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks},
}))
"""


def airflow_env(home: Path, base: dict[str, str]) -> dict[str, str]:
    """A private Airflow: SQLite in `home`, only the product's DAG folder, no examples."""
    env = {key: value for key, value in base.items() if not key.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # The DAG's tasks run one after another. With Airflow's default of 32, LocalExecutor
        # forks 32 workers at once and, seen here, one of them missed its shutdown message
        # and kept `dags test` waiting after the run had succeeded.
        "AIRFLOW__CORE__PARALLELISM": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    })
    return env


def airflow(env: dict[str, str], *arguments: str, timeout: float = 300,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "airflow"), *arguments], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"airflow {' '.join(arguments)}\n" \
                                   f"{(result.stdout + result.stderr)[-6000:]}"
    return result


def last_json(output: str):
    """Airflow's CLI logs before its answer; the answer is the last line."""
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated private Airflow home: the CLI reads DAG state from its database."""
    env = airflow_env(tmp_path_factory.mktemp("airflow") / "home", dict(os.environ))
    airflow(env, "db", "migrate")
    return env


def test_list_import_errors_reports_none(env: dict[str, str]) -> None:
    # `--local` parses the folder now; without it the CLI reads the (empty) database and an
    # unparsable DAG would go unnoticed.
    errors = airflow(env, "dags", "list-import-errors", "--local", "-o", "json")
    assert last_json(errors.stdout) == []
    listed = airflow(env, "dags", "list", "--local", "-o", "json")
    assert [dag["dag_id"] for dag in last_json(listed.stdout)] == ["accidents_pipeline"]


def test_parse_dag_keeps_schedule_and_imports_nothing_heavy(env: dict[str, str]) -> None:
    result = subprocess.run([str(BIN / "python"), "-c", INSPECT_DAG, str(DAGS_FOLDER)],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    dag = last_json(result.stdout)
    assert dag["import_errors"] == {}
    assert dag["heavy_modules"] == []
    assert dag["timetable"] == "CronTriggerTimetable"
    assert dag["cron"] == "0 3 * * 1"
    assert dag["timezone"] == "Europe/Paris"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["retries"] >= 1
    assert dag["tasks"] == STAGES
    assert dag["upstream"] == {"import_data": [], "preprocess": ["import_data"],
                               "train": ["preprocess"], "evaluate": ["train"],
                               "predict": ["evaluate"]}


@pytest.mark.e2e
@pytest.mark.timeout(1800)
def test_dags_test_runs_whole_pipeline_on_sample(tmp_path: Path, sample_dir: Path) -> None:
    """`airflow dags test --use-executor`: each task runs in its own supervised process that
    talks to a real API server on loopback, as under `airflow standalone`.

    Plain `airflow dags test` (in-process Execution API) fails before the first task with
    "'State' object has no attribute 'svcs_registry'" on Airflow 3.2.2 with the FastAPI this
    product uses: the in-process API answers before its lifespan has started (apache/airflow
    issue 65945). The executor path does not use that in-process API.
    """
    project: Project = make_project(tmp_path / "project", sample_dir)
    port = free_port()
    env = airflow_env(tmp_path / "airflow-home", project.env)
    env.update({
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
    })
    airflow(env, "db", "migrate")
    with Background([str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port",
                     str(port)], tmp_path / "api-server.log", tmp_path, env) as api_server:
        api_server.wait_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=240)
        run = airflow(env, "dags", "test", "--use-executor", "accidents_pipeline",
                      timeout=900, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert "state=success" in output.split("DagRun Finished")[-1], output[-4000:]
    run_logs = tmp_path / "airflow-home" / "logs" / "dag_id=accidents_pipeline"
    for stage in STAGES:
        (task_log,) = run_logs.glob(f"run_id=*/task_id={stage}/attempt=1.log")
        assert f"running dvc repro --single-item {stage} in {project.path}" \
            in task_log.read_text()
    report = json.loads((project.path / "metrics" / "evaluation.json").read_text())
    assert report["decision"] == "promoted"
    assert (project.path / "models" / "prod_model.joblib").is_file()
    assert (project.path / "data" / "predictions" / "predictions.csv").is_file()
    assert "up to date" in project.dvc("status").stdout
