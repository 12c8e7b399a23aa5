"""The train stage: fit the chosen estimator and tune its decision threshold on validation data."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import TargetEncoder

from accidents.features import FEATURES
from accidents.model import PriorityModel

log = logging.getLogger(__name__)

ESTIMATORS: dict[str, type[ClassifierMixin]] = {
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
#: Key of a model section in params.yaml that lists the code columns to target-encode.
TARGET_ENCODED = "target_encoded"
ENCODER_FOLDS = 5


def build_estimator(kind: str, hyperparameters: dict[str, Any], seed: int) -> ClassifierMixin:
    """The estimator of `kind`; code columns listed under `target_encoded` are encoded first."""
    if kind not in ESTIMATORS:
        raise ValueError(f"unknown model '{kind}'; choose one of {', '.join(ESTIMATORS)}")
    settings = dict(hyperparameters)
    encoded = list(settings.pop(TARGET_ENCODED, None) or [])
    estimator = ESTIMATORS[kind](random_state=seed, **settings)
    return with_target_encoding(estimator, encoded, seed) if encoded else estimator


def with_target_encoding(estimator: ClassifierMixin, columns: list[str],
                         seed: int) -> ClassifierMixin:
    """Replace code columns with many values (commune, département) by their smoothed priority
    rate in train, cross-fitted so that no row sees its own label; other columns pass through.

    Trees cannot split a code such as the INSEE commune number in a useful way, while its rate
    carries how severe accidents are there (rural roads against city streets).
    """
    unknown = [name for name in columns if name not in FEATURES]
    if unknown:
        raise ValueError(f"params.yaml train: {TARGET_ENCODED} names unknown feature(s) "
                         f"{', '.join(map(str, unknown))}; choose among {', '.join(FEATURES)}")
    encoder = TargetEncoder(
        target_type="binary",
        cv=StratifiedKFold(ENCODER_FOLDS, shuffle=True, random_state=seed),
    )
    codes = ColumnTransformer(
        [("target_encoded", encoder, [FEATURES.index(name) for name in columns])],
        remainder="passthrough",
    )
    return Pipeline([("codes", codes), ("classifier", estimator)])


def best_threshold(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """The probability cut that maximises F1; ties go to the lowest cut."""
    scores = [f1_score(y_true, probabilities >= cut, zero_division=0) for cut in THRESHOLD_GRID]
    return float(THRESHOLD_GRID[int(np.argmax(scores))])


def train_model(x_train: pd.DataFrame, y_train: np.ndarray,
                params: dict[str, Any]) -> PriorityModel:
    """Fit `params["model"]` on the training part.

    With `tune_threshold`, a stratified validation part carved from train picks the F1-best
    threshold; the estimator is then refitted on the whole training part.
    """
    kind, seed = params["model"], int(params["seed"])
    hyperparameters = dict(params.get(kind) or {})
    estimator = build_estimator(kind, hyperparameters, seed)
    matrix = x_train[list(FEATURES)].to_numpy(dtype="float64")
    threshold = 0.5
    if params.get("tune_threshold"):
        fit_x, val_x, fit_y, val_y = train_test_split(
            matrix, y_train, test_size=params["validation_size"], stratify=y_train,
            random_state=seed,
        )
        probe = clone(estimator).fit(fit_x, fit_y)
        threshold = best_threshold(val_y, probe.predict_proba(val_x)[:, 1])
    estimator.fit(matrix, y_train)
    log.info("trained %s on %d rows, threshold %.2f", kind, len(matrix), threshold)
    return PriorityModel(
        estimator=estimator, kind=kind, threshold=threshold,
        params={"model": kind, "seed": seed, **hyperparameters},
    )
