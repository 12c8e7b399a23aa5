"""What one service worker runs with: settings, users, tokens, the served model, retrains."""

from __future__ import annotations

from dataclasses import dataclass

import bentoml

from accidents.retraining import Retrains
from accidents.settings import Settings
from accidents.users import TokenIssuer, UserStore, prepare_users
from service.model_slot import ModelSlot


@dataclass
class Runtime:
    settings: Settings
    users: UserStore
    tokens: TokenIssuer
    model: ModelSlot
    retrains: Retrains

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Check the users set-up (refusing unsafe production), then load the model."""
        users, tokens = prepare_users(settings)
        model = ModelSlot(settings.model_name, settings.model_refresh_seconds)
        model.start()
        return cls(settings, users, tokens, model, Retrains(settings))

    def stop(self) -> None:
        self.model.stop()
        self.users.engine.dispose()


def get_runtime() -> Runtime:
    """The runtime of this worker's service instance (a FastAPI dependency)."""
    return bentoml.get_current_service().runtime
