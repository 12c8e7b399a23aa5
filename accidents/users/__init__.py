"""The product's users: accounts with a role, argon2 password hashes and signed access tokens.

No HTTP here: the service and the users command (`python -m accidents.users`) build on it.
"""

from accidents.users.startup import (
    DEFAULT_USERS,
    UnsafeProductionError,
    prepare_users,
    refuse_unsafe_production,
)
from accidents.users.store import ROLES, User, UserError, UserStore
from accidents.users.tokens import Claims, TokenError, TokenIssuer

__all__ = [
    "DEFAULT_USERS", "ROLES", "Claims", "TokenError", "TokenIssuer", "UnsafeProductionError",
    "User", "UserError", "UserStore", "prepare_users", "refuse_unsafe_production",
]
