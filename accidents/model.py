"""The product's model: a fitted estimator with its decision threshold, contract and versions."""

from __future__ import annotations

import logging
import platform
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from accidents.features import FEATURES
from accidents.files import atomic_path

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A model file cannot be used: missing, corrupt, or saved by other library versions."""


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


@dataclass
class PriorityModel:
    """A classifier of accidents into priority (1) or not (0).

    The estimator is fitted on arrays whose columns follow `features`; frames are reordered
    by name before prediction, so a caller's column order never matters.
    """

    estimator: Any
    kind: str
    threshold: float
    features: tuple[str, ...] = FEATURES
    params: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    run_id: str | None = None
    model_uri: str | None = None

    def matrix(self, rows: pd.DataFrame | np.ndarray | list) -> np.ndarray:
        """Rows as a float matrix in the model's feature order."""
        if isinstance(rows, pd.DataFrame):
            return rows[list(self.features)].to_numpy(dtype="float64")
        matrix = np.asarray(rows, dtype="float64")
        if matrix.ndim != 2 or matrix.shape[1] != len(self.features):
            raise ValueError(f"expected rows of {len(self.features)} features, got {matrix.shape}")
        return matrix

    def predict_proba(self, rows: pd.DataFrame | np.ndarray | list) -> np.ndarray:
        """Probability that each accident needs a priority response."""
        return self.estimator.predict_proba(self.matrix(rows))[:, 1]

    def predict(self, rows: pd.DataFrame | np.ndarray | list) -> np.ndarray:
        return (self.predict_proba(rows) >= self.threshold).astype("int64")


def save_model(model: PriorityModel, path: Path) -> None:
    """Write the model file atomically: readers see the old file or the new one, never half."""
    with atomic_path(path) as temporary:
        joblib.dump(model, temporary)
    log.info("saved %s model to %s", model.kind, path)


def load_model(path: Path) -> PriorityModel:
    """Load a model file, refusing one written by other library versions."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no model file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            model = joblib.load(path)
    except InconsistentVersionWarning as warning:
        raise ModelLoadError(
            f"{path}: saved with scikit-learn {warning.original_sklearn_version}, this environment "
            f"has {sklearn.__version__}; install the saved version or retrain"
        ) from warning
    except Exception as error:
        raise ModelLoadError(
            f"{path}: unreadable model file ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(model, PriorityModel):
        raise ModelLoadError(f"{path}: not a model of the product ({type(model).__name__})")
    _check_versions(model, path)
    return model


def _check_versions(model: PriorityModel, path: Path) -> None:
    current = library_versions()
    for library in ("scikit-learn", "numpy"):
        if model.versions.get(library) != current[library]:
            raise ModelLoadError(
                f"{path}: saved with {library} {model.versions.get(library)}, this environment "
                f"has {current[library]}; install the saved version or retrain"
            )
