"""Metrics and the promotion rule (relative gain of more than `min_improvement`)."""

from __future__ import annotations

import numpy as np
import pytest

from accidents.evaluation import compute_metrics, decide_promotion

PRODUCTION = {"roc_auc": 0.80, "f1": 0.60}


def test_compute_metrics_values() -> None:
    truth = np.array([0, 0, 1, 1])
    probabilities = np.array([0.1, 0.6, 0.4, 0.9])

    metrics = compute_metrics(truth, probabilities, threshold=0.5)

    assert metrics == pytest.approx(
        {"roc_auc": 0.75, "f1": 0.5, "precision": 0.5, "recall": 0.5, "accuracy": 0.5}
    )


def test_decide_promotion_first_model_promotes() -> None:
    decision = decide_promotion({"roc_auc": 0.5, "f1": 0.1}, None, 0.01)

    assert decision.promote and decision.reason == "no production model yet"


def test_decide_promotion_needs_more_than_one_percent_relative() -> None:
    exactly_one_percent = {"roc_auc": 0.808, "f1": 0.606}
    just_above = {"roc_auc": 0.8081, "f1": 0.60}

    assert not decide_promotion(exactly_one_percent, PRODUCTION, 0.01).promote
    decision = decide_promotion(just_above, PRODUCTION, 0.01)
    assert decision.promote
    assert decision.reason.startswith("roc_auc improved by more than 1%")


def test_decide_promotion_on_f1_alone() -> None:
    decision = decide_promotion({"roc_auc": 0.79, "f1": 0.62}, PRODUCTION, 0.01)

    assert decision.promote and "f1 +3.33%" in decision.reason


def test_decide_promotion_keeps_production_when_worse() -> None:
    decision = decide_promotion({"roc_auc": 0.70, "f1": 0.50}, PRODUCTION, 0.01)

    assert not decision.promote
    assert decision.reason == (
        "no metric improved by more than 1% (roc_auc -12.50%, f1 -16.67%)"
    )
