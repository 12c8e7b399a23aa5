"""What the service checks and prepares about users before it answers anyone."""

from __future__ import annotations

import logging
from datetime import timedelta

from accidents.settings import Settings
from accidents.users.signing_key import development_secret, secret_problem
from accidents.users.store import UserError, UserStore
from accidents.users.tokens import TokenIssuer

log = logging.getLogger(__name__)

#: Created in development on first start; refused in production while still in use.
DEFAULT_USERS = (("admin", "admin123", "admin"), ("user", "user123", "user"))


class UnsafeProductionError(RuntimeError):
    """Production settings the product refuses to start with."""


def open_store(settings: Settings) -> UserStore:
    store = UserStore(settings.users_database_url)
    store.create_schema()
    return store


def seed_development_users(store: UserStore) -> list[str]:
    """Create the default users when the store is empty; return the names created."""
    if store.count():
        return []
    created = []
    for username, password, role in DEFAULT_USERS:
        try:
            store.add(username, password, role, enforce_policy=False)
            created.append(username)
        except UserError:
            pass  # another worker created it first
    if created:
        log.warning("development mode: created the default users %s; change their passwords "
                    "with `python -m accidents.users passwd NAME`", ", ".join(created))
    return created


def production_problems(settings: Settings, store: UserStore) -> list[str]:
    """Everything that makes these settings unsafe for production, by name."""
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    problems = [problem] if (problem := secret_problem(secret)) else []
    for username, password, _ in DEFAULT_USERS:
        if store.authenticate(username, password) is not None:
            problems.append(f"user '{username}' still has its default password")
    return problems


def refuse_unsafe_production(settings: Settings, store: UserStore | None = None) -> None:
    """Raise UnsafeProductionError naming every problem; a no-op outside production."""
    if settings.env != "production":
        return
    problems = production_problems(settings, store or open_store(settings))
    if problems:
        raise UnsafeProductionError(
            "the product refuses to start in production: " + "; ".join(problems)
        )


def prepare_users(settings: Settings) -> tuple[UserStore, TokenIssuer]:
    """The users store and token issuer the service runs with; refuses unsafe production."""
    store = open_store(settings)
    expiry = timedelta(minutes=settings.token_expiry_minutes)
    if settings.env == "production":
        refuse_unsafe_production(settings, store)
        if not store.count():
            log.warning("no users yet: add one with `python -m accidents.users add NAME`")
        return store, TokenIssuer(settings.jwt_secret.get_secret_value(), expiry)
    seed_development_users(store)
    if settings.jwt_secret:
        return store, TokenIssuer(settings.jwt_secret.get_secret_value(), expiry)
    return store, TokenIssuer(development_secret(settings.var_dir), expiry)
