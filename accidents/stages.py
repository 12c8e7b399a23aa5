"""The five pipeline stages as plain functions: DVC, Prefect and Airflow all call these.

MLflow, matplotlib and the registry are imported inside the stages that use them: each DVC
stage is a fresh process, and those imports cost seconds that import_data, preprocess and
predict do not need to pay.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from accidents.features import PRIORITY_LABELS
from accidents.files import atomic_path
from accidents.importing import import_data
from accidents.model import load_model, save_model
from accidents.params import load_params
from accidents.preprocessing import load_split, preprocess
from accidents.raw import read_raw_tables
from accidents.settings import Settings, get_settings
from accidents.training import train_model

log = logging.getLogger(__name__)

PLOTS = ("roc_curve", "confusion_matrix", "feature_importance")


def _params(settings: Settings, stage: str) -> dict:
    return load_params(stage, settings.project_dir / "params.yaml")


def run_import_data(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    params = _params(settings, "import_data")
    import_data(settings.raw_dir, int(params["year"]), settings.data_source,
                settings.download_base, settings.download_timeout)


def run_preprocess(settings: Settings | None = None) -> dict[str, int]:
    settings = settings or get_settings()
    params = _params(settings, "preprocess")
    year = int(_params(settings, "import_data")["year"])
    tables = read_raw_tables(settings.raw_dir, year)
    return preprocess(tables, settings.preprocessed_dir, float(params["test_size"]),
                      int(params["seed"]))


def run_train(settings: Settings | None = None) -> str:
    """Fit the candidate, log it to MLflow and write it to models/; return the run id."""
    import mlflow

    from accidents import registry

    settings = settings or get_settings()
    params = _params(settings, "train")
    x_train, _, y_train, _ = load_split(settings.preprocessed_dir)
    experiment_id = registry.use_tracking_store(settings)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        model = train_model(x_train, y_train, params)
        model.run_id = run.info.run_id
        mlflow.log_params({**model.params, "threshold": model.threshold,
                           "train_rows": len(x_train)})
        mlflow.set_tags({"model_kind": model.kind, **model.versions})
        logged = mlflow.sklearn.log_model(model.estimator, name="model",
                                          skops_trusted_types=registry.SKOPS_TRUSTED_TYPES)
        model.model_uri = logged.model_uri
    save_model(model, settings.candidate_model_path)
    return run.info.run_id


def run_evaluate(settings: Settings | None = None) -> dict:
    """Score candidate and production on the same test part; promote on a clear gain."""
    import mlflow

    from accidents import evaluation, registry

    settings = settings or get_settings()
    params = _params(settings, "evaluate")
    _, x_test, _, y_test = load_split(settings.preprocessed_dir)
    candidate = load_model(settings.candidate_model_path)
    candidate_proba = candidate.predict_proba(x_test)
    candidate_metrics = evaluation.compute_metrics(y_test, candidate_proba, candidate.threshold)
    production_metrics = _production_metrics(settings, x_test, y_test)
    decision = evaluation.decide_promotion(
        candidate_metrics, production_metrics, float(params["min_improvement"])
    )
    report = {
        "decision": "promoted" if decision.promote else "kept production",
        "promoted": decision.promote,
        "reason": decision.reason,
        "min_improvement": float(params["min_improvement"]),
        "candidate": {"kind": candidate.kind, "threshold": candidate.threshold,
                      **candidate_metrics},
        "production": production_metrics,
        "run_id": candidate.run_id,
    }
    registry.use_tracking_store(settings)
    with mlflow.start_run(run_id=candidate.run_id):
        mlflow.log_metrics({f"test_{name}": value for name, value in candidate_metrics.items()})
        _log_plots(settings, candidate, x_test, y_test, candidate_proba, int(params["seed"]))
        mlflow.set_tag("decision", report["decision"])
    if decision.promote:
        report["registry_version"] = _promote(settings, candidate, candidate_metrics)
    settings.metrics_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(settings.metrics_dir / "evaluation.json") as temporary:
        temporary.write_text(json.dumps(report, indent=2) + "\n")
    log.info("evaluation: %s (%s)", report["decision"], decision.reason)
    return report


def _production_metrics(settings: Settings, x_test: pd.DataFrame, y_test) -> dict | None:
    from accidents import evaluation

    path = settings.production_model_path
    if not path.exists():
        return None
    try:
        production = load_model(path)
        probabilities = production.predict_proba(x_test)
    except Exception as error:  # any failure to score it makes it unusable, not the stage
        log.warning("production model unusable, the candidate will replace it: %s", error)
        return None
    return evaluation.compute_metrics(y_test, probabilities, production.threshold)


def _log_plots(settings: Settings, model, x_test, y_test, probabilities, seed: int) -> None:
    import mlflow

    from accidents import evaluation

    figures = {
        "roc_curve": evaluation.plot_roc(y_test, probabilities),
        "confusion_matrix": evaluation.plot_confusion(
            y_test, (probabilities >= model.threshold).astype(int)),
        "feature_importance": evaluation.plot_importance(model, x_test, y_test, seed),
    }
    plots_dir = settings.metrics_dir / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(plots_dir / f"{name}.png", dpi=80)
        mlflow.log_figure(figure, f"plots/{name}.png")


def _promote(settings: Settings, candidate, metrics: dict[str, float]) -> str:
    """Registry first, then the BentoML store, then the production file, then the alias:
    a failure at any step leaves the served model and the production file as they were."""
    from accidents import registry
    from accidents.bento_store import save_to_bento_store

    version = registry.register_version(settings, candidate.model_uri, metrics)
    save_to_bento_store(
        candidate, settings.model_name,
        {"registry_version": version, "run_id": candidate.run_id, "threshold": candidate.threshold,
         **{name: round(value, 4) for name, value in metrics.items()}},
    )
    save_model(candidate, settings.production_model_path)
    registry.set_production_alias(settings, version)
    return version


def run_predict(settings: Settings | None = None) -> Path:
    """Predictions of the production model for the test part."""
    settings = settings or get_settings()
    _, x_test, _, _ = load_split(settings.preprocessed_dir)
    model = load_model(settings.production_model_path)
    probabilities = model.predict_proba(x_test)
    classes = (probabilities >= model.threshold).astype(int)
    predictions = pd.DataFrame({
        "priority": classes,
        "label": [PRIORITY_LABELS[value] for value in classes],
        "probability": probabilities.round(6),
    })
    target = settings.data_dir / "predictions" / "predictions.csv"
    with atomic_path(target) as temporary:
        predictions.to_csv(temporary, index=False)
    log.info("wrote %d predictions to %s", len(predictions), target)
    return target
