"""Runtime settings read from the environment (secrets and places, never model parameters)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of the product; each field is read from `ACCIDENTS_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="ACCIDENTS_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    project_dir: Path = Field(default_factory=Path.cwd)
    data_source: str | None = None
    model_name: str = "accidents-priority"
    production_alias: str = "production"
    experiment: str = "accidents-priority"
    download_timeout: float = 30.0
    # The prediction service and its users.
    users_db_url: str | None = None
    jwt_secret: SecretStr | None = None
    token_expiry_minutes: float = Field(default=30.0, gt=0)
    service_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    model_refresh_seconds: float = Field(default=1.0, gt=0)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_batch_rows: int = Field(default=1000, ge=1)
    # A request still running after this many seconds gets 504 (BentoML's traffic timeout).
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Give each /predict request an OpenTelemetry span (BentoML records spans even unsampled).
    trace_predictions: bool = False
    # Failed logins over a sliding window, per user and per client: past the limit, 429.
    login_max_failures_per_user: int = Field(default=10, ge=1)
    login_max_failures_per_client: int = Field(default=100, ge=1)
    login_window_seconds: float = Field(default=900.0, gt=0)
    # How long a worker trusts what it read of a user (still there, last password/role change).
    user_cache_seconds: float = Field(default=5.0, ge=0)
    prefect_deployment: str = "pipeline/weekly"
    download_base: str = "https://www.data.gouv.fr/fr/datasets/r/"

    @property
    def data_dir(self) -> Path:
        return self.project_dir / "data"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def preprocessed_dir(self) -> Path:
        return self.data_dir / "preprocessed"

    @property
    def models_dir(self) -> Path:
        return self.project_dir / "models"

    @property
    def production_model_path(self) -> Path:
        return self.models_dir / "prod_model.joblib"

    @property
    def candidate_model_path(self) -> Path:
        return self.models_dir / "candidate_model.joblib"

    @property
    def metrics_dir(self) -> Path:
        return self.project_dir / "metrics"

    @property
    def var_dir(self) -> Path:
        """Runtime state of the service (users, signing key, retrain runs); git-ignored."""
        return self.project_dir / "var"

    @property
    def users_database_url(self) -> str:
        """The users store: `users_db_url`, else a SQLite file under `var/`."""
        return self.users_db_url or f"sqlite:///{(self.var_dir / 'users.db').resolve()}"

    @property
    def mlflow_tracking_uri(self) -> str:
        """MLflow's own variable wins; the default is a SQLite store in the project folder."""
        return os.environ.get("MLFLOW_TRACKING_URI") or (
            f"sqlite:///{(self.project_dir / 'mlflow.db').resolve()}"
        )

    @property
    def mlflow_artifact_location(self) -> str | None:
        """Artefacts sit beside the embedded store; a remote server chooses its own."""
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return None
        return (self.project_dir / "mlartifacts").resolve().as_uri()


@lru_cache
def get_settings() -> Settings:
    return Settings()
