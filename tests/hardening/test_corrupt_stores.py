"""The production model in BentoML's store, or the users store, corrupted on disk under a
running service: it reports not ready with a clear log line, serves nothing wrong, and
recovers by itself once the file is restored. A service of its own: these tests break it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Project
from tests.hardening.conftest import HARDENING_ENV, bearer, token_of
from tests.service.conftest import SEED_FEATURES, Server, private_copy, start_server

pytestmark = pytest.mark.e2e

MODEL_NAME = "accidents-priority"


@pytest.fixture(scope="module")
def users_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corrupt-users") / "users.db"


@pytest.fixture(scope="module")
def breakable_server(trained_project: Project, users_db: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("corrupt")
    project = private_copy(trained_project, folder / "project")
    running = start_server(project, folder / "server.log", **HARDENING_ENV,
                           ACCIDENTS_USERS_DB_URL=f"sqlite:///{users_db}")
    yield running
    running.stop()


def readiness(server: Server, probes: int = 6) -> list[httpx.Response]:
    """/readyz over fresh connections, so that both workers answer."""
    with server.fresh_client() as client:
        return [client.get("/readyz") for _ in range(probes)]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def all_ready(server: Server) -> bool:
    return all(answer.status_code == 200 for answer in readiness(server))


def none_ready(server: Server) -> bool:
    return all(answer.status_code == 503 for answer in readiness(server))


def predictions(server: Server, token: str, count: int = 6) -> list[httpx.Response]:
    with server.fresh_client() as client:
        return [client.post("/predict", json={"features": SEED_FEATURES}, headers=bearer(token))
                for _ in range(count)]


def restore(path: Path, content: bytes) -> None:
    """Put a backup back the way an operator's restore would: a new file moved into place."""
    staging = path.with_name(path.name + ".restore")
    staging.write_bytes(content)
    os.replace(staging, path)


def test_corrupt_model_file_not_ready_until_restored(breakable_server: Server) -> None:
    token = token_of(breakable_server, "user", "user123")
    before = predictions(breakable_server, token)[0].json()
    store = breakable_server.project.path / ".bentoml" / "models" / MODEL_NAME
    version = (store / "latest").read_text().strip()
    assert before["model_version"] == f"{MODEL_NAME}:{version}"
    model_file = store / version / "model.joblib"
    backup = model_file.read_bytes()

    model_file.write_bytes(b"\x80\x04 not a model any more" * 100)  # in place
    wait_until(lambda: none_ready(breakable_server), "both workers to report not ready")
    reason = readiness(breakable_server)[0].text
    assert f"the served model's file changed on disk; model {MODEL_NAME}:{version} cannot be " \
           "served" in reason
    assert "unreadable model file" in reason
    refused = predictions(breakable_server, token)
    assert {answer.status_code for answer in refused} == {503}
    assert refused[0].json()["detail"].startswith("no model to serve: the served model's file "
                                                  "changed on disk")
    assert f"not ready: the served model's file changed on disk; model {MODEL_NAME}:{version}" \
           in breakable_server.log_tail(400)

    restore(model_file, backup)
    wait_until(lambda: all_ready(breakable_server), "both workers to serve the restored model")
    after = [answer.json() for answer in predictions(breakable_server, token)]
    assert all(answer == before for answer in after)


@pytest.mark.parametrize("damage, reason", [
    (lambda size: os.urandom(size), "file is not a database"),
    (lambda size: b"", "no such table: users"),
])
def test_corrupt_users_store_not_ready_until_restored(breakable_server: Server, users_db: Path,
                                                     damage, reason: str) -> None:
    token = token_of(breakable_server, "user", "user123")
    assert {answer.status_code for answer in predictions(breakable_server, token)} == {200}
    backup = users_db.read_bytes()

    with users_db.open("r+b") as file:  # in place, under the workers' open connections
        file.write(damage(len(backup)))
        file.truncate()
    wait_until(lambda: none_ready(breakable_server), "both workers to report not ready")
    assert f"not ready: the users store cannot be read: {reason}" in \
        readiness(breakable_server)[0].text
    assert f"not ready: the users store cannot be read: {reason}" in \
        breakable_server.log_tail(400)
    with breakable_server.fresh_client() as client:
        login = client.post("/auth/token", data={"username": "user", "password": "user123"})
    assert login.status_code == 503
    assert login.json()["detail"].startswith("the users store cannot be read: ")
    time.sleep(1.5)  # past the user cache: each request now asks the store
    assert {answer.status_code for answer in predictions(breakable_server, token)} == {503}

    restore(users_db, backup)
    wait_until(lambda: all_ready(breakable_server), "both workers to read the restored store")
    assert "the users store can be read again" in breakable_server.log_tail(400)
    assert token_of(breakable_server, "user", "user123")
    assert {answer.status_code for answer in predictions(breakable_server, token)} == {200}
