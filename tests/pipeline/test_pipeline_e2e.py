"""The main job end to end on the real 2021 sample: DVC stages, MLflow, BentoML store, Prefect."""

from __future__ import annotations

import csv
import json
import shutil
import socket
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from accidents.features import FEATURES
from tests.conftest import Project, copy_project, make_project

pytestmark = pytest.mark.e2e
STAGES = ["import_data", "preprocess", "train", "evaluate", "predict"]


def _python(project: Project, code: str) -> str:
    return project.run(sys.executable, "-c", code).stdout


def test_pipeline_writes_contract_split(trained_project: Project) -> None:
    folder = trained_project.path / "data" / "preprocessed"

    x_train = pd.read_csv(folder / "X_train.csv")
    x_test = pd.read_csv(folder / "X_test.csv")

    assert list(x_train.columns) == list(FEATURES) == list(x_test.columns)
    assert (len(x_train), len(x_test)) == (630, 270)
    assert pd.read_csv(folder / "y_test.csv").columns.tolist() == ["grav"]


def test_pipeline_promotes_first_model_everywhere(trained_project: Project) -> None:
    report = json.loads((trained_project.path / "metrics" / "evaluation.json").read_text())

    assert report["promoted"] is True and report["reason"] == "no production model yet"
    assert report["registry_version"] == "1"
    assert 0.6 < report["candidate"]["roc_auc"] < 0.95
    assert (trained_project.path / "models" / "prod_model.joblib").is_file()
    stored = json.loads(trained_project.run("bentoml", "models", "list", "-o", "json").stdout)
    assert [entry["tag"].split(":")[0] for entry in stored] == ["accidents-priority"]


def test_pipeline_writes_predictions(trained_project: Project) -> None:
    predictions = pd.read_csv(trained_project.path / "data" / "predictions" / "predictions.csv")

    assert len(predictions) == 270
    assert set(predictions["priority"]) == {0, 1}
    assert predictions["probability"].between(0, 1).all()


def test_pipeline_logs_run_to_mlflow(trained_project: Project) -> None:
    code = """
import json, mlflow
from accidents.settings import get_settings
settings = get_settings()
mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
run = mlflow.search_runs(experiment_names=[settings.experiment], output_format="list")[0]
client = mlflow.MlflowClient()
artifacts = [item.path for item in client.list_artifacts(run.info.run_id, "plots")]
version = client.get_model_version_by_alias(settings.model_name, "production")
print(json.dumps({"metrics": run.data.metrics, "params": run.data.params,
                  "artifacts": artifacts, "version": str(version.version),
                  "decision": run.data.tags.get("decision")}))
"""
    logged = json.loads(_python(trained_project, code).strip().splitlines()[-1])

    assert {"test_roc_auc", "test_f1", "test_precision", "test_recall", "test_accuracy"} <= set(
        logged["metrics"])
    assert logged["params"]["model"] == "hist_gradient_boosting"
    assert sorted(logged["artifacts"]) == [
        "plots/confusion_matrix.png", "plots/feature_importance.png", "plots/roc_curve.png"]
    assert (logged["version"], logged["decision"]) == ("1", "promoted")


def test_registry_alias_loads_production_model(trained_project: Project) -> None:
    code = """
import numpy as np
from pathlib import Path
from accidents.model import load_model
from accidents.preprocessing import load_split
from accidents.registry import load_registered_production
from accidents.settings import get_settings
settings = get_settings()
estimator = load_registered_production(settings)
model = load_model(settings.production_model_path)
_, x_test, _, _ = load_split(settings.preprocessed_dir)
print(np.allclose(estimator.predict_proba(model.matrix(x_test))[:, 1], model.predict_proba(x_test)))
"""
    assert _python(trained_project, code).strip().endswith("True")


def test_dvc_metrics_show_prints_decision(trained_project: Project) -> None:
    shown = trained_project.dvc("metrics", "show").stdout

    assert "decision" in shown and "promoted" in shown and "candidate.roc_auc" in shown


def test_second_repro_does_nothing(trained_project: Project) -> None:
    before = {path: path.stat().st_mtime_ns
              for path in (trained_project.path / "models").iterdir()}

    output = trained_project.dvc("repro").stdout

    assert all(f"Stage '{stage}' didn't change, skipping" in output for stage in STAGES)
    assert "Running stage" not in output
    assert before == {path: path.stat().st_mtime_ns
                      for path in (trained_project.path / "models").iterdir()}


def test_changed_parameter_reruns_only_its_stages(trained_project: Project, tmp_path: Path) -> None:
    project = copy_project(trained_project, tmp_path / "copy")
    params = project.path / "params.yaml"
    params.write_text(params.read_text().replace("min_improvement: 0.01", "min_improvement: 0.05"))
    assert list(json.loads(project.dvc("status", "--json").stdout)) == ["evaluate"]

    params.write_text(params.read_text().replace("test_size: 0.3", "test_size: 0.25"))
    assert sorted(json.loads(project.dvc("status", "--json").stdout)) == [
        "evaluate", "preprocess"]


def test_forced_prefect_pipeline_without_gain_keeps_production(trained_project: Project,
                                                               tmp_path: Path) -> None:
    project = copy_project(trained_project, tmp_path / "copy")
    production = (project.path / "models" / "prod_model.joblib").read_bytes()
    code = ("import json; from flows.pipeline import pipeline; "
            "print(json.dumps(pipeline(force=True)))")

    result = project.run(sys.executable, "-c", code)

    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["promoted"] is False and report["decision"] == "kept production"
    assert report["candidate"]["roc_auc"] == report["production"]["roc_auc"]
    assert (project.path / "models" / "prod_model.joblib").read_bytes() == production
    for stage in STAGES:
        assert f"Running stage '{stage}'" in result.stderr
    assert result.stderr.count("Finished in state Completed()") == 11  # 5 tasks, 6 flows


def test_missing_column_stops_preprocess_naming_file_and_column(project: Project,
                                                                sample_dir: Path) -> None:
    source = project.path.parent / "source"
    shutil.copytree(sample_dir, source)
    with open(sample_dir / "lieux-2021.csv", encoding="utf-8", newline="") as handle:
        rows = [row[:-1] for row in csv.reader(handle, delimiter=";")]  # drop "vma"
    with open(source / "lieux-2021.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL).writerows(rows)

    result = project.dvc("repro", check=False, ACCIDENTS_DATA_SOURCE=str(source))

    assert result.returncode != 0
    assert "preprocess failed: lieux-2021.csv: missing column(s) vma" in result.stderr
    assert not (project.path / "data" / "preprocessed").exists()
    assert sorted(path.name for path in (project.path / "data").iterdir()) == [
        "README.md", "raw"]


def _internet_reachable() -> bool:
    try:
        socket.create_connection(("www.data.gouv.fr", 443), timeout=3).close()
    except OSError:
        return False
    return True


def test_offline_import_fails_fast_and_clearly(tmp_path: Path) -> None:
    if _internet_reachable():
        pytest.skip("data.gouv.fr is reachable: this test checks the offline behaviour")
    project = make_project(tmp_path / "project", source=None)
    started = time.monotonic()

    result = project.dvc("repro", "import_data", check=False)

    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "could not download caracteristiques-2021.csv" in result.stderr
    assert "set ACCIDENTS_DATA_SOURCE to a folder" in result.stderr
    assert [path.name for path in (project.path / "data").iterdir()] == ["README.md"]


def test_pipeline_runs_without_git(tmp_path: Path, sample_dir: Path) -> None:
    project = make_project(tmp_path / "project", sample_dir)
    shutil.rmtree(project.path / ".git")
    project.dvc("config", "core.no_scm", "true")

    project.dvc("repro")

    assert (project.path / "models" / "prod_model.joblib").is_file()
    assert "didn't change" in project.dvc("repro").stdout
