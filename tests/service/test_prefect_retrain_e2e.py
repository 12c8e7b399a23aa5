"""`/retrain` with `PREFECT_API_URL` and the `pipeline/weekly` deployment: submitted there at
once, even with no Prefect worker running, and one at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, Project
from tests.processes import free_port
from tests.service.conftest import ANSWERS_BEFORE_THE_FLOW, Server, start_server

pytestmark = pytest.mark.e2e


def prefect(env: dict[str, str], cwd: Path, *arguments: str) -> None:
    result = subprocess.run([str(BIN / "prefect"), *arguments], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"prefect {' '.join(arguments)}\n{result.stdout}\n" \
                                   f"{result.stderr}"


@pytest.fixture(scope="module")
def prefect_api(service_project: Project, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """A Prefect server on loopback with the project's deployments (no worker)."""
    folder = tmp_path_factory.mktemp("prefect")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**service_project.env, "PREFECT_HOME": str(folder / "home"),
           "PREFECT_UI_ENABLED": "false"}
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, (folder / "server.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "the Prefect server did not start in 300 s"
            try:
                if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        client_env = {**env, "PREFECT_API_URL": api}
        prefect(client_env, service_project.path, "work-pool", "create", "accidents-pool",
                "--type", "process")
        prefect(client_env, service_project.path, "--no-prompt", "deploy", "--all")
        yield api
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def prefect_server(service_project: Project, prefect_api: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("prefect-service")
    running = start_server(
        service_project, folder / "server.log", PREFECT_API_URL=prefect_api,
        ACCIDENTS_USERS_DB_URL=f"sqlite:///{folder / 'users.db'}",
        ACCIDENTS_JWT_SECRET="secret-of-the-prefect-service-test-0123456789",
    )
    yield running
    running.stop()


def test_retrain_submits_to_deployment_without_worker(prefect_server: Server,
                                                      prefect_api: str) -> None:
    token = prefect_server.login("admin", "admin123")
    with prefect_server.client(headers={"Authorization": f"Bearer {token}"}) as client:
        started = time.perf_counter()
        answer = client.post("/retrain")
        elapsed = time.perf_counter() - started
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert elapsed < ANSWERS_BEFORE_THE_FLOW
        assert body["mode"] == "prefect" and body["state"] == "scheduled"
        run_id = body["run_id"]
        busy = client.post("/retrain")
        status = client.get(f"/retrain/{run_id}").json()
    assert busy.status_code == 409 and busy.json()["run_id"] == run_id
    assert status["mode"] == "prefect"
    assert status["state"] in ("scheduled", "pending")
    flow_run = httpx.get(f"{prefect_api}/flow_runs/{run_id}", timeout=10).json()
    deployment = httpx.get(f"{prefect_api}/deployments/name/pipeline/weekly", timeout=10).json()
    assert flow_run["deployment_id"] == deployment["id"]
    assert flow_run["parameters"] == {"force": True}
    assert flow_run["state"]["type"].lower() == status["state"]
