"""Where promoted models go: the MLflow tracking store and registry, and BentoML's model store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from accidents.model import PriorityModel, load_model, save_model
from accidents.settings import Settings

log = logging.getLogger(__name__)

#: Types of our own fitted estimators that skops (MLflow's sklearn format) must be told to load.
SKOPS_TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # The wrapper that target-encodes code columns (params.yaml `target_encoded`).
    "accidents.training.TargetEncodedClassifier",
]
BENTO_MODEL_FILE = "model.joblib"


def use_tracking_store(settings: Settings) -> str:
    """Point MLflow at the store of `settings` and return the experiment id."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(
        settings.experiment, artifact_location=settings.mlflow_artifact_location
    )


def register_version(settings: Settings, model_uri: str, metrics: dict[str, float]) -> str:
    """Register a logged model as a new version of the product's model; return its number."""
    client = MlflowClient(settings.mlflow_tracking_uri)
    version = mlflow.register_model(model_uri, settings.model_name)
    for name, value in metrics.items():
        client.set_model_version_tag(settings.model_name, version.version, name, f"{value:.4f}")
    return str(version.version)


def set_production_alias(settings: Settings, version: str) -> None:
    MlflowClient(settings.mlflow_tracking_uri).set_registered_model_alias(
        settings.model_name, settings.production_alias, version
    )
    log.info("MLflow: %s version %s is now @%s", settings.model_name, version,
             settings.production_alias)


def load_registered_production(settings: Settings) -> Any:
    """The production estimator from the registry, by alias (`models:/<name>@<alias>`)."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    return mlflow.sklearn.load_model(f"models:/{settings.model_name}@{settings.production_alias}")


def save_to_bento_store(model: PriorityModel, name: str, metadata: dict[str, Any]) -> str:
    """Save the model in BentoML's model store, where the service picks it up.

    BentoML writes the entry in a temporary folder and moves it into the store when the
    block ends, so the service never sees a half-saved model.
    """
    import bentoml

    with bentoml.models.create(
        name, labels={"kind": model.kind, "stage": "production"}, metadata=metadata,
    ) as entry:
        save_model(model, Path(entry.path_of(BENTO_MODEL_FILE)))
    log.info("BentoML: saved %s", entry.tag)
    return str(entry.tag)


def load_from_bento_store(tag: str) -> tuple[str, PriorityModel]:
    """Load a model of the product from BentoML's store; `tag` may be `<name>:latest`."""
    import bentoml

    entry = bentoml.models.get(tag)
    return str(entry.tag), load_model(Path(entry.path_of(BENTO_MODEL_FILE)))


def bento_store_dir() -> Path:
    """The folder of BentoML's model store in use: `$BENTOML_HOME/models`, or the models
    folder of the Bento being served (BentoML swaps the store object for that one)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    return Path(BentoMLContainer.model_store.get()._path)


def latest_bento_version(name: str) -> str | None:
    """The version `<name>:latest` points at, read cheaply from the store's pointer file.

    BentoML rewrites that file only after a model is completely saved, so a version read here
    is complete; None when the store has no such model (or the pointer is being rewritten).
    """
    try:
        version = (bento_store_dir() / name / "latest").read_text().strip()
    except OSError:
        return None
    return version or None
