"""The accident table: one row per accident, described by its most severe victim."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from accidents.features import FEATURES, TARGET
from accidents.preprocessing import build_accidents, learn_fill_values, preprocess
from accidents.raw import read_raw_tables
from tests.raw_tables import write_raw_tables


@pytest.fixture
def accidents(tmp_path: Path) -> pd.DataFrame:
    return build_accidents(read_raw_tables(write_raw_tables(tmp_path), 2021))


def test_build_accidents_has_contract_columns_in_order(accidents: pd.DataFrame) -> None:
    assert list(accidents.columns) == [*FEATURES, TARGET]
    assert accidents.index.tolist() == [202100000001 + i for i in range(5)]


def test_build_accidents_marks_impossible_ages_missing(accidents: pd.DataFrame) -> None:
    # Defect (a): ages below 0 or above 120 were meant to become missing but were kept.
    assert math.isnan(accidents.loc[202100000003, "victim_age"])  # born 1890: 131
    assert math.isnan(accidents.loc[202100000004, "victim_age"])  # born 2025: -4
    assert accidents.loc[202100000001, "victim_age"] == 43


def test_build_accidents_ranks_killed_above_hospitalised(accidents: pd.DataFrame) -> None:
    # Defect (b): the killed victim (born 1978, woman, in the catv-33 vehicle) describes
    # accident 1, not the hospitalised one (born 2000, man, catv 7).
    victim = accidents.loc[202100000001]
    assert (victim["victim_age"], victim["sexe"], victim["secu1"]) == (43, 2, 1)
    assert (victim["catv"], victim["obsm"], victim["motor"]) == (1, 9, 1)
    assert victim[TARGET] == 1


def test_build_accidents_all_unscathed_is_not_priority(accidents: pd.DataFrame) -> None:
    # Defect (c): an accident whose victims are all unscathed was labelled priority.
    assert accidents.loc[202100000002, TARGET] == 0
    assert accidents[TARGET].tolist() == [1, 0, 1, 0, 1]


def test_build_accidents_keeps_one_row_for_several_lieux(accidents: pd.DataFrame) -> None:
    # Defect (d): the join with lieux duplicated accidents with several lieux rows.
    assert accidents.index.is_unique
    assert accidents.loc[202100000004, ["catr", "vma"]].tolist() == [3, 90]


def test_build_accidents_recodes_like_the_seed(accidents: pd.DataFrame) -> None:
    # The seed's inplace re-codings did nothing under pandas 3 copy-on-write: pin each value.
    assert accidents["catv"].tolist()[:2] == [1, pytest.approx(math.nan, nan_ok=True)]
    assert accidents.loc[202100000004, "catv"] == 2  # catv 7 -> group 2
    assert accidents["atm"].tolist()[:2] == [0, 1]  # 1 normal -> 0, 2 rain -> 1
    assert math.isnan(accidents.loc[202100000003, "atm"])  # -1 not filled in
    assert accidents.loc[202100000004, "atm"] == 0  # 8 overcast -> 0
    assert math.isnan(accidents.loc[202100000002, "motor"])  # motor 0 undetermined


def test_build_accidents_reads_corsica_commas_and_hours(accidents: pd.DataFrame) -> None:
    assert accidents.loc[202100000002, ["dep", "com"]].tolist() == [201, 201004]
    assert accidents.loc[202100000004, ["dep", "com"]].tolist() == [202, 202033]
    assert accidents.loc[202100000001, ["lat", "long"]].tolist() == [44.038958, 4.348022]
    assert accidents["hour"].tolist() == [7, 14, 23, 0, 18]
    assert accidents.loc[202100000001, ["year_acc", "agg_", "int"]].tolist() == [2021, 1, 1]


def test_build_accidents_counts_victims_and_vehicles(accidents: pd.DataFrame) -> None:
    assert accidents["nb_victim"].tolist() == [2, 2, 1, 1, 2]
    assert accidents["nb_vehicules"].tolist() == [2, 1, 1, 1, 1]


def test_build_accidents_uses_most_severe_known_victim(accidents: pd.DataFrame) -> None:
    # Accident 5: the hospitalised pedestrian (catu 3) wins over the user whose grav is -1.
    assert accidents.loc[202100000005, ["catu", "sexe", "victim_age"]].tolist() == [3, 2, 71]


def test_learn_fill_values_uses_train_only() -> None:
    train = pd.DataFrame({name: [1.0, 1.0, 2.0] for name in FEATURES})
    train["victim_age"] = [20.0, 30.0, None]

    values = learn_fill_values(train)

    assert values["victim_age"] == 25.0  # median of train
    assert values["catv"] == 1.0  # most frequent code


def test_preprocess_real_sample_writes_stratified_split(sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "preprocessed"

    counts = preprocess(read_raw_tables(sample_dir, 2021), out, test_size=0.3, seed=42)

    x_train, x_test = pd.read_csv(out / "X_train.csv"), pd.read_csv(out / "X_test.csv")
    y_train, y_test = pd.read_csv(out / "y_train.csv"), pd.read_csv(out / "y_test.csv")
    assert counts == {"X_train": 630, "X_test": 270}
    assert list(x_train.columns) == list(FEATURES) == list(x_test.columns)
    assert list(y_train.columns) == [TARGET]
    assert not x_train.isna().any().any() and not x_test.isna().any().any()
    assert abs(y_train[TARGET].mean() - y_test[TARGET].mean()) < 0.01
    assert 0.34 < y_test[TARGET].mean() < 0.38
    fill = json.loads((out / "fill_values.json").read_text())
    assert set(fill) == set(FEATURES)


def test_preprocess_is_deterministic(sample_dir: Path, tmp_path: Path) -> None:
    tables = read_raw_tables(sample_dir, 2021)
    preprocess(tables, tmp_path / "a", 0.3, 42)
    preprocess(tables, tmp_path / "b", 0.3, 42)

    for name in ("X_train.csv", "X_test.csv", "y_test.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_preprocess_failure_keeps_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "preprocessed"
    out.mkdir()
    (out / "X_train.csv").write_text("previous")
    tables = read_raw_tables(write_raw_tables(tmp_path / "raw"), 2021)
    tables["usagers"]["grav"] = 1.0  # everyone unscathed: a single class cannot be split

    with pytest.raises(ValueError, match="single class"):
        preprocess(tables, out, 0.3, 42)

    assert [path.name for path in out.iterdir()] == ["X_train.csv"]
    assert (out / "X_train.csv").read_text() == "previous"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["preprocessed", "raw"]
