"""What one service worker runs with: settings, users, tokens, the served model, retrains."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import bentoml

from accidents.retraining import Retrains
from accidents.settings import Settings
from accidents.users import TokenIssuer, UserStore, prepare_users
from accidents.users.standing import UsersStoreError, UserStanding, check_users_store
from accidents.users.throttle import LoginThrottle
from service.model_slot import ModelSlot

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    users: UserStore
    tokens: TokenIssuer
    model: ModelSlot
    retrains: Retrains
    throttle: LoginThrottle
    standing: UserStanding
    users_problem: str | None = None

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Check the users set-up (refusing unsafe production), then load the model."""
        users, tokens = prepare_users(settings)
        throttle = LoginThrottle(users.engine, settings.login_max_failures_per_user,
                                 settings.login_max_failures_per_client,
                                 settings.login_window_seconds)
        throttle.create_schema()
        model = ModelSlot(settings.model_name, settings.model_refresh_seconds)
        model.start()
        return cls(settings, users, tokens, model, Retrains(settings), throttle,
                   UserStanding(users, settings.user_cache_seconds))

    def not_ready(self) -> str | None:
        """Why this worker cannot answer now (no usable model, unreadable users store)."""
        if self.model.served is None:
            return self.model.problem
        try:
            check_users_store(self.users)
        except UsersStoreError as error:
            if self.users_problem != str(error):
                log.error("not ready: %s", error)
            self.users_problem = str(error)
            return self.users_problem
        if self.users_problem is not None:
            log.info("the users store can be read again")
            self.users_problem = None
        return None

    def stop(self) -> None:
        self.model.stop()
        self.users.engine.dispose()


async def get_runtime() -> Runtime:
    """The runtime of this worker's service instance (a FastAPI dependency)."""
    return bentoml.get_current_service().runtime
