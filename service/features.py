"""Reading the features of a prediction request, with an error that names what is wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from accidents.features import FEATURES

SEED_EXAMPLE = [10, 3, 1, 0.0, 2021, 60, 2, 1, 1, 3, 2, 1, 1, 50, 7, 12, 5, 77, 77317, 2, 1, 0,
                6, 48.60, 2.89, 17, 2, 1]

_NUMBER = {"type": "number"}
_ROW_BY_POSITION = {
    "type": "array", "items": _NUMBER, "minItems": len(FEATURES), "maxItems": len(FEATURES),
    "description": "the 28 features in this order: " + ", ".join(FEATURES),
}
_ROW_BY_NAME = {
    "type": "object", "properties": {name: _NUMBER for name in FEATURES},
    "required": list(FEATURES), "additionalProperties": False,
    "description": "the 28 features by name",
}
FEATURES_SCHEMA = {
    "description": "One accident (28 finite numbers, by position or by name), or a batch of "
                   "accidents (a list of such rows).",
    "anyOf": [
        _ROW_BY_POSITION,
        _ROW_BY_NAME,
        {"type": "array", "items": {"anyOf": [_ROW_BY_POSITION, _ROW_BY_NAME]}, "minItems": 1},
    ],
}


class FeaturesError(ValueError):
    """The features of a request do not follow the product's contract."""


@dataclass(frozen=True)
class FeatureRows:
    matrix: np.ndarray
    batch: bool


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)[:40]


def _number(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise FeaturesError(f"{where} must be a finite number, got {_describe(value)}")


def _row_by_position(values: list, where: str) -> list[float]:
    if len(values) != len(FEATURES):
        raise FeaturesError(
            f"{where} has {len(values)} values; expected {len(FEATURES)}, in this order: "
            + ", ".join(FEATURES)
        )
    return [_number(value, f"{where}[{index}] ({FEATURES[index]})")
            for index, value in enumerate(values)]


def _row_by_name(values: dict, where: str) -> list[float]:
    missing = [name for name in FEATURES if name not in values]
    unknown = sorted(str(name) for name in values if name not in FEATURES)
    if missing or unknown:
        problems = []
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if unknown:
            problems.append("unknown: " + ", ".join(unknown))
        raise FeaturesError(f"{where} must name exactly the {len(FEATURES)} features; "
                            + "; ".join(problems))
    return [_number(values[name], f"{where}.{name}") for name in FEATURES]


def _row(value: Any, where: str) -> list[float]:
    if isinstance(value, dict):
        return _row_by_name(value, where)
    if isinstance(value, list):
        return _row_by_position(value, where)
    raise FeaturesError(f"{where} must be a row of {len(FEATURES)} numbers or an object of "
                        f"named features, got {_describe(value)}")


def read_features(value: Any, max_rows: int) -> FeatureRows:
    """One row (a list of 28 numbers or an object by name) or a batch (a list of rows)."""
    if isinstance(value, dict):
        return FeatureRows(np.array([_row_by_name(value, "features")]), batch=False)
    if not isinstance(value, list):
        raise FeaturesError(f"features must be a list of {len(FEATURES)} numbers, an object of "
                            f"named features, or a list of rows; got {_describe(value)}")
    if not value:
        raise FeaturesError("features is empty")
    nested = [isinstance(item, (list, dict)) for item in value]
    if not any(nested):
        return FeatureRows(np.array([_row_by_position(value, "features")]), batch=False)
    if not all(nested):
        position = nested.index(not nested[0])
        raise FeaturesError(f"features mixes numbers and rows (features[{position}] is "
                            f"{_describe(value[position])}); send one row or a list of rows")
    if len(value) > max_rows:
        raise FeaturesError(f"features has {len(value)} rows; at most {max_rows} per request")
    matrix = np.array([_row(item, f"features[{index}]") for index, item in enumerate(value)])
    return FeatureRows(matrix, batch=True)
