"""prefect.yaml: `prefect deploy` to a real server on loopback, then deployment runs executed
by a process worker started in another copy of the project."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import BIN, REPO_ROOT, make_project
from tests.orchestration.background import Background
from tests.processes import free_port

FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def prefect(env: dict[str, str], cwd: Path, *arguments: str) -> str:
    result = subprocess.run([str(BIN / "prefect"), *arguments], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"prefect {' '.join(arguments)}\n{result.stdout}\n" \
                                   f"{result.stderr}"
    return result.stdout


def wait_for_final_states(api: str, run_ids: list[str], timeout: float,
                          worker: Background) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    runs: dict[str, dict] = {}
    while time.monotonic() < deadline:
        runs = {run_id: httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
                for run_id in run_ids}
        if all(run["state"]["type"] in FINAL_STATES for run in runs.values()):
            return runs
        time.sleep(3)
    raise AssertionError(f"flow runs not finished in {timeout} s: "
                         f"{[run['state']['name'] for run in runs.values()]}\n"
                         + worker.output()[-6000:])


def test_prefect_yaml_records_no_path_of_this_machine() -> None:
    config = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())
    (deployment,) = config["deployments"]
    assert deployment["name"] == "weekly"
    assert deployment["entrypoint"] == "flows/pipeline.py:pipeline"
    assert config["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "."}}]
    assert not config["build"] and not config["push"]
    assert deployment["work_pool"]["job_variables"]["working_dir"] == "."


@pytest.mark.e2e
@pytest.mark.timeout(2400)
def test_deployment_runs_complete_through_worker_one_at_a_time(tmp_path: Path,
                                                                sample_dir: Path) -> None:
    deployer = make_project(tmp_path / "deployer", None)
    runner = make_project(tmp_path / "runner", sample_dir)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_env = {**runner.env, "PREFECT_HOME": str(tmp_path / "server-home"),
                  "PREFECT_UI_ENABLED": "false"}
    with Background([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                     str(port)], tmp_path / "server.log", tmp_path, server_env) as server:
        server.wait_http(f"{api}/health", timeout=300)
        client_env = {**deployer.env, "PREFECT_API_URL": api}
        prefect(client_env, deployer.path, "work-pool", "create", "accidents-pool",
                "--type", "process")
        prefect(client_env, deployer.path, "--no-prompt", "deploy", "--all")
        deployment = httpx.get(f"{api}/deployments/name/pipeline/weekly", timeout=10).json()

        # The worker knows the project only as the folder it was started in.
        worker_env = {**runner.env, "PREFECT_API_URL": api, "PREFECT_WORKER_QUERY_SECONDS": "2"}
        del worker_env["ACCIDENTS_PROJECT_DIR"]
        with Background([str(BIN / "prefect"), "worker", "start", "--pool", "accidents-pool"],
                        tmp_path / "worker.log", runner.path, worker_env) as worker:
            # The schedule and a /retrain asking together: both are accepted, one waits.
            run_ids = [re.search(r"UUID: ([0-9a-f-]{36})", prefect(
                client_env, deployer.path, "deployment", "run", "pipeline/weekly")).group(1)
                for _ in range(2)]
            runs = wait_for_final_states(api, run_ids, timeout=1800, worker=worker)
            histories = {run_id: [state["name"] for state in httpx.get(
                f"{api}/flow_run_states/", params={"flow_run_id": run_id}, timeout=10).json()]
                for run_id in run_ids}

    assert [run["state"]["type"] for run in runs.values()] == ["COMPLETED", "COMPLETED"], \
        worker.output()[-6000:]
    first, second = sorted(runs.values(), key=lambda run: run["start_time"])
    assert second["start_time"] >= first["end_time"]
    assert any("AwaitingConcurrencySlot" in names for names in histories.values()), histories

    stored = json.dumps(deployment)
    assert str(deployer.path) not in stored and str(runner.path) not in stored
    assert deployment["entrypoint"] == "flows/pipeline.py:pipeline"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "."}}]
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 3 * * 1"
    assert schedule["schedule"]["timezone"] == "Europe/Paris"

    report = json.loads((runner.path / "metrics" / "evaluation.json").read_text())
    assert report["decision"] == "promoted"
    assert (runner.path / "data" / "predictions" / "predictions.csv").is_file()
    assert not (deployer.path / "metrics").exists()
