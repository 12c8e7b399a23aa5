"""Whether a signed token still stands: its user exists and has not changed since it was issued.

The rule: a token is refused when its user was removed, or when the user's password or role
changed in a second after the token's `iat` (the store's `updated_at` moves on both changes;
`iat` is whole seconds, so a token issued in the very second of a change stays valid). What a
worker read of a user is kept `cache_seconds`, so a change takes effect within that time and
a request costs no query while the cache is fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from accidents.users.store import UserStore, users
from accidents.users.tokens import Claims, TokenError


class UsersStoreError(RuntimeError):
    """The users store cannot be read (missing, corrupt, locked, unreachable)."""


@dataclass(frozen=True)
class _Entry:
    changed_at: float | None  # None: no such user
    read_at: float


def _epoch(moment: datetime) -> float:
    """SQLite gives back naive datetimes; the store writes UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@contextmanager
def users_store_errors(store: UserStore) -> Iterator[None]:
    """Turn any error of the store into UsersStoreError, naming the cause.

    The engine's pooled connections are dropped on error: a SQLite file replaced on disk
    (restored from a backup) is then opened afresh instead of through a stale descriptor.
    """
    try:
        yield
    except SQLAlchemyError as error:
        store.engine.dispose()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise UsersStoreError(f"the users store cannot be read: {reason}") from error


def read_users_store(store: UserStore, query: Callable[[Connection], Any]) -> Any:
    """Run `query(connection)`; a store that cannot be read raises UsersStoreError."""
    with users_store_errors(store), store.engine.connect() as connection:
        return query(connection)


def check_users_store(store: UserStore) -> None:
    """Raise UsersStoreError unless the users table can be read."""
    read_users_store(store, lambda connection: connection.execute(
        select(func.count()).select_from(users)).scalar_one())


class UserStanding:
    def __init__(self, store: UserStore, cache_seconds: float,
                 clock=time.monotonic) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _cached(self, username: str) -> _Entry | None:
        """What was read of `username` less than `cache_seconds` ago, if anything."""
        with self._lock:
            entry = self._entries.get(username)
        if entry is not None and self.clock() - entry.read_at < self.cache_seconds:
            return entry
        return None

    def _changed_at(self, username: str) -> float | None:
        if (entry := self._cached(username)) is not None:
            return entry.changed_at
        now = self.clock()
        row = read_users_store(self.store, lambda connection: connection.execute(
            select(users.c.updated_at).where(users.c.username == username)).first())
        changed_at = None if row is None else _epoch(row.updated_at)
        with self._lock:
            self._entries[username] = _Entry(changed_at, now)
        return changed_at

    def is_cached(self, username: str) -> bool:
        """True when `check` would answer for `username` without reading the store."""
        return self._cached(username) is not None

    def check(self, claims: Claims) -> None:
        """Raise TokenError when the token no longer stands, UsersStoreError when unknown."""
        changed_at = self._changed_at(claims.username)
        if changed_at is None:
            raise TokenError("invalid token: its user no longer exists")
        if claims.issued_at < int(changed_at):
            raise TokenError("the token was issued before the user's password or role changed; "
                             "log in again")
