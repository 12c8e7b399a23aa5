"""The users store: SQLAlchemy Core over SQLite by default, PostgreSQL in compose."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from accidents.users.passwords import (
    check_new_password,
    dummy_hash,
    hash_password,
    verify_password,
)

log = logging.getLogger(__name__)

ROLES = ("user", "admin")
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class UserError(ValueError):
    """A change to the users store that cannot be made (bad name or role, unknown user...)."""


@dataclass(frozen=True)
class User:
    username: str
    role: str


def check_username(username: str) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        raise UserError(
            f"invalid username {username!r}: 1 to 64 letters, digits or _.@- , "
            "starting with a letter or digit"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"invalid role {role!r}: choose one of {', '.join(ROLES)}")


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Several service workers open the file at once: wait for a writer instead of failing.
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_pre_ping=True)


class UserStore:
    """Users with their role and argon2 password hash."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)

    def create_schema(self) -> None:
        """Create the table if needed; several workers may race here, one of them wins."""
        try:
            metadata.create_all(self.engine)
        except OperationalError:
            if not inspect(self.engine).has_table("users"):
                raise

    def add(self, username: str, password: str, role: str, enforce_policy: bool = True) -> User:
        """Add a user; `enforce_policy=False` only for the development users."""
        check_username(username)
        check_role(role)
        if enforce_policy:
            check_new_password(password)
        self._insert(username, hash_password(password), role)
        log.info("users: added %s (%s)", username, role)
        return User(username, role)

    def _insert(self, username: str, password_hash: str, role: str) -> None:
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(users).values(
                    username=username, password_hash=password_hash, role=role,
                    created_at=now, updated_at=now,
                ))
        except IntegrityError as error:
            raise UserError(f"user {username!r} already exists") from error

    def remove(self, username: str) -> None:
        with self.engine.begin() as connection:
            removed = connection.execute(delete(users).where(users.c.username == username))
        if removed.rowcount == 0:
            raise UserError(f"no user {username!r}")
        log.info("users: removed %s", username)

    def set_password(self, username: str, password: str) -> None:
        check_new_password(password)
        self._update(username, password_hash=hash_password(password))
        log.info("users: changed the password of %s", username)

    def set_role(self, username: str, role: str) -> None:
        check_role(role)
        self._update(username, role=role)

    def _update(self, username: str, **values: str) -> None:
        """Change a user's columns and stamp `updated_at`, which revokes older tokens."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(users).where(users.c.username == username)
                .values(**values, updated_at=datetime.now(UTC))
            )
        if changed.rowcount == 0:
            raise UserError(f"no user {username!r}")

    def list(self) -> list[User]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(users.c.username, users.c.role).order_by(users.c.username)
            ).all()
        return [User(row.username, row.role) for row in rows]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(users)).scalar_one()

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches, else None; the same work either way.

        This blocks for the length of an argon2 check: call it from a worker thread.
        """
        with self.engine.connect() as connection:
            row = connection.execute(
                select(users.c.username, users.c.role, users.c.password_hash)
                .where(users.c.username == username)
            ).first()
        if row is None:
            verify_password(password, dummy_hash())
            return None
        if not verify_password(password, row.password_hash):
            return None
        return User(row.username, row.role)
