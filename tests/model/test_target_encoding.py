"""Target encoding of code columns inside the trained estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from accidents.features import FEATURES
from accidents.preprocessing import load_split
from accidents.training import (
    WALK_MAX_ROWS,
    TargetEncodedClassifier,
    build_estimator,
    train_model,
)

PARAMS = {
    "model": "hist_gradient_boosting", "seed": 7, "tune_threshold": True, "validation_size": 0.2,
    "hist_gradient_boosting": {"target_encoded": ["com", "dep"], "max_iter": 30},
}


@pytest.fixture(scope="module")
def small_split(full_split_dir: Path):
    x_train, x_test, y_train, _ = load_split(full_split_dir)
    return x_train.iloc[:3000], y_train[:3000], x_test.iloc[:200]


def test_build_estimator_without_target_encoding_is_the_bare_estimator() -> None:
    estimator = build_estimator("hist_gradient_boosting", {"max_iter": 10}, seed=1)
    assert not isinstance(estimator, TargetEncodedClassifier)
    assert estimator.max_iter == 10


def test_build_estimator_with_unknown_column_names_it() -> None:
    with pytest.raises(ValueError, match="target_encoded names unknown feature.*commune"):
        build_estimator("hist_gradient_boosting", {"target_encoded": ["commune"]}, seed=1)


def test_train_model_with_target_encoding_is_deterministic_for_a_seed(small_split) -> None:
    x_train, y_train, x_test = small_split
    first = train_model(x_train, y_train, PARAMS)
    second = train_model(x_train, y_train, PARAMS)
    assert isinstance(first.estimator, TargetEncodedClassifier)
    assert first.threshold == second.threshold
    np.testing.assert_array_equal(first.predict_proba(x_test), second.predict_proba(x_test))


def test_train_model_with_target_encoding_maps_an_unseen_commune_to_the_overall_rate(
        small_split) -> None:
    x_train, y_train, x_test = small_split
    model = train_model(x_train, y_train, PARAMS)
    row = x_test.iloc[:1].copy()
    row["com"] = 99999
    encoded = model.estimator.encode(model.matrix(row))
    assert encoded.shape == (1, len(FEATURES))
    assert encoded[0, FEATURES.index("com")] == pytest.approx(y_train.mean())
    assert 0.0 < model.predict_proba(row)[0] < 1.0


def test_encode_gives_the_rates_of_scikit_learns_target_encoder(small_split) -> None:
    x_train, y_train, x_test = small_split
    model = train_model(x_train, y_train, {**PARAMS, "tune_threshold": False})
    columns = [FEATURES.index("com"), FEATURES.index("dep")]
    reference = TargetEncoder(target_type="binary",
                              cv=StratifiedKFold(5, shuffle=True, random_state=PARAMS["seed"]))
    reference.fit(model.matrix(x_train)[:, columns], y_train)
    rows = model.matrix(x_test)
    rows[:5, columns[0]] = 99999  # communes that train never saw
    np.testing.assert_allclose(model.estimator.encode(rows)[:, columns],
                               reference.transform(rows[:, columns]))
    untouched = [position for position in range(len(FEATURES)) if position not in columns]
    np.testing.assert_array_equal(model.estimator.encode(rows)[:, untouched], rows[:, untouched])


def test_predict_proba_walking_the_trees_equals_scikit_learn(small_split) -> None:
    x_train, y_train, x_test = small_split
    model = train_model(x_train, y_train, {**PARAMS, "tune_threshold": False})
    estimator = model.estimator
    assert estimator.trees_ is not None
    rows = model.matrix(x_test)
    rows[:7, FEATURES.index("secu1")] = np.nan  # missing values take the learnt side
    rows[7:9, FEATURES.index("lat")] = np.nan
    reference = estimator.classifier_.predict_proba(estimator.encode(rows))
    for start in range(0, len(rows), WALK_MAX_ROWS):  # small batches: the numpy walk
        chunk = slice(start, start + WALK_MAX_ROWS)
        np.testing.assert_allclose(estimator.predict_proba(rows[chunk]), reference[chunk],
                                   rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(estimator.predict_proba(rows[0]), reference[:1], rtol=1e-12)
    assert len(rows) > WALK_MAX_ROWS
    np.testing.assert_array_equal(estimator.predict_proba(rows), reference)


def test_predict_proba_with_wrong_width_names_the_shape(small_split) -> None:
    x_train, y_train, _ = small_split
    model = train_model(x_train, y_train, {**PARAMS, "tune_threshold": False})
    with pytest.raises(ValueError, match=r"expected rows of 28 features, got shape \(1, 27\)"):
        model.estimator.predict_proba(np.zeros((1, 27)))
