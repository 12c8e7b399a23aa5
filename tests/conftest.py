"""Shared fixtures: the real 2021 data from ../shared, and throwaway copies of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# One native thread per process: the suite shares 2 cores with the servers it starts.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ACCIDENTS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SAMPLE_DIR = SHARED_DATA / "baac-2021-sample"
FULL_SPLIT_DIR = SHARED_DATA / "baac-2021-preprocessed"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The first 900 accidents of each official 2021 file (read-only)."""
    if not (SAMPLE_DIR / "usagers-2021.csv").is_file():
        pytest.skip(f"real BAAC sample not found at {SAMPLE_DIR}; set ACCIDENTS_SHARED_DATA")
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def full_split_dir() -> Path:
    """The public template's full 2021 train/test split (read-only)."""
    if not (FULL_SPLIT_DIR / "X_train.csv").is_file():
        pytest.skip(f"full 2021 split not found at {FULL_SPLIT_DIR}; set ACCIDENTS_SHARED_DATA")
    return FULL_SPLIT_DIR


@dataclass
class Project:
    """A throwaway copy of the repository with its own stores (MLflow, BentoML, Prefect)."""

    path: Path
    env: dict[str, str]

    def run(self, *command: str, check: bool = True, timeout: float = 600,
            **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            command, cwd=self.path, env={**self.env, **extra_env}, capture_output=True,
            text=True, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def dvc(self, *arguments: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "dvc"), *arguments, **kwargs)


def make_project(root: Path, source: Path | None) -> Project:
    """Copy the tracked files of the repository into `root` and give it private stores."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("ACCIDENTS_", "MLFLOW_", "PREFECT_", "BENTOML_"))
    }
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "ACCIDENTS_PROJECT_DIR": str(root),
        "BENTOML_HOME": str(root / ".bentoml"),
        "PREFECT_HOME": str(root / ".prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "DO_NOT_TRACK": "1",
        "OMP_NUM_THREADS": "1",
    })
    if source is not None:
        env["ACCIDENTS_DATA_SOURCE"] = str(source)
    return Project(root, env)


@pytest.fixture
def project(tmp_path: Path, sample_dir: Path) -> Project:
    """A fresh copy of the project whose import reads the real sample."""
    return make_project(tmp_path / "project", sample_dir)


def copy_project(project: Project, root: Path) -> Project:
    """A private copy of a project, its stores and artefacts included, to change freely."""
    shutil.copytree(project.path, root, symlinks=True)
    env = {key: value.replace(str(project.path), str(root)) for key, value in project.env.items()}
    return Project(root, env)


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Project:
    """A project copy where `dvc repro` has run once on the real sample (shared, read-only)."""
    project = make_project(tmp_path_factory.mktemp("trained") / "project", sample_dir)
    project.dvc("repro")
    return project
