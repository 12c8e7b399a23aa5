"""The HTTP routes of the service (FastAPI, mounted in the BentoML service at `/`).

BentoML answers `/healthz`, `/readyz` and `/metrics` itself; they are listed in these docs too.
"""

from __future__ import annotations

from typing import Annotated, Any

import bentoml
from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from accidents.features import PRIORITY_LABELS
from accidents.retraining import RetrainRunning, RetrainUnavailable
from accidents.settings import get_settings
from accidents.users.standing import UsersStoreError
from accidents.users.throttle import Refusal
from service.auth import AdminUser, CurrentUser, log_in_attempt
from service.features import FeaturesError, read_features
from service.limits import BodySizeLimit
from service.runtime import Runtime, get_runtime
from service.schemas import (
    BatchPredictionResponse,
    ErrorResponse,
    PredictionRequest,
    PredictionResponse,
    RetrainAccepted,
    RetrainStatus,
    TokenResponse,
)
from service.strict_json import StrictJSONRoute

DESCRIPTION = """Predicts whether a road accident needs a priority response (a victim killed
or hospitalised), from the 28 features of the official BAAC data.

Log in with `POST /auth/token` (form fields `username`, `password`), then send the token as
`Authorization: Bearer <token>`. `/retrain` and its status are for admins."""

PREDICTIONS = bentoml.metrics.Counter(
    name="accidents_predictions_total", documentation="Accidents scored, by predicted class",
    labelnames=["priority"],
)
LOGINS = bentoml.metrics.Counter(
    name="accidents_logins_total", documentation="Login attempts, by outcome",
    labelnames=["outcome"],
)

app = FastAPI(title="The product: accident priority prediction", version="1.0",
              description=DESCRIPTION)
app.router.route_class = StrictJSONRoute
app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_request_bytes)

RuntimeDependency = Annotated[Runtime, Depends(get_runtime)]
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "no token, or an invalid or expired one"},
}
ADMIN_ERRORS = {**AUTH_ERRORS, 403: {"model": ErrorResponse, "description": "not an admin"}}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before the next attempt",
                               "schema": {"type": "integer"}}}


@app.post("/auth/token", response_model=TokenResponse, tags=["users"],
          responses={401: {"model": ErrorResponse, "description": "wrong credentials"},
                     429: {"model": ErrorResponse, "headers": RETRY_AFTER,
                           "description": "too many failed logins for this user or from this "
                                          "client; no password is checked until then"},
                     503: {"model": ErrorResponse,
                           "description": "the users store cannot be read"}})
async def log_in(form: Annotated[OAuth2PasswordRequestForm, Depends()],
                 runtime: RuntimeDependency, request: Request) -> TokenResponse:
    """Exchange a username and password (OAuth2 password form) for an access token."""
    client = request.client.host if request.client else None
    # argon2 takes tens of milliseconds of CPU: a worker thread keeps the event loop free.
    try:
        user = await run_in_threadpool(log_in_attempt, runtime, form.username, form.password,
                                       client)
    except UsersStoreError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    if isinstance(user, Refusal):
        LOGINS.labels(outcome="throttled").inc()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, user.reason,
                            headers={"Retry-After": str(user.retry_after)})
    if user is None:
        LOGINS.labels(outcome="refused").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    LOGINS.labels(outcome="accepted").inc()
    return TokenResponse(access_token=runtime.tokens.issue(user),
                         expires_in=runtime.tokens.expires_in)


@app.post("/predict", response_model=PredictionResponse | BatchPredictionResponse,
          tags=["predictions"],
          responses={**AUTH_ERRORS,
                     413: {"model": ErrorResponse, "description": "body over the size limit"},
                     415: {"model": ErrorResponse, "description": "a body that is not JSON"},
                     503: {"model": ErrorResponse, "description": "no model loaded yet"}})
async def predict(body: PredictionRequest, user: CurrentUser, runtime: RuntimeDependency,
                  response: Response) -> dict[str, Any]:
    """Score one accident (28 features by position or by name) or a batch of accidents."""
    try:
        rows = read_features(body.features, runtime.settings.max_batch_rows)
    except FeaturesError as error:
        raise RequestValidationError([{"type": "value_error", "loc": ("body", "features"),
                                       "msg": str(error), "input": None}]) from None
    worker = {"X-Worker-Index": str(bentoml.server_context.worker_index)}
    served = runtime.model.served
    if served is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"no model to serve: {runtime.model.problem}", headers=worker)
    # On the event loop: a row costs 0.07 ms and the largest batch a few ms, less than a hop
    # to a thread; batching concurrent requests together measured no faster either.
    probabilities = served.model.predict_proba(rows.matrix)
    classes = (probabilities >= served.model.threshold).astype(int)
    predictions = [
        {"priority": int(priority), "label": PRIORITY_LABELS[int(priority)],
         "probability": round(float(probability), 6)}
        for priority, probability in zip(classes, probabilities, strict=True)
    ]
    positives = int(classes.sum())
    PREDICTIONS.labels(priority="1").inc(positives)
    PREDICTIONS.labels(priority="0").inc(len(classes) - positives)
    response.headers.update(worker)
    if rows.batch:
        return {"predictions": predictions, "model_version": served.tag}
    return {**predictions[0], "model_version": served.tag}


@app.post("/retrain", status_code=status.HTTP_202_ACCEPTED, response_model=RetrainAccepted,
          tags=["retraining"],
          responses={**ADMIN_ERRORS,
                     409: {"description": "a retrain is running; `run_id` names it"},
                     503: {"model": ErrorResponse, "description": "cannot submit the run"}})
async def retrain(admin: AdminUser, runtime: RuntimeDependency) -> Any:
    """Start the `pipeline` flow (forced) and answer at once with its run id."""
    try:
        record = await run_in_threadpool(runtime.retrains.start)
    except RetrainRunning as running:
        return JSONResponse({"detail": str(running), "run_id": running.run_id},
                            status_code=status.HTTP_409_CONFLICT)
    except RetrainUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    return RetrainAccepted(run_id=record.run_id, state=record.state, mode=record.mode,
                           status_url=f"/retrain/{record.run_id}")


@app.get("/retrain/{run_id}", response_model=RetrainStatus, tags=["retraining"],
         responses={**ADMIN_ERRORS,
                    404: {"model": ErrorResponse, "content": {"text/plain": {}},
                          "description": "no such run; an id with a line break never reaches "
                                         "the product: BentoML's router answers in plain text"},
                    503: {"model": ErrorResponse, "description": "Prefect does not answer"}})
async def retrain_status(run_id: Annotated[str, Path(max_length=64)], admin: AdminUser,
                         runtime: RuntimeDependency) -> Any:
    """The state of a retrain run and, once it has finished, its promotion decision."""
    try:
        record = await run_in_threadpool(runtime.retrains.status, run_id)
    except RetrainUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no retrain run {run_id!r}")
    return RetrainStatus(**record.as_dict())


SYSTEM_ROUTES = {
    "/healthz": ("Liveness: the worker answers", {"200": {"description": "alive"}}),
    "/readyz": ("Readiness: a model is loaded", {
        "200": {"description": "ready"},
        "503": {"description": "not ready; the plain-text body says why (e.g. no model)"},
    }),
    "/metrics": ("Prometheus metrics", {"200": {"description": "Prometheus text format",
                                                "content": {"text/plain": {}}}}),
}


def openapi() -> dict[str, Any]:
    """FastAPI's schema plus the routes BentoML itself answers, so the docs list every route."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        for path, (summary, responses) in SYSTEM_ROUTES.items():
            schema["paths"][path] = {"get": {"tags": ["operations"], "summary": summary,
                                             "responses": responses}}
        app.openapi_schema = schema
    return app.openapi_schema


app.openapi = openapi  # type: ignore[method-assign]
