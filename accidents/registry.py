"""MLflow's tracking store and model registry: runs, versions and the production alias."""

from __future__ import annotations

import logging
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from accidents.settings import Settings

log = logging.getLogger(__name__)

#: Types of our own fitted estimators that skops (MLflow's sklearn format) must be told to load.
SKOPS_TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # The wrapper that target-encodes code columns (params.yaml `target_encoded`).
    "accidents.training.TargetEncodedClassifier",
]


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
