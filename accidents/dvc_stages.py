"""Run one stage of the product's DVC pipeline, one run at a time per project folder.

Prefect's flows and Airflow's tasks both call `reproduce_stage`. Runs started together (the
schedule and a `/retrain`, or Airflow and Prefect) queue stage by stage on an OS lock of the
project, `.dvc/tmp/pipeline.lock`: DVC releases its own repository lock while a stage's
command runs and then fails a second writer of the same outputs ("is busy") instead of waiting.
Standard library only, so an Airflow task can import it cheaply.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

STAGES = ("import_data", "preprocess", "train", "evaluate", "predict")
PIPELINE_LOCK = Path(".dvc") / "tmp" / "pipeline.lock"
FAILURE_TAIL_LINES = 15


class StageFailed(RuntimeError):
    """A DVC stage exited non-zero; the message carries the end of its output."""


def project_dir(default: Path | None = None) -> Path:
    """The project folder: `ACCIDENTS_PROJECT_DIR`, else `default`, else the current folder."""
    configured = os.environ.get("ACCIDENTS_PROJECT_DIR")
    project = Path(configured or default or Path.cwd()).resolve()
    if not (project / "dvc.yaml").is_file():
        raise FileNotFoundError(
            f"no dvc.yaml in {project}: set ACCIDENTS_PROJECT_DIR to the product's project folder"
        )
    return project


@contextmanager
def pipeline_lock(project: Path, report: Callable[[str], None]) -> Iterator[None]:
    """Hold the project's pipeline lock, waiting for another run's stage to finish first.

    A flock: the kernel releases it when the holder exits, even if it crashes.
    """
    path = project / PIPELINE_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report(f"another pipeline run holds {path}; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def reproduce_stage(project: Path, stage: str, report: Callable[[str], None],
                    force: bool = False) -> None:
    """`dvc repro --single-item <stage>` in `project`, each output line passed to `report`."""
    command = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    if force:
        command.append("--force")
    tail: deque[str] = deque(maxlen=FAILURE_TAIL_LINES)
    with pipeline_lock(project, report):
        report(f"running {' '.join(command[2:])} in {project}")
        process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:  # type: ignore[union-attr]  # PIPE was requested
            tail.append(line.rstrip())
            report(line.rstrip())
        returncode = process.wait()
    if returncode != 0:
        raise StageFailed(f"dvc stage {stage} failed (exit {returncode}):\n" + "\n".join(tail))
