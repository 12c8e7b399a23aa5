"""The preprocess stage: one row per accident, described by its most severe victim.

Four defects of the preprocessing the product inherited are fixed here (see the README):
(a) impossible victim ages become missing, (b) "killed" ranks above "hospitalised",
(c) an accident whose victims are all unscathed is not priority, (d) an accident with
several `lieux` rows stays one row.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from accidents.features import FEATURES, TARGET
from accidents.files import atomic_directory

log = logging.getLogger(__name__)

#: `usagers.grav` codes (1 unscathed, 2 killed, 3 hospitalised, 4 light) ranked by severity.
SEVERITY_RANK = {1: 1, 4: 2, 3: 3, 2: 4}
PRIORITY_MIN_RANK = 3

#: Vehicle categories grouped as the seed project did (the API's clients send these groups).
CATV_GROUPS = {
    0: 0, 1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 6, 7: 2, 8: 5, 9: 5, 10: 5, 11: 5, 12: 5, 13: 4,
    14: 4, 15: 4, 16: 4, 17: 4, 18: 3, 19: 3, 20: 4, 21: 4, 30: 1, 31: 1, 32: 1, 33: 1, 34: 1,
    35: 6, 36: 6, 37: 3, 38: 3, 39: 3, 40: 3, 41: 1, 42: 1, 43: 1, 50: 1, 60: 1, 80: 0, 99: 0,
}
#: Weather grouped as the seed project did: 0 normal or unknown, 1 adverse.
ATM_GROUPS = {1: 0, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 0, 9: 0}
#: Codes that mean "undetermined" besides -1.
ZERO_IS_MISSING = ("catv", "motor")
#: Features filled with the train median; the others are codes, filled with the train mode.
CONTINUOUS = ("victim_age", "lat", "long", "vma")
MAX_AGE = 120
CORSICA = {"2A": "201", "2B": "202"}


def build_accidents(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Join the four tables into one row per accident: FEATURES then TARGET, indexed by Num_Acc."""
    users = _rank_victims(tables["usagers"])
    victims = (
        users.sort_values(["Num_Acc", "rank"], ascending=[True, False], kind="mergesort")
        .drop_duplicates("Num_Acc")
        .set_index("Num_Acc")
    )
    victims = victims[victims["rank"] > 0]
    victims[TARGET] = (victims["rank"] >= PRIORITY_MIN_RANK).astype("int64")

    vehicles = _group_vehicles(tables["vehicules"])
    victims = victims.join(
        vehicles.drop_duplicates(["Num_Acc", "id_vehicule"]).set_index(["Num_Acc", "id_vehicule"]),
        on=["Num_Acc", "id_vehicule"],
    )
    places = tables["lieux"].drop_duplicates("Num_Acc").set_index("Num_Acc")
    frame = victims.join(places, how="inner").join(_describe_accidents(tables["caracteristiques"]),
                                                    how="inner")
    frame["nb_victim"] = tables["usagers"].groupby("Num_Acc").size()
    frame["nb_vehicules"] = tables["vehicules"].groupby("Num_Acc").size()
    frame["nb_vehicules"] = frame["nb_vehicules"].fillna(0)
    for column in ZERO_IS_MISSING:
        frame[column] = frame[column].mask(frame[column] == 0)
    frame = frame[[*FEATURES, TARGET]].astype("float64").astype({TARGET: "int64"})
    log.info("built %d accidents, %.1f%% priority", len(frame), 100 * frame[TARGET].mean())
    return frame.sort_index()


def _rank_victims(users: pd.DataFrame) -> pd.DataFrame:
    users = users.copy()
    users["rank"] = users["grav"].map(SEVERITY_RANK).fillna(0).astype("int64")
    users["year_acc"] = users["Num_Acc"] // 10**8
    age = users["year_acc"] - users["an_nais"]
    users["victim_age"] = age.mask((age < 0) | (age > MAX_AGE))
    return users


def _group_vehicles(vehicles: pd.DataFrame) -> pd.DataFrame:
    vehicles = vehicles.copy()
    vehicles["catv"] = vehicles["catv"].map(CATV_GROUPS).where(
        vehicles["catv"].isin(CATV_GROUPS.keys()), vehicles["catv"]
    )
    return vehicles[["Num_Acc", "id_vehicule", "catv", "obsm", "motor"]]


def _describe_accidents(accidents: pd.DataFrame) -> pd.DataFrame:
    frame = accidents.set_index("Num_Acc").rename(columns={"agg": "agg_"})
    frame = frame[~frame.index.duplicated()]
    frame["dep"] = pd.to_numeric(frame["dep"].replace(CORSICA), errors="coerce")
    frame["com"] = pd.to_numeric(
        frame["com"].str.replace(r"^2A", "201", regex=True).str.replace(r"^2B", "202", regex=True),
        errors="coerce",
    )
    frame["hour"] = pd.to_numeric(frame["hrmn"].str.split(":").str[0], errors="coerce")
    for column in ("lat", "long"):
        frame[column] = pd.to_numeric(frame[column].str.replace(",", "."), errors="coerce")
    frame["atm"] = frame["atm"].map(ATM_GROUPS)
    return frame.drop(columns=["an", "hrmn"])


def split_accidents(
    frame: pd.DataFrame, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Stratified, seeded train/test split of the accident table."""
    features, target = frame[list(FEATURES)], frame[TARGET]
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, stratify=target, random_state=seed
    )
    return x_train, x_test, y_train, y_test


def learn_fill_values(x_train: pd.DataFrame) -> dict[str, float]:
    """Gap-filling values, learnt on the training part only: median or most frequent code."""
    values = {}
    for column in FEATURES:
        known = x_train[column].dropna()
        if known.empty:
            values[column] = 0.0
        elif column in CONTINUOUS:
            values[column] = float(known.median())
        else:
            values[column] = float(known.mode().iloc[0])
    return values


def preprocess(raw_tables: dict[str, pd.DataFrame], out_dir: Path, test_size: float,
               seed: int) -> dict[str, int]:
    """Build, split, fill and write X/y train/test to `out_dir`, all or nothing."""
    frame = build_accidents(raw_tables)
    if frame[TARGET].nunique() < 2:
        raise ValueError("the raw data gives a single class; the split needs both")
    x_train, x_test, y_train, y_test = split_accidents(frame, test_size, seed)
    fill_values = learn_fill_values(x_train)
    parts = {
        "X_train": x_train.fillna(fill_values),
        "X_test": x_test.fillna(fill_values),
        "y_train": y_train.to_frame(),
        "y_test": y_test.to_frame(),
    }
    with atomic_directory(out_dir) as staging:
        for name, part in parts.items():
            part.to_csv(staging / f"{name}.csv", index=False)
        (staging / "fill_values.json").write_text(json.dumps(fill_values, indent=2))
    counts = {name: len(part) for name, part in parts.items() if name.startswith("X")}
    log.info("wrote %s to %s", counts, out_dir)
    return counts


def load_split(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Read X_train, X_test, y_train, y_test as written by `preprocess`."""
    x_train = pd.read_csv(folder / "X_train.csv")[list(FEATURES)]
    x_test = pd.read_csv(folder / "X_test.csv")[list(FEATURES)]
    y_train = pd.read_csv(folder / "y_train.csv")[TARGET].to_numpy()
    y_test = pd.read_csv(folder / "y_test.csv")[TARGET].to_numpy()
    return x_train, x_test, y_train, y_test
