"""A real retrain through the service: the flow in a process of its own, then the new model
served by every worker, while a broken or killed run leaves the served model alone."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest

from tests.conftest import Project
from tests.service.conftest import ANSWERS_BEFORE_THE_FLOW, SEED_FEATURES, Server

pytestmark = pytest.mark.e2e

RETRAIN_TIMEOUT = 1200


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def served_versions(server: Server, token: str, requests: int = 12) -> dict[str, str]:
    """Worker index -> model version, over fresh connections."""
    seen = {}
    with server.fresh_client() as client:
        for _ in range(requests):
            answer = client.post("/predict", json={"features": SEED_FEATURES},
                                 headers=bearer(token))
            assert answer.status_code == 200, answer.text
            seen[answer.headers["x-worker-index"]] = answer.json()["model_version"]
    return seen


def save_broken_model(project: Project) -> str:
    """A new `accidents-priority:latest` whose file is not a model."""
    code = (
        "import bentoml\n"
        "with bentoml.models.create('accidents-priority') as entry:\n"
        "    open(entry.path_of('model.joblib'), 'wb').write(b'not a model')\n"
        "print(entry.tag)\n"
    )
    return project.run(sys.executable, "-c", code).stdout.strip().splitlines()[-1]


def record(project: Project, run_id: str) -> dict:
    return json.loads((project.path / "var" / "retrains" / f"{run_id}.json").read_text())


def wait_for(condition, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_retrain_promotes_new_model_on_every_worker(
    server: Server, service_project: Project, admin_token: str, user_token: str,
) -> None:
    before = set(served_versions(server, user_token).values())
    assert len(before) == 1
    (served,) = before

    broken = save_broken_model(service_project)
    time.sleep(3)
    assert set(served_versions(server, user_token).values()) == {served}
    assert f"model {broken} cannot be served" in server.log_tail(200)
    with server.client() as client:
        assert client.get("/readyz").status_code == 200

    with server.client(headers=bearer(admin_token)) as client:
        # A run killed half-way: the lock is freed, the record says so, the model stays.
        started = time.perf_counter()
        first = client.post("/retrain")
        assert time.perf_counter() - started < ANSWERS_BEFORE_THE_FLOW
        assert first.status_code == 202, first.text
        killed_id = first.json()["run_id"]
        assert first.json()["status_url"] == f"/retrain/{killed_id}"
        busy = client.post("/retrain")
        assert busy.status_code == 409
        assert busy.json()["run_id"] == killed_id
        pid = wait_for(lambda: record(service_project, killed_id).get("pid"), 60,
                       "the retrain process to start")
        os.killpg(pid, signal.SIGKILL)
        status = wait_for(
            lambda: (answer := client.get(f"/retrain/{killed_id}").json())["state"] == "failed"
            and answer, 30, "the killed run to be reported")
        assert "ended without a result" in status["error"]
        assert set(served_versions(server, user_token).values()) == {served}

        # A run to the end.
        started = time.perf_counter()
        second = client.post("/retrain")
        assert time.perf_counter() - started < ANSWERS_BEFORE_THE_FLOW
        assert second.status_code == 202, second.text
        run_id = second.json()["run_id"]
        assert client.post("/retrain").json()["run_id"] == run_id
        running = client.get(f"/retrain/{run_id}").json()
        assert running["state"] in ("starting", "running") and running["decision"] is None
        done = wait_for(
            lambda: (answer := client.get(f"/retrain/{run_id}").json())["state"]
            not in ("starting", "running") and answer,
            RETRAIN_TIMEOUT, "the retrain to finish", interval=5)
    log = (service_project.path / "var" / "retrains" / f"{run_id}.log").read_text()
    assert done["state"] == "completed", log[-3000:]
    assert done["decision"] == "promoted" and done["promoted"] is True
    assert done["registry_version"] and done["finished_at"]

    latest = (service_project.path / ".bentoml" / "models" / "accidents-priority"
              / "latest").read_text().strip()
    new = f"accidents-priority:{latest}"
    assert new not in (served, broken)
    seen = wait_for(
        lambda: (versions := served_versions(server, user_token, 16)).keys() == {"1", "2"}
        and set(versions.values()) == {new} and versions,
        30, f"both workers to serve {new}")
    assert seen == {"1": new, "2": new}
