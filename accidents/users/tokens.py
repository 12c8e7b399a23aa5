"""Signed access tokens (JWT, HS256), checked without touching the users store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from accidents.users.store import ROLES, User

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "role", "iat", "exp"]


class TokenError(Exception):
    """A token the product does not accept; the message says why, without secrets."""


@dataclass(frozen=True)
class Claims:
    username: str
    role: str
    expires_at: datetime
    issued_at: int


class TokenIssuer:
    """Issues and checks the product's access tokens with one shared secret."""

    def __init__(self, secret: str, expiry: timedelta) -> None:
        self._secret = secret
        self.expiry = expiry

    @property
    def expires_in(self) -> int:
        return int(self.expiry.total_seconds())

    def issue(self, user: User, now: datetime | None = None) -> str:
        """A token for `user`; times are aware UTC so the host's time zone never shifts them.

        `sub` stays a string: PyJWT 2.10+ refuses any other type when decoding.
        """
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user.username),
            "role": user.role,
            "iat": issued,
            "exp": issued + self.expiry,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM],
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("the token has expired; log in again") from error
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(f"invalid token: {error}") from error
        except jwt.InvalidTokenError as error:
            raise TokenError("invalid token") from error
        if claims["role"] not in ROLES:
            raise TokenError("invalid token: unknown role")
        return Claims(claims["sub"], claims["role"], datetime.fromtimestamp(claims["exp"], UTC),
                      int(claims["iat"]))
