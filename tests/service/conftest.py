"""A real prediction service (`bentoml serve`) on a free loopback port, on a project copy."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import BIN, Project
from tests.processes import free_port, stop_process_group, wait_until_answers

#: The main test server's token secret: tests forge tokens with it (expired, odd claims).
SECRET = "secret-of-the-service-tests-only-0123456789abcdef"
#: UTC+14: a naive `utcnow()` or local-time expiry would be off by 14 hours here.
FAR_TIME_ZONE = "Pacific/Kiritimati"
#: `/retrain` must answer without waiting on the flow, which takes minutes. On a busy 2-core
#: machine one request can take over a second, so the tests bound it loosely; the speed
#: itself is a benchmark figure, not a timed test.
ANSWERS_BEFORE_THE_FLOW = 10.0
SEED_FEATURES = [10, 3, 1, 0.0, 2021, 60, 2, 1, 1, 3, 2, 1, 1, 50, 7, 12, 5, 77, 77317, 2, 1, 0,
                 6, 48.60, 2.89, 17, 2, 1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path
    project: Project

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)

    def fresh_client(self) -> httpx.Client:
        """A client that opens a new connection per request, so requests spread over workers."""
        return self.client(limits=httpx.Limits(max_keepalive_connections=0))

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def login(self, username: str, password: str) -> str:
        with self.client() as client:
            answer = client.post("/auth/token", data={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def stop(self) -> None:
        stop_process_group(self.process)


def launch(project: Project, log_path: Path, **env: str) -> Server:
    """Start `bentoml serve` in `project` (two workers) without waiting for it."""
    port = free_port()
    full_env = {**project.env, "ACCIDENTS_SERVICE_WORKERS": "2", "BENTOML_DO_NOT_TRACK": "true",
                **env}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(BIN / "bentoml"), "serve", "service.service:PriorityService",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=project.path, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", process, log_path, project)


def start_server(project: Project, log_path: Path, probe: str = "/readyz",
                 timeout: float = 300, **env: str) -> Server:
    """Start the service and wait until `probe` answers 200 on every worker's socket."""
    server = launch(project, log_path, **env)
    if (problem := wait_until_answers(server.process, server.url + probe, timeout)) is None:
        return server
    server.stop()
    raise AssertionError(f"the service {problem}:\n{server.log_tail()}")


def private_copy(project: Project, root: Path) -> Project:
    """A copy of a trained project to change freely, with an MLflow store of its own (the
    copied one records artefact folders of the original, which must stay untouched)."""
    shutil.copytree(project.path, root, symlinks=True,
                    ignore=shutil.ignore_patterns("mlflow.db", "mlruns", "mlartifacts", "var"))
    env = {key: value.replace(str(project.path), str(root)) for key, value in project.env.items()}
    return Project(root, env)


@pytest.fixture(scope="session")
def service_project(trained_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The trained project, copied; its evaluate stage promotes any candidate (a retrain
    must end with a new model served)."""
    project = private_copy(trained_project, tmp_path_factory.mktemp("service") / "project")
    params_path = project.path / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["evaluate"]["min_improvement"] = -1.0
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    return project


@pytest.fixture(scope="session")
def server(service_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service with a known secret, its own users store, in a time zone far from UTC."""
    folder = tmp_path_factory.mktemp("server")
    running = start_server(
        service_project, folder / "server.log",
        ACCIDENTS_JWT_SECRET=SECRET, ACCIDENTS_USERS_DB_URL=f"sqlite:///{folder / 'users.db'}",
        ACCIDENTS_MODEL_REFRESH_SECONDS="1", TZ=FAR_TIME_ZONE,
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def admin_token(server: Server) -> str:
    return server.login("admin", "admin123")


@pytest.fixture(scope="session")
def user_token(server: Server) -> str:
    return server.login("user", "user123")

