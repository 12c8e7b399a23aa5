"""Who is calling: the bearer token, then its user's standing (cached a few seconds a worker)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accidents.users import Claims, TokenError, User
from accidents.users.standing import UsersStoreError, users_store_errors
from accidents.users.throttle import Refusal
from service.runtime import Runtime, get_runtime

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", bearerFormat="JWT",
    description="An access token from `POST /auth/token`, sent as `Authorization: Bearer <token>`.",
)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


def log_in_attempt(runtime: Runtime, username: str, password: str,
                   client: str | None) -> User | Refusal | None:
    """The user, a refusal (too many failures), or None for wrong credentials.

    This blocks for an argon2 check: call it from a worker thread. A refused attempt checks
    no password. Raises UsersStoreError when the store cannot be read.
    """
    with users_store_errors(runtime.users):
        if (refusal := runtime.throttle.refusal(username, client)) is not None:
            return refusal
        user = runtime.users.authenticate(username, password)
        if user is None:
            runtime.throttle.failed(username, client)
        else:
            runtime.throttle.succeeded(user.username)
        return user


async def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Claims:
    """Any logged-in user.

    The dependencies are coroutines: FastAPI would run plain functions in a thread, a hop that
    cost more than the whole prediction. Only a read of the users store leaves the loop.
    """
    if credentials is None:
        raise _unauthorized("not authenticated: send 'Authorization: Bearer <token>' with a "
                            "token from POST /auth/token")
    try:
        claims = runtime.tokens.verify(credentials.credentials)
        if runtime.standing.is_cached(claims.username):
            runtime.standing.check(claims)
        else:
            await run_in_threadpool(runtime.standing.check, claims)
    except TokenError as error:
        raise _unauthorized(str(error)) from error
    except UsersStoreError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    return claims


async def admin_user(user: Annotated[Claims, Depends(current_user)]) -> Claims:
    """A logged-in user with the admin role."""
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"admins only: {user.username} has the role '{user.role}'")
    return user


CurrentUser = Annotated[Claims, Depends(current_user)]
AdminUser = Annotated[Claims, Depends(admin_user)]
