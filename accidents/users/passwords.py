"""Password hashing with argon2id through passlib's API (installed from libpass)."""

from __future__ import annotations

from functools import lru_cache

from passlib.context import CryptContext

#: OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane): about 60 ms a check on one core.
ARGON2_MEMORY_KIB = 19_456
ARGON2_ROUNDS = 2
ARGON2_PARALLELISM = 1
#: argon2 takes any length, but hashing megabytes on every login attempt would be a cheap attack.
MAX_PASSWORD_BYTES = 1024
MIN_PASSWORD_LENGTH = 8

_context = CryptContext(
    schemes=["argon2"],
    argon2__memory_cost=ARGON2_MEMORY_KIB,
    argon2__rounds=ARGON2_ROUNDS,
    argon2__parallelism=ARGON2_PARALLELISM,
)


class PasswordPolicyError(ValueError):
    """A new password the product refuses to store."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise PasswordPolicyError(f"the password must be at most {MAX_PASSWORD_BYTES} bytes")


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches `hashed`; an over-long password never matches."""
    if len(password.encode("utf-8", errors="surrogatepass")) > MAX_PASSWORD_BYTES:
        return False
    return _context.verify(password, hashed)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to check against when the user does not exist, so both cases take as long."""
    return hash_password("the product has no such user")
