"""Retrains killed with SIGKILL at random points, the promotion included: the served model
(BentoML's `accidents-priority:latest`) and the production file stay loadable, and change only
to the promoted candidate; what a killed writer left is taken away by the next run.

The stages run as a retrain runs them (`python -m accidents.cli <stage>` in the project, here a
private copy whose evaluate stage promotes any candidate), without the server around them.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from accidents.files import TEMPORARY_NAME
from accidents.model import load_model
from tests.conftest import Project
from tests.service.conftest import private_copy

pytestmark = pytest.mark.e2e

MODEL_NAME = "accidents-priority"
SEED = 20210
TRAIN_KILLS = 2
RANDOM_EVALUATE_KILLS = 14
#: Log lines of the promotion, in order: MLflow registers, BentoML saves, the file follows.
PROMOTION_TRIGGERS = ("Created version", "BentoML: saved")
TRIGGERED_KILLS_EACH = 2


@dataclass(frozen=True)
class Served:
    version: str
    run_id: str | None
    digest: str
    production_run_id: str | None


@dataclass
class Trial:
    stage: str
    when: str
    returncode: int
    output: str
    seconds: float
    leftovers: list[Path] = field(default_factory=list)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def served(project: Project) -> Served:
    """What the service would load now; fails the test if it cannot be loaded."""
    store = project.path / ".bentoml" / "models" / MODEL_NAME
    version = (store / "latest").read_text().strip()
    assert (store / version / "model.yaml").is_file(), f"{version} is not a complete entry"
    model = load_model(store / version / "model.joblib")
    production = load_model(project.path / "models" / "prod_model.joblib")
    return Served(version, model.run_id, digest(store / version / "model.joblib"),
                  production.run_id)


def leftovers(project: Project) -> list[Path]:
    """Temporaries of atomic writes, and BentoML store entries without their model.yaml."""
    found = []
    for folder in ("models", "metrics", "data"):
        found += sorted((project.path / folder).rglob("*.tmp"))
    store = project.path / ".bentoml" / "models" / MODEL_NAME
    found += [entry for entry in sorted(store.iterdir())
              if entry.is_dir() and not (entry / "model.yaml").is_file()]
    return found


def run_stage(project: Project, stage: str, kill_after: float | None = None,
              trigger: str | None = None, trigger_delay: float = 0.0) -> Trial:
    """Run a stage; SIGKILL its process group `kill_after` seconds after the start, or
    `trigger_delay` seconds after it prints `trigger`."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "accidents.cli", stage], cwd=project.path, env=project.env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if trigger is not None and trigger in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if trigger is not None:
        seen.wait(timeout=300)
        time.sleep(trigger_delay)
        when = f"{trigger_delay:.3f} s after {trigger!r}"
    elif kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            pass
        when = f"{kill_after:.2f} s after the start"
    else:
        when = "not killed"
    if when != "not killed" and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    returncode = process.wait(timeout=300)
    reader.join(timeout=30)
    return Trial(stage, when, returncode, "".join(lines), time.monotonic() - started)


@pytest.fixture(scope="module")
def kill_project(trained_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = private_copy(trained_project, tmp_path_factory.mktemp("kills") / "project")
    params_path = project.path / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["evaluate"]["min_improvement"] = -1.0  # every completed evaluate promotes
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    return project


def check_served(trial: Trial, before: Served, after: Served, candidate_run_id: str) -> None:
    """Unchanged unless the promotion reached BentoML's store, and then the candidate."""
    context = f"{trial.stage} killed {trial.when}:\n{trial.output[-2000:]}"
    if after.version == before.version:
        assert after.digest == before.digest, context
    else:
        assert after.run_id == candidate_run_id, context
    if "evaluation: promoted" in trial.output:
        assert after.version != before.version, context
    assert after.production_run_id in (before.production_run_id, candidate_run_id), context


def test_killed_retrains_keep_served_model_loadable(kill_project: Project,
                                                    capsys: pytest.CaptureFixture) -> None:
    random.seed(SEED)
    # A complete train and evaluate first (the copy has an MLflow store of its own, so it needs
    # a candidate of its own): they tell how long each stage takes here.
    durations = {}
    for stage in ("train", "evaluate"):
        calibration = run_stage(kill_project, stage)
        assert calibration.returncode == 0, calibration.output[-3000:]
        durations[stage] = calibration.seconds
    assert "evaluation: promoted" in calibration.output
    duration = durations["evaluate"]

    plan: list[dict] = (
        [{"stage": "train", "kill_after": random.uniform(1.0, 0.9 * durations["train"])}
         for _ in range(TRAIN_KILLS)]
        + [{"stage": "evaluate", "kill_after": random.uniform(0.3, 0.97 * duration)}
           for _ in range(RANDOM_EVALUATE_KILLS)]
        + [{"stage": "evaluate", "trigger": trigger,
            "trigger_delay": random.uniform(0.0, 0.3) if trigger == "Created version" else 0.0}
           for trigger in PROMOTION_TRIGGERS for _ in range(TRIGGERED_KILLS_EACH)]
    )
    assert len(plan) == 20
    trials = []
    for step in plan:
        before = served(kill_project)
        candidate = load_model(kill_project.path / "models" / "candidate_model.joblib").run_id
        trial = run_stage(kill_project, **step)
        after = served(kill_project)
        check_served(trial, before, after, candidate)
        trial.leftovers = leftovers(kill_project)
        for path in trial.leftovers:
            # Whatever a killed writer left names that writer, so the next run can take it.
            match = TEMPORARY_NAME.fullmatch(path.name)
            assert match is not None, f"{path} left by {trial.stage} killed {trial.when}"
            with pytest.raises(ProcessLookupError):
                os.kill(int(match["pid"]), 0)
        trials.append(trial)

    killed = [trial for trial in trials if trial.returncode == -signal.SIGKILL]
    assert len(killed) >= 18, [(trial.stage, trial.when, trial.returncode) for trial in trials]
    in_promotion = [trial for trial in killed if "Created version" in trial.output
                    and "evaluation: promoted" not in trial.output]
    assert len(in_promotion) >= len(PROMOTION_TRIGGERS) * TRIGGERED_KILLS_EACH

    # The next run removes what the killed ones left, and promotes.
    recovery = run_stage(kill_project, "evaluate")
    assert recovery.returncode == 0, recovery.output[-3000:]
    left_before = {path for trial in trials for path in trial.leftovers if path.exists()}
    for path in left_before:
        assert f"removed {path}, left by an interrupted run" in recovery.output
    assert leftovers(kill_project) == []
    final = served(kill_project)
    candidate = load_model(kill_project.path / "models" / "candidate_model.joblib")
    assert final.run_id == final.production_run_id == candidate.run_id
    assert "evaluation: promoted" in recovery.output
    table = "\n".join(f"  {trial.stage:8} killed {trial.when:42} exit {trial.returncode:3} "
                      f"after {trial.seconds:5.1f} s, {len(trial.leftovers)} left"
                      for trial in trials)
    with capsys.disabled():
        sys.stdout.write(f"\nkill trials (train {durations['train']:.0f} s, evaluate "
                         f"{duration:.0f} s when not killed):\n{table}\n")
