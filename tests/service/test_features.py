"""Reading a prediction request's features: every shape the service accepts, every refusal."""

from __future__ import annotations

import numpy as np
import pytest

from accidents.features import FEATURES
from service.features import FeaturesError, read_features
from tests.service.conftest import SEED_FEATURES


def test_read_features_by_position_one_row() -> None:
    rows = read_features(SEED_FEATURES, max_rows=10)
    assert not rows.batch
    assert rows.matrix.shape == (1, 28)
    assert rows.matrix[0, FEATURES.index("lat")] == 48.60


def test_read_features_by_name_in_contract_order() -> None:
    named = dict(reversed(list(zip(FEATURES, SEED_FEATURES, strict=True))))
    rows = read_features(named, max_rows=10)
    np.testing.assert_array_equal(rows.matrix, read_features(SEED_FEATURES, 10).matrix)


def test_read_features_batch_of_both_kinds() -> None:
    rows = read_features([SEED_FEATURES, dict(zip(FEATURES, SEED_FEATURES, strict=True))], 10)
    assert rows.batch and rows.matrix.shape == (2, 28)
    np.testing.assert_array_equal(rows.matrix[0], rows.matrix[1])


@pytest.mark.parametrize("value, message", [
    ("10", "features must be a list of 28 numbers, an object of named features, or a list of "
           "rows; got the string '10'"),
    ([[1, 2], 3], "features mixes numbers and rows (features[1] is 3); send one row or a list "
                  "of rows"),
    ([SEED_FEATURES, "x"], "features mixes numbers and rows (features[1] is the string 'x')"),
    ([SEED_FEATURES, [1.0] * 27], "features[1] has 27 values; expected 28, in this order: place"),
    ([float("nan")] + SEED_FEATURES[1:], "features[0] (place) must be a finite number, got nan"),
    ([10**400] + SEED_FEATURES[1:], "features[0] (place) must be a finite number, got 1000"),
    ({**dict(zip(FEATURES, SEED_FEATURES, strict=True)), "lat": "48.6"},
     "features.lat must be a finite number, got the string '48.6'"),
    ({"place": 1, "zz": 2, "aa": 3}, "features must name exactly the 28 features; missing: "
                                     "catu, sexe"),
    ({"place": 1, "zz": 2, "aa": 3}, "; unknown: aa, zz"),
    ([SEED_FEATURES] * 11, "features has 11 rows; at most 10 per request"),
])
def test_read_features_refusal_names_problem(value, message: str) -> None:
    with pytest.raises(FeaturesError) as error:
        read_features(value, max_rows=10)
    assert message in str(error.value)
