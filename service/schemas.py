"""Bodies of the service's requests and answers, as the API docs show them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from accidents.features import FEATURES, PRIORITY_LABELS
from service.features import FEATURES_SCHEMA, SEED_EXAMPLE


class PredictionRequest(BaseModel):
    """The features are checked by `service.features.read_features`, for clear messages."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"features": SEED_EXAMPLE},
        {"features": dict(zip(FEATURES, SEED_EXAMPLE, strict=True))},
        {"features": [SEED_EXAMPLE, SEED_EXAMPLE]},
    ]})

    features: Annotated[Any, WithJsonSchema(FEATURES_SCHEMA)]


class Prediction(BaseModel):
    priority: int = Field(description="1: a victim killed or hospitalised, 0: not")
    label: str = Field(description=" or ".join(f"'{label}'" for label in PRIORITY_LABELS.values()))
    probability: float = Field(description="probability of priority, from 0 to 1")


class PredictionResponse(Prediction):
    model_version: str = Field(description="the BentoML tag of the model that answered")


class BatchPredictionResponse(BaseModel):
    predictions: list[Prediction]
    model_version: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class RetrainAccepted(BaseModel):
    run_id: str
    state: str
    mode: str = Field(description="'local' (a process of the service's host) or 'prefect'")
    status_url: str


class RetrainStatus(BaseModel):
    run_id: str
    mode: str
    state: str = Field(description="starting, running, scheduled, pending, completed, failed...")
    started_at: str
    finished_at: str | None = None
    decision: str | None = Field(None, description="'promoted' or 'kept production'")
    promoted: bool | None = None
    reason: str | None = None
    registry_version: str | None = None
    error: str | None = None


class ErrorResponse(BaseModel):
    detail: str
