"""The model file: feature order by name, atomic saves, loud failures on foreign files."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from accidents.features import FEATURES
from accidents.model import ModelLoadError, load_model, save_model
from accidents.training import best_threshold, train_model

PARAMS = {
    "model": "hist_gradient_boosting", "seed": 7, "tune_threshold": True, "validation_size": 0.25,
    "hist_gradient_boosting": {"max_iter": 30},
}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(rng.integers(0, 5, size=(400, len(FEATURES))), columns=list(FEATURES))
    target = ((rows["catu"] + rng.integers(0, 3, size=400)) > 4).to_numpy().astype(int)
    return rows.astype(float), target


def test_predict_orders_frame_columns_by_fitted_names(frames) -> None:
    rows, target = frames
    model = train_model(rows, target, PARAMS)
    shuffled = rows[list(reversed(FEATURES))]

    assert np.array_equal(model.predict_proba(shuffled), model.predict_proba(rows))
    assert np.array_equal(model.predict_proba(rows.to_numpy().tolist()), model.predict_proba(rows))


def test_predict_rejects_rows_of_wrong_width(frames) -> None:
    model = train_model(*frames, PARAMS)

    with pytest.raises(ValueError, match="expected rows of 28 features"):
        model.predict_proba([[1.0] * 27])


def test_train_model_is_deterministic_for_a_seed(frames) -> None:
    first, second = train_model(*frames, PARAMS), train_model(*frames, PARAMS)

    assert first.threshold == second.threshold
    assert np.array_equal(first.predict_proba(frames[0]), second.predict_proba(frames[0]))


def test_train_model_rejects_unknown_kind(frames) -> None:
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        train_model(*frames, {**PARAMS, "model": "svm"})


def test_best_threshold_maximises_f1() -> None:
    truth = np.array([0, 0, 1, 1, 1])
    probabilities = np.array([0.1, 0.3, 0.35, 0.6, 0.9])

    assert best_threshold(truth, probabilities) == pytest.approx(0.31)


def test_save_and_load_round_trip(frames, tmp_path: Path) -> None:
    model = train_model(*frames, PARAMS)
    path = tmp_path / "models" / "prod_model.joblib"

    save_model(model, path)

    loaded = load_model(path)
    assert np.array_equal(loaded.predict(frames[0]), model.predict(frames[0]))
    assert [item.name for item in path.parent.iterdir()] == ["prod_model.joblib"]


def test_load_model_refuses_other_library_versions(frames, tmp_path: Path) -> None:
    model = train_model(*frames, PARAMS)
    model.versions["scikit-learn"] = "0.24.2"
    path = tmp_path / "old.joblib"
    joblib.dump(model, path)

    with pytest.raises(ModelLoadError, match=r"saved with scikit-learn 0\.24\.2, this environment"):
        load_model(path)


def test_load_model_reports_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "prod_model.joblib"
    path.write_bytes(b"not a pickle")

    with pytest.raises(ModelLoadError, match="prod_model.joblib: unreadable model file"):
        load_model(path)


def test_load_model_refuses_foreign_object(tmp_path: Path) -> None:
    path = tmp_path / "prod_model.joblib"
    joblib.dump({"weights": [1, 2]}, path)

    with pytest.raises(ModelLoadError, match="not a model of the product"):
        load_model(path)
