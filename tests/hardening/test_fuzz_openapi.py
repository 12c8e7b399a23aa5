"""Schemathesis fuzzes the running service from its own `/openapi.json` (every route, the
ones BentoML answers included): without a token, as a user and as an admin.

All checks run except `positive_data_acceptance`, which expects every schema-valid request to
succeed (a made-up username and password are schema-valid, and must get 401). Each response
must match the documented status codes, content types, headers and schema, and no request
may get a 5xx. While the admin run goes, the test holds the retrain lock, as a running retrain
would: `POST /retrain` then answers 409 instead of starting real retrains by the hundred.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import BIN
from tests.hardening.conftest import bearer, token_of
from tests.service.conftest import SEED_FEATURES, Server

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 40
MIN_REQUESTS = 2000
HELD_RUN_ID = "f" * 32


@contextmanager
def retrain_lock_held(project_path: Path) -> Iterator[None]:
    """Hold the retrain lock and record a running run, as the service's retrain process does."""
    folder = project_path / "var" / "retrains"
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / f"{HELD_RUN_ID}.json"
    handle = os.open(folder / "retrain.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(handle, 0)
        os.pwrite(handle, HELD_RUN_ID.encode(), 0)
        record.write_text(json.dumps({"run_id": HELD_RUN_ID, "mode": "local",
                                      "state": "running", "started_at": "2026-01-01T00:00:00"}))
        yield
    finally:
        os.close(handle)
        record.unlink(missing_ok=True)


def fuzz(server: Server, work: Path, name: str, token: str | None) -> tuple[int, list[dict]]:
    """Run schemathesis; return its exit code and the requests it sent (from its HAR file)."""
    har = work / f"{name}.har"
    command = [str(BIN / "schemathesis"), "run", f"{server.url}/openapi.json",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "20210",
               "--workers", "1", "--request-timeout", "30", "--no-color",
               "--report", "har", "--report-har-path", str(har)]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    finished = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
    (work / f"{name}.log").write_text(finished.stdout + finished.stderr)
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    return finished.returncode, entries


def test_fuzz_every_route_finds_no_error(hardening_server: Server, tmp_path: Path) -> None:
    tokens = {"anonymous": None,
              "user": token_of(hardening_server, "user", "user123"),
              "admin": token_of(hardening_server, "admin", "admin123")}
    outcomes = {}
    requests: dict[str, list[dict]] = {}
    for name, token in tokens.items():
        if name == "admin":
            with retrain_lock_held(hardening_server.project.path):
                outcomes[name], requests[name] = fuzz(hardening_server, tmp_path, name, token)
        else:
            outcomes[name], requests[name] = fuzz(hardening_server, tmp_path, name, token)
    logs = {name: (tmp_path / f"{name}.log").read_text()[-4000:] for name in tokens}

    assert outcomes == {name: 0 for name in tokens}, logs
    total = sum(len(entries) for entries in requests.values())
    assert total >= MIN_REQUESTS, {name: len(entries) for name, entries in requests.items()}
    statuses = Counter(entry["response"]["status"] for entries in requests.values()
                       for entry in entries)
    assert not [status for status in statuses if status >= 500], statuses
    paths = {entry["request"]["url"].removeprefix(hardening_server.url).split("?")[0]
             for entries in requests.values() for entry in entries}
    assert {"/auth/token", "/predict", "/retrain", "/healthz", "/readyz",
            "/metrics"} <= paths
    assert any(path.startswith("/retrain/") for path in paths)
    # Each run reached past the login wall where it could.
    by_name = {name: Counter(entry["response"]["status"] for entry in entries)
               for name, entries in requests.items()}
    assert by_name["user"][200] > 0 and by_name["user"][403] > 0
    assert by_name["admin"][409] > 0
    assert by_name["anonymous"][401] > 0
    with hardening_server.client() as client:
        assert client.get("/readyz").status_code == 200
        assert client.post("/predict", json={"features": SEED_FEATURES},
                           headers=bearer(tokens["user"])).status_code == 200
