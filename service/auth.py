"""Who is calling: the bearer token, checked statelessly (no database on the request path)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accidents.users import Claims, TokenError
from service.runtime import Runtime, get_runtime

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", bearerFormat="JWT",
    description="An access token from `POST /auth/token`, sent as `Authorization: Bearer <token>`.",
)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Claims:
    """Any logged-in user."""
    if credentials is None:
        raise _unauthorized("not authenticated: send 'Authorization: Bearer <token>' with a "
                            "token from POST /auth/token")
    try:
        return runtime.tokens.verify(credentials.credentials)
    except TokenError as error:
        raise _unauthorized(str(error)) from error


def admin_user(user: Annotated[Claims, Depends(current_user)]) -> Claims:
    """A logged-in user with the admin role."""
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"admins only: {user.username} has the role '{user.role}'")
    return user


CurrentUser = Annotated[Claims, Depends(current_user)]
AdminUser = Annotated[Claims, Depends(admin_user)]
