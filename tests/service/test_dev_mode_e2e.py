"""Development defaults and production refusals of the real service (`bentoml serve`)."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.service.conftest import SEED_FEATURES, Server, launch, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dev_server(service_project: Project, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Server]:
    """Development mode, no secret set, 3-second tokens, and an empty BentoML model store."""
    folder = tmp_path_factory.mktemp("dev-server")
    running = start_server(
        service_project, folder / "server.log", probe="/healthz",
        BENTOML_HOME=str(folder / "empty-bentoml"), ACCIDENTS_TOKEN_EXPIRY_MINUTES="0.05",
    )
    yield running
    running.stop()


def predict(server: Server, token: str):
    with server.fresh_client() as client:
        return client.post("/predict", json={"features": SEED_FEATURES},
                           headers={"Authorization": f"Bearer {token}"})


def test_dev_mode_generates_secret_readable_only_by_owner(dev_server: Server) -> None:
    key_file = dev_server.project.path / "var" / "jwt_secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    assert "generated a development token secret" in dev_server.log_tail(200)


def test_dev_mode_creates_default_users_with_warning(dev_server: Server) -> None:
    assert dev_server.login("admin", "admin123")
    assert dev_server.login("user", "user123")
    assert "development mode: created the default users" in dev_server.log_tail(200)


def test_token_accepted_by_every_worker(dev_server: Server) -> None:
    token = dev_server.login("user", "user123")
    workers = set()
    for _ in range(40):
        answer = predict(dev_server, token)
        # 503, not 401: the token passed; the store has no model to answer with.
        assert answer.status_code == 503, answer.text
        workers.add(answer.headers["x-worker-index"])
        if workers == {"1", "2"}:
            break
    assert workers == {"1", "2"}


def test_readyz_without_model_says_why(dev_server: Server) -> None:
    with dev_server.client() as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert alive.status_code == 200
    assert ready.status_code == 503
    assert "no model 'accidents-priority' in the BentoML store" in ready.text
    answer = predict(dev_server, dev_server.login("user", "user123"))
    assert "no model to serve: no model 'accidents-priority'" in answer.json()["detail"]


def test_token_expires_after_setting(dev_server: Server) -> None:
    with dev_server.client() as client:
        login = client.post("/auth/token", data={"username": "user", "password": "user123"})
    assert login.json()["expires_in"] == 3
    token = login.json()["access_token"]
    assert predict(dev_server, token).status_code == 503
    time.sleep(4.5)
    expired = predict(dev_server, token)
    assert expired.status_code == 401
    assert expired.json()["detail"] == "the token has expired; log in again"


def run_users_command(project: Project, *arguments: str, password: str | None = None,
                      **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "accidents.users", *arguments], cwd=project.path,
        env={**project.env, **env}, input=password and password + "\n", capture_output=True,
        text=True, timeout=120,
    )


@pytest.mark.parametrize("secret, problem", [
    (None, "ACCIDENTS_JWT_SECRET is not set"),
    ("too-short-secret", "ACCIDENTS_JWT_SECRET is shorter than 32 bytes"),
    ("change-me", "ACCIDENTS_JWT_SECRET is a default placeholder value"),
])
def test_production_refuses_unsafe_settings(service_project: Project, tmp_path: Path,
                                            secret: str | None, problem: str) -> None:
    users_db = f"sqlite:///{tmp_path / 'users.db'}"
    # The default users, as a development start leaves them.
    script = ("from accidents.settings import get_settings\n"
              "from accidents.users.startup import open_store, seed_development_users\n"
              "seed_development_users(open_store(get_settings()))\n")
    service_project.run(sys.executable, "-c", script, ACCIDENTS_USERS_DB_URL=users_db)
    env = {"ACCIDENTS_ENV": "production", "ACCIDENTS_USERS_DB_URL": users_db}
    if secret is not None:
        env["ACCIDENTS_JWT_SECRET"] = secret
    server = launch(service_project, tmp_path / "server.log", **env)
    try:
        returncode = server.process.wait(timeout=180)
    finally:
        server.stop()
    log = server.log_tail(30)
    assert returncode != 0
    assert f"the product refuses to start in production: {problem}" in log
    assert "user 'admin' still has its default password" in log
    assert "user 'user' still has its default password" in log


def test_production_starts_with_safe_settings(service_project: Project, tmp_path: Path) -> None:
    users_db = f"sqlite:///{tmp_path / 'users.db'}"
    added = run_users_command(service_project, "add", "ops", "--role", "admin",
                              "--password-stdin", password="a long pass phrase",
                              ACCIDENTS_USERS_DB_URL=users_db)
    assert added.returncode == 0, added.stderr
    server = start_server(
        service_project, tmp_path / "server.log", probe="/healthz", ACCIDENTS_ENV="production",
        ACCIDENTS_JWT_SECRET="s" * 40, ACCIDENTS_USERS_DB_URL=users_db,
        BENTOML_HOME=str(tmp_path / "empty-bentoml"),
    )
    try:
        assert server.login("ops", "a long pass phrase")
        with server.client() as client:
            default = client.post("/auth/token", data={"username": "admin",
                                                       "password": "admin123"})
        assert default.status_code == 401
    finally:
        server.stop()
