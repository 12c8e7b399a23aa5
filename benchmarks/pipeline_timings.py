"""Wall time of each DVC stage in a throwaway copy of the project.

The copy imports the shared 2021 sample and runs every stage once (`dvc repro --single-item`),
then times a no-op `dvc repro` and what it is made of (DVC's start-up against its status
check); last it trains and evaluates on the public template's full split, which leaves a
promoted model in the copy's BentoML store for the serving benchmark.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import BIN, Project

STAGES = ("import_data", "preprocess", "train", "evaluate", "predict")
SPLIT_FILES = ("X_train.csv", "X_test.csv", "y_train.csv", "y_test.csv")
NO_OP_RUNS = 3


@dataclass(frozen=True)
class Timing:
    step: str
    seconds: float
    note: str = ""


def timed(project: Project, *command: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    finished = project.run(*command)
    return time.perf_counter() - start, finished


def time_stages(project: Project) -> list[Timing]:
    """Each stage of the pipeline on the data source of `project`, in order."""
    timings = []
    for stage in STAGES:
        seconds, _ = timed(project, str(BIN / "dvc"), "repro", "--single-item", stage)
        timings.append(Timing(f"{stage} (sample)", seconds, "`dvc repro --single-item`"))
    return timings


def time_no_op(project: Project) -> list[Timing]:
    """A `dvc repro` with nothing to do, and the two parts of its cost."""
    repro = []
    for _ in range(NO_OP_RUNS):
        seconds, finished = timed(project, str(BIN / "dvc"), "repro")
        if "didn't change" not in finished.stdout and "is up to date" not in finished.stdout:
            raise RuntimeError(f"the no-op `dvc repro` ran something:\n{finished.stdout}")
        repro.append(seconds)
    startup = statistics.median(timed(project, str(BIN / "dvc"), "version")[0]
                                for _ in range(NO_OP_RUNS))
    status = statistics.median(timed(project, str(BIN / "dvc"), "status")[0]
                               for _ in range(NO_OP_RUNS))
    return [
        Timing("no-op `dvc repro`", statistics.median(repro), f"median of {NO_OP_RUNS}"),
        Timing("  of which DVC start-up", startup, "`dvc version`"),
        Timing("  `dvc status` (start-up + hashing check)", status, ""),
    ]


def time_full_split(project: Project, split_dir: Path) -> list[Timing]:
    """`train` and `evaluate` on the full split, put in place of the preprocessed sample."""
    target = project.path / "data" / "preprocessed"
    for name in SPLIT_FILES:
        shutil.copyfile(split_dir / name, target / name)
    timings = []
    for stage in ("train", "evaluate"):
        seconds, _ = timed(project, str(BIN / "dvc"), "repro", "--single-item", stage)
        timings.append(Timing(f"{stage} (full split)", seconds, "`dvc repro --single-item`"))
    return timings


def format_timings(timings: list[Timing]) -> str:
    lines = ["| step | seconds | how |", "| --- | ---: | --- |"]
    lines += [f"| {timing.step} | {timing.seconds:.1f} | {timing.note} |" for timing in timings]
    return "\n".join(lines)
