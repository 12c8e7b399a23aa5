"""The seed-style API the product is measured against: one FastAPI route that builds a one-row
pandas DataFrame per request and calls a RandomForest trained with the seed's settings
(`n_jobs=-1`), loaded with joblib. Like the seed, it checks no token.

Run: `BASELINE_MODEL_PATH=model.joblib uvicorn baseline_api:app --app-dir benchmarks`.
"""

from __future__ import annotations

import os

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

from accidents.features import FEATURES

model = joblib.load(os.environ["BASELINE_MODEL_PATH"])
app = FastAPI(title="seed-style baseline")


class Accident(BaseModel):
    features: list[float]


@app.post("/predict")
def predict(accident: Accident) -> dict:
    frame = pd.DataFrame([accident.features], columns=list(FEATURES))
    return {"prediction": int(model.predict(frame)[0])}
