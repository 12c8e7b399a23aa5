"""The train stage: fit the chosen estimator and tune its decision threshold on validation data."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
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
#: Up to this many rows, walking all trees at once with numpy beats scikit-learn's loop over
#: trees (about 10x on one row); on large batches scikit-learn's compiled loop is faster.
WALK_MAX_ROWS = 64


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
    unknown = [name for name in columns if name not in FEATURES]
    if unknown:
        raise ValueError(f"params.yaml train: {TARGET_ENCODED} names unknown feature(s) "
                         f"{', '.join(map(str, unknown))}; choose among {', '.join(FEATURES)}")
    return TargetEncodedClassifier(estimator, tuple(columns), seed)


class TargetEncodedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier that sees code columns with many values (commune, département) as their
    smoothed priority rate in train; the other features pass through unchanged.

    Trees cannot split a code such as the INSEE commune number in a useful way, while its rate
    carries how severe accidents are there (rural roads against city streets). Fitting uses
    scikit-learn's `TargetEncoder`, cross-fitted so that no row sees its own label; prediction
    looks the fitted rates up directly (unknown codes get the overall rate), which costs
    microseconds where a `ColumnTransformer` pipeline cost about a millisecond a call.

    A gradient-boosting classifier is also flattened into node arrays after fitting, and a few
    rows are predicted by walking all its trees at once with numpy: scikit-learn loops over the
    trees in Python, about 10 µs a tree and call, which made the model the largest cost of a
    request to the service. Both give the same probabilities (a test holds them equal).
    """

    def __init__(self, classifier: ClassifierMixin, columns: tuple[str, ...] = (),
                 seed: int = 0) -> None:
        self.classifier = classifier
        self.columns = columns
        self.seed = seed

    def fit(self, matrix: np.ndarray, target: np.ndarray) -> TargetEncodedClassifier:
        positions = [FEATURES.index(name) for name in self.columns]
        encoder = TargetEncoder(
            target_type="binary",
            cv=StratifiedKFold(ENCODER_FOLDS, shuffle=True, random_state=self.seed),
        )
        encoded = np.array(matrix, dtype="float64")
        encoded[:, positions] = encoder.fit_transform(encoded[:, positions], target)
        self.positions_ = positions
        self.categories_ = [np.asarray(values, dtype="float64") for values in encoder.categories_]
        self.rates_ = [np.asarray(rates, dtype="float64") for rates in encoder.encodings_]
        self.overall_rate_ = float(encoder.target_mean_)
        self.classifier_ = clone(self.classifier).fit(encoded, target)
        self.classes_ = self.classifier_.classes_
        self.n_features_in_ = encoded.shape[1]
        self.trees_ = flatten_trees(self.classifier_)
        return self

    def encode(self, matrix: np.ndarray) -> np.ndarray:
        """The rows with each code column replaced by its rate in train."""
        encoded = np.array(matrix, dtype="float64", ndmin=2)
        if encoded.ndim != 2 or encoded.shape[1] != self.n_features_in_:
            raise ValueError(f"expected rows of {self.n_features_in_} features, "
                             f"got shape {encoded.shape}")
        for position, categories, rates in zip(self.positions_, self.categories_, self.rates_,
                                               strict=True):
            codes = encoded[:, position]
            index = np.searchsorted(categories, codes).clip(max=len(categories) - 1)
            encoded[:, position] = np.where(categories[index] == codes, rates[index],
                                            self.overall_rate_)
        return encoded

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        encoded = self.encode(matrix)
        if self.trees_ is None or len(encoded) > WALK_MAX_ROWS:
            return self.classifier_.predict_proba(encoded)
        priority = 1.0 / (1.0 + np.exp(-walk_trees(self.trees_, encoded)))
        return np.column_stack([1.0 - priority, priority])

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(matrix), axis=1)]


def flatten_trees(classifier: ClassifierMixin) -> dict[str, np.ndarray] | None:
    """The trees of a fitted binary `HistGradientBoostingClassifier` as flat node arrays
    (None for other classifiers). A leaf points to itself on both sides, so a walk of the
    deepest tree's depth ends every row on a leaf of every tree."""
    if not isinstance(classifier, HistGradientBoostingClassifier) or len(classifier.classes_) != 2:
        return None
    if classifier.is_categorical_ is not None and classifier.is_categorical_.any():
        return None
    trees = [predictors[0].nodes for predictors in classifier._predictors]
    sizes = np.array([len(nodes) for nodes in trees])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nodes = np.concatenate(trees)
    own = np.arange(len(nodes))
    leaf = nodes["is_leaf"].astype(bool)
    return {
        "roots": offsets,
        "feature": np.where(leaf, 0, nodes["feature_idx"]).astype("intp"),
        "threshold": np.where(leaf, np.inf, nodes["num_threshold"]),
        "missing_left": nodes["missing_go_to_left"].astype(bool),
        "left": np.where(leaf, own, nodes["left"] + np.repeat(offsets, sizes)).astype("intp"),
        "right": np.where(leaf, own, nodes["right"] + np.repeat(offsets, sizes)).astype("intp"),
        "value": nodes["value"].astype("float64"),
        "depth": np.array(int(nodes["depth"].max())),
        "baseline": np.array(float(np.ravel(classifier._baseline_prediction)[0])),
    }


def walk_trees(trees: dict[str, np.ndarray], matrix: np.ndarray) -> np.ndarray:
    """The raw score (log-odds) of each row: the baseline plus one leaf value per tree.

    As scikit-learn does, a row goes left when its value is at most the node's threshold, and
    a missing value goes the side the node learnt for missing values.
    """
    rows = np.arange(len(matrix))[:, None]
    node = np.broadcast_to(trees["roots"], (len(matrix), len(trees["roots"])))
    for _ in range(int(trees["depth"])):
        values = matrix[rows, trees["feature"][node]]
        left = np.where(np.isnan(values), trees["missing_left"][node],
                        values <= trees["threshold"][node])
        node = np.where(left, trees["left"][node], trees["right"][node])
    return trees["value"][node].sum(axis=1) + float(trees["baseline"])


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
