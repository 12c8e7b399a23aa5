"""Failed logins, counted in the users store so that every service worker sees the same count.

Each failed login adds one row per key (the username, the client's address); a key with
`limit` failures in the last `window_seconds` is refused until the oldest of those leaves the
window. A refused attempt checks no password and adds no row, so the table stays small.
Attempts already in flight when a key reaches its limit may still add a few failures.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from accidents.users.store import USERNAME_PATTERN

log = logging.getLogger(__name__)

metadata = MetaData()
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False),
    Column("failed_at", Float, nullable=False),
    Index("login_failures_by_key", "key", "failed_at"),
)


@dataclass(frozen=True)
class Refusal:
    """Why a login is refused before its password is checked, and for how long."""

    retry_after: int
    reason: str


class LoginThrottle:
    def __init__(self, engine: Engine, max_user_failures: int, max_client_failures: int,
                 window_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.window = window_seconds
        self.limits = {"user": max_user_failures, "client": max_client_failures}
        self.clock = clock

    def create_schema(self) -> None:
        """Create the table if needed; several workers may race here, one of them wins."""
        try:
            metadata.create_all(self.engine)
        except OperationalError:
            with self.engine.connect() as connection:
                if not self.engine.dialect.has_table(connection, "login_failures"):
                    raise

    @staticmethod
    def _keys(username: str, client: str | None) -> dict[str, str]:
        """Kind -> key; a name no user can have is counted against its client only."""
        keys = {}
        if USERNAME_PATTERN.fullmatch(username):
            keys["user"] = f"user:{username}"
        if client:
            keys["client"] = f"client:{client[:100]}"
        return keys

    def refusal(self, username: str, client: str | None) -> Refusal | None:
        """A refusal when the user or the client is over its limit of failures, else None."""
        now = self.clock()
        waits = {}
        with self.engine.connect() as connection:
            for kind, key in self._keys(username, client).items():
                # The limit-th most recent failure in the window: the lock lifts when it leaves.
                nth = connection.execute(
                    select(login_failures.c.failed_at)
                    .where(login_failures.c.key == key,
                           login_failures.c.failed_at > now - self.window)
                    .order_by(login_failures.c.failed_at.desc())
                    .offset(self.limits[kind] - 1).limit(1)
                ).scalar()
                if nth is not None:
                    waits[kind] = nth + self.window - now
        if not waits:
            return None
        kind = max(waits, key=waits.__getitem__)
        reason = "for this user" if kind == "user" else "from this client"
        return Refusal(max(1, math.ceil(waits[kind])),
                       f"too many failed logins {reason}; try again later")

    def failed(self, username: str, client: str | None) -> None:
        now = self.clock()
        keys = list(self._keys(username, client).values())
        with self.engine.begin() as connection:
            connection.execute(delete(login_failures).where(
                login_failures.c.key.in_(keys), login_failures.c.failed_at <= now - self.window))
            if keys:
                connection.execute(login_failures.insert(),
                                   [{"key": key, "failed_at": now} for key in keys])
        log.info("failed login for %r from %s", username[:64], client)

    def succeeded(self, username: str) -> None:
        """A right password clears the user's failures (not the client's)."""
        with self.engine.begin() as connection:
            connection.execute(delete(login_failures).where(
                login_failures.c.key == f"user:{username}"))
