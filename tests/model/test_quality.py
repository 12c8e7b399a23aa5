"""Model quality on a small stratified subset of the public template's full 2021 split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from accidents import quality
from accidents.params import load_params
from accidents.preprocessing import load_split
from accidents.training import ESTIMATORS

REPO_ROOT = Path(__file__).resolve().parents[2]


def stratified_subset(x: pd.DataFrame, y: np.ndarray, size: int) -> tuple[pd.DataFrame,
                                                                          np.ndarray]:
    x_part, _, y_part, _ = train_test_split(x, y, train_size=size, stratify=y, random_state=0)
    return x_part.reset_index(drop=True), y_part


@pytest.fixture(scope="module")
def quality_rows(full_split_dir: Path) -> list[quality.QualityRow]:
    x_train, x_test, y_train, y_test = load_split(full_split_dir)
    x_train, y_train = stratified_subset(x_train, y_train, 6000)
    x_test, y_test = stratified_subset(x_test, y_test, 3000)
    params = load_params("train", REPO_ROOT / "params.yaml")
    return quality.measure_quality(x_train, y_train, x_test, y_test, params, latency_calls=20)


def test_measure_quality_scores_every_model_kind(quality_rows: list[quality.QualityRow]) -> None:
    by_name = {row.name: row for row in quality_rows}
    assert set(by_name) == {quality.SEED_BASELINE, *ESTIMATORS}
    for row in quality_rows:
        assert 0.75 < row.roc_auc < 1.0, row
        assert 0.5 < row.f1 < 1.0, row
        assert row.fit_seconds > 0 and row.latency_ms > 0, row


def test_measure_quality_keeps_the_seed_baseline_at_threshold_half(
        quality_rows: list[quality.QualityRow]) -> None:
    by_name = {row.name: row for row in quality_rows}
    assert by_name[quality.SEED_BASELINE].kind == "random_forest"
    assert by_name[quality.SEED_BASELINE].threshold == 0.5
    assert 0.05 <= by_name["hist_gradient_boosting"].threshold <= 0.95


def test_measure_quality_promoted_model_beats_the_seed_baseline(
        quality_rows: list[quality.QualityRow]) -> None:
    by_name = {row.name: row for row in quality_rows}
    promoted = load_params("train", REPO_ROOT / "params.yaml")["model"]
    assert by_name[promoted].roc_auc > by_name[quality.SEED_BASELINE].roc_auc
    assert by_name[promoted].f1 > by_name[quality.SEED_BASELINE].f1


def test_format_table_marks_the_promoted_configuration(
        quality_rows: list[quality.QualityRow]) -> None:
    table = quality.format_table(quality_rows, promoted="hist_gradient_boosting")
    lines = table.splitlines()
    assert lines[0].startswith("| configuration | AUC-ROC | F1 |")
    assert len(lines) == 2 + len(quality_rows)
    assert "| hist_gradient_boosting (promoted) | 0." in table


def test_main_without_split_names_the_missing_files(tmp_path: Path, capsys) -> None:
    assert quality.main(["--split-dir", str(tmp_path)]) == 1
    assert "missing X_train.csv, X_test.csv, y_train.csv, y_test.csv" in capsys.readouterr().err
