"""Start the servers under test on free loopback ports, wait until they answer, stop them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import joblib
import psutil
from sklearn.ensemble import RandomForestClassifier

from accidents.preprocessing import load_split
from tests.processes import free_port, stop_process_group, wait_until_answers

BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
START_TIMEOUT = 300.0


class ServerError(RuntimeError):
    """A server did not start, or did not answer a first prediction."""


@dataclass
class Running:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and all its processes (BentoML's workers)."""
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def predict_once(url: str, features: list[float], token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http(f"{url}/predict", json.dumps({"features": features}).encode(), headers)


def train_seed_forest(split_dir: Path, path: Path) -> Path:
    """The seed's model: `RandomForestClassifier(n_jobs=-1)` fitted on the split's train part,
    saved with joblib."""
    x_train, _, y_train, _ = load_split(split_dir)
    joblib.dump(RandomForestClassifier(n_jobs=-1).fit(x_train, y_train), path)
    return path


@contextmanager
def serving(name: str, command: list[str], cwd: Path, env: dict[str, str], log_path: Path,
            url: str, probe: str) -> Iterator[Running]:
    """Run `command` (which must listen at `url`) until the block ends."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    running = Running(name, url, process, log_path)
    try:
        if (problem := wait_until_answers(process, url + probe, START_TIMEOUT)) is not None:
            raise ServerError(f"{name} {problem}:\n{running.log_tail()}")
        yield running
    finally:
        stop_process_group(process)


@contextmanager
def baseline_server(model_path: Path, log_path: Path) -> Iterator[Running]:
    """The seed-style FastAPI baseline under uvicorn (one process, as the seed ran it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "uvicorn"), "baseline_api:app", "--app-dir", str(BENCH_DIR),
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "BASELINE_MODEL_PATH": str(model_path)}
    with serving("baseline", command, BENCH_DIR, env, log_path, url, "/docs") as running:
        yield running


@contextmanager
def product_server(project_path: Path, env: dict[str, str], log_path: Path) -> Iterator[Running]:
    """The product's BentoML service (`bentoml serve service.service:PriorityService`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "bentoml"), "serve", "service.service:PriorityService",
               "--host", "127.0.0.1", "--port", str(port)]
    env = {"BENTOML_DO_NOT_TRACK": "true", **env}
    # BentoML answers /readyz with 503 until the service has loaded its model.
    with serving("service", command, project_path, env, log_path, url, "/readyz") as running:
        yield running


def log_in(url: str, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    status, body = http(f"{url}/auth/token", form,
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise ServerError(f"login as {username} answered {status}: {body[:300]!r}")
    return json.loads(body)["access_token"]
