"""A service of its own for the hardening tests: small login limits, a short user cache.

It runs on a private copy of the trained project (its retrain lock, users store and model
store are its own), through the service tests' launcher.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import Project
from tests.service.conftest import SECRET, Server, private_copy, start_server

#: Login limits of the hardening server: small, so that tests reach them in a few requests.
USER_LIMIT = 5
CLIENT_LIMIT = 30
WINDOW_SECONDS = 8
USER_CACHE_SECONDS = 1

HARDENING_ENV = {
    "ACCIDENTS_JWT_SECRET": SECRET,
    "ACCIDENTS_LOGIN_MAX_FAILURES_PER_USER": str(USER_LIMIT),
    "ACCIDENTS_LOGIN_MAX_FAILURES_PER_CLIENT": str(CLIENT_LIMIT),
    "ACCIDENTS_LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS),
    "ACCIDENTS_USER_CACHE_SECONDS": str(USER_CACHE_SECONDS),
    "ACCIDENTS_MODEL_REFRESH_SECONDS": "1",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(server: Server, username: str, password: str) -> str:
    """Log in; an earlier test may have left this client over its limit: wait it out once."""
    for _ in range(2):
        with server.fresh_client() as client:
            answer = client.post("/auth/token", data={"username": username,
                                                      "password": password})
        if answer.status_code != 429:
            break
        time.sleep(int(answer.headers["retry-after"]) + 0.5)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="session")
def hardening_project(trained_project: Project,
                      tmp_path_factory: pytest.TempPathFactory) -> Project:
    return private_copy(trained_project, tmp_path_factory.mktemp("hardening") / "project")


@pytest.fixture(scope="session")
def hardening_users_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('hardening-users') / 'users.db'}"


@pytest.fixture(scope="session")
def hardening_server(hardening_project: Project, hardening_users_db: str,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hardening-server")
    running = start_server(hardening_project, folder / "server.log", **HARDENING_ENV,
                           ACCIDENTS_USERS_DB_URL=hardening_users_db)
    yield running
    running.stop()


def users_command(project: Project, users_db: str, *arguments: str,
                  password: str | None = None) -> str:
    """Run `python -m accidents.users ...` on `users_db`, as an operator would."""
    if password is not None:
        arguments += ("--password-stdin",)
    finished = subprocess.run(
        [sys.executable, "-m", "accidents.users", *arguments], cwd=project.path,
        env={**project.env, "ACCIDENTS_USERS_DB_URL": users_db},
        input=None if password is None else password + "\n",
        capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout
