"""Model quality of each model kind on a train/test split, beside the seed project's baseline.

`python -m accidents.quality [--split-dir DIR]` trains every model kind with the repository's
`params.yaml` on the split's train part (the decision threshold is tuned on validation data
carved from train, never on the test part) and prints AUC-ROC, F1, threshold, fit time and
single-row latency on its test part. The default split is the public template's full 2021
split in `$ACCIDENTS_SHARED_DATA/baac-2021-preprocessed` (default `../shared/data`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from accidents.evaluation import compute_metrics
from accidents.model import PriorityModel
from accidents.params import load_params
from accidents.preprocessing import load_split
from accidents.settings import get_settings
from accidents.training import ESTIMATORS, train_model

SPLIT_NAME = "baac-2021-preprocessed"
SEED_BASELINE = "seed baseline"
LATENCY_CALLS = 200


@dataclass(frozen=True)
class QualityRow:
    """How one model configuration scores on the test part, and what it costs."""

    name: str
    kind: str
    roc_auc: float
    f1: float
    threshold: float
    fit_seconds: float
    latency_ms: float


def configurations(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Train parameters per row of the table: the seed's RandomForest (default settings,
    threshold 0.5), then each model kind as configured in params.yaml."""
    seed_baseline = {"model": "random_forest", "seed": params["seed"], "tune_threshold": False,
                     "random_forest": {"n_jobs": -1}}
    return {SEED_BASELINE: seed_baseline,
            **{kind: {**params, "model": kind} for kind in ESTIMATORS}}


def single_row_latency_ms(model: PriorityModel, rows: np.ndarray,
                          calls: int = LATENCY_CALLS) -> float:
    """Median time of `predict_proba` on one row, with native thread pools limited to one
    thread as the service runs them (the seed's `n_jobs=-1` forest keeps its own threads)."""
    timings = []
    with threadpool_limits(1):
        model.predict_proba(rows[:1])
        for index in range(calls):
            row = rows[index % len(rows)][None, :]
            start = time.perf_counter()
            model.predict_proba(row)
            timings.append(time.perf_counter() - start)
    return float(np.median(timings) * 1000)


def measure_quality(x_train: pd.DataFrame, y_train: np.ndarray, x_test: pd.DataFrame,
                    y_test: np.ndarray, params: dict[str, Any],
                    latency_calls: int = LATENCY_CALLS) -> list[QualityRow]:
    """Train each configuration on the train part and score it on the test part."""
    results = []
    for name, train_params in configurations(params).items():
        start = time.perf_counter()
        model = train_model(x_train, y_train, train_params)
        fit_seconds = time.perf_counter() - start
        metrics = compute_metrics(y_test, model.predict_proba(x_test), model.threshold)
        latency = single_row_latency_ms(model, model.matrix(x_test), latency_calls)
        results.append(QualityRow(name, model.kind, metrics["roc_auc"], metrics["f1"],
                                  model.threshold, fit_seconds, latency))
    return results


def format_table(rows: list[QualityRow], promoted: str) -> str:
    """A Markdown table; the configuration that params.yaml promotes is marked."""
    lines = ["| configuration | AUC-ROC | F1 | threshold | fit (s) | 1-row predict (ms) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        name = f"{row.name} (promoted)" if row.name == promoted else row.name
        lines.append(f"| {name} | {row.roc_auc:.4f} | {row.f1:.4f} | {row.threshold:.2f} | "
                     f"{row.fit_seconds:.1f} | {row.latency_ms:.2f} |")
    return "\n".join(lines)


def default_split_dir() -> Path:
    shared = os.environ.get("ACCIDENTS_SHARED_DATA")
    base = Path(shared) if shared else get_settings().project_dir.parent / "shared" / "data"
    return base / SPLIT_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="accidents.quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split-dir", type=Path, default=None,
                        help="folder with X_train.csv, X_test.csv, y_train.csv, y_test.csv")
    parser.add_argument("--params", type=Path, default=None,
                        help="params.yaml to read the train section from (default: the project's)")
    arguments = parser.parse_args(argv)
    split_dir = arguments.split_dir or default_split_dir()
    missing = [name for name in ("X_train.csv", "X_test.csv", "y_train.csv", "y_test.csv")
               if not (split_dir / name).is_file()]
    if missing:
        sys.stderr.write(f"{split_dir}: missing {', '.join(missing)}; pass --split-dir or set "
                         "ACCIDENTS_SHARED_DATA\n")
        return 1
    params = load_params("train", arguments.params or get_settings().project_dir / "params.yaml")
    x_train, x_test, y_train, y_test = load_split(split_dir)
    rows = measure_quality(x_train, y_train, x_test, y_test, params)
    sys.stdout.write(f"Model quality on {split_dir.name}: {len(x_train)} train rows, "
                     f"{len(x_test)} test rows; thresholds tuned on validation carved from "
                     "train\n\n")
    sys.stdout.write(format_table(rows, promoted=params["model"]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
