"""The evaluate stage's logic: metrics, plots and the promotion decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from accidents.model import PriorityModel  # noqa: E402

PROMOTION_METRICS = ("roc_auc", "f1")
#: Gains within float noise of the threshold do not count as "more than" it.
TOLERANCE = 1e-9


def compute_metrics(y_true: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict:
    predicted = (probabilities >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y_true, probabilities)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "accuracy": float(accuracy_score(y_true, predicted)),
    }


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_promotion(
    candidate: dict[str, float], production: dict[str, float] | None, min_improvement: float
) -> Decision:
    """Promote when there is no production model, or when AUC-ROC or F1 improves by more
    than `min_improvement`, relative to the production value (0.01 means 1%)."""
    if production is None:
        return Decision(True, "no production model yet")
    gains = {
        name: (candidate[name] - production[name]) / production[name]
        if production[name] > 0 else float("inf") if candidate[name] > 0 else 0.0
        for name in PROMOTION_METRICS
    }
    summary = ", ".join(f"{name} {gain:+.2%}" for name, gain in gains.items())
    better = [name for name, gain in gains.items() if gain > min_improvement + TOLERANCE]
    if better:
        return Decision(True, f"{' and '.join(better)} improved by more than "
                              f"{min_improvement:.0%} ({summary})")
    return Decision(False, f"no metric improved by more than {min_improvement:.0%} ({summary})")


def plot_roc(y_true: np.ndarray, probabilities: np.ndarray) -> Figure:
    figure, axes = plt.subplots(figsize=(5, 5))
    RocCurveDisplay.from_predictions(y_true, probabilities, ax=axes, name="candidate")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axes.set_title("ROC curve on the test part")
    return figure


def plot_confusion(y_true: np.ndarray, predicted: np.ndarray) -> Figure:
    figure, axes = plt.subplots(figsize=(5, 5))
    ConfusionMatrixDisplay.from_predictions(
        y_true, predicted, display_labels=["not priority", "priority"], ax=axes, colorbar=False
    )
    axes.set_title("Confusion matrix on the test part")
    return figure


def plot_importance(model: PriorityModel, x_test: pd.DataFrame, y_test: np.ndarray,
                    seed: int, max_rows: int = 2000) -> Figure:
    """Permutation importance (drop in AUC-ROC) on at most `max_rows` test rows."""
    rows = np.random.default_rng(seed).permutation(len(x_test))[:max_rows]
    result = permutation_importance(
        model.estimator, model.matrix(x_test.iloc[rows]), y_test[rows], scoring="roc_auc",
        n_repeats=3, random_state=seed,
    )
    order = np.argsort(result.importances_mean)
    figure, axes = plt.subplots(figsize=(6, 8))
    axes.barh(np.array(model.features)[order], result.importances_mean[order])
    axes.set_xlabel("drop in AUC-ROC when shuffled")
    axes.set_title("Feature importance")
    figure.tight_layout()
    return figure
