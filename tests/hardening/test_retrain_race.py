"""Two admins ask for a retrain at the same instant, on different connections (so, most often,
different workers): exactly one run starts; the other gets 409 naming it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
import pytest

from tests.hardening.conftest import bearer, token_of
from tests.service.conftest import Server

pytestmark = pytest.mark.e2e

ROUNDS = 3


def race(server: Server, token: str) -> list[httpx.Response]:
    barrier = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def ask() -> None:
        with server.fresh_client() as client:
            barrier.wait()
            answers.append(client.post("/retrain", headers=bearer(token)))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(answers, key=lambda answer: answer.status_code)


def end_run(server: Server, token: str, run_id: str) -> dict:
    """Kill the started run (a whole retrain is another test's business) and see it reported."""
    record_path = server.project.path / "var" / "retrains" / f"{run_id}.json"
    deadline = time.monotonic() + 90
    while (pid := json.loads(record_path.read_text()).get("pid")) is None:
        assert time.monotonic() < deadline, "the retrain process did not start"
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)
    with server.client(headers=bearer(token)) as client:
        while (status := client.get(f"/retrain/{run_id}").json())["state"] != "failed":
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
    return status


def test_racing_retrains_start_exactly_one(hardening_server: Server) -> None:
    token = token_of(hardening_server, "admin", "admin123")
    started = set()
    for _ in range(ROUNDS):
        accepted, refused = race(hardening_server, token)
        assert (accepted.status_code, refused.status_code) == (202, 409), \
            (accepted.text, refused.text)
        run_id = accepted.json()["run_id"]
        assert refused.json() == {"detail": f"a retrain is already running: {run_id}",
                                  "run_id": run_id}
        started.add(run_id)
        status = end_run(hardening_server, token, run_id)
        assert "ended without a result" in status["error"]
    assert len(started) == ROUNDS
    records = list((hardening_server.project.path / "var" / "retrains").glob("*.json"))
    assert {path.stem for path in records} >= started
    assert len(records) == ROUNDS  # no run that lost a race left a record
