"""The prediction service: `bentoml serve service.service:PriorityService`.

BentoML runs `settings.service_workers` worker processes; each checks users and settings at
start (refusing unsafe production settings), serves the latest promoted model of BentoML's
model store, and swaps in a newer one without a restart.
"""

from __future__ import annotations

import gc
import logging
import os

# Before numpy and scikit-learn load: one native thread per worker. With the default OpenMP
# pools, several workers on 2 cores took about a second a request.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import bentoml  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402

from accidents.settings import get_settings  # noqa: E402
from accidents.users import refuse_unsafe_production  # noqa: E402
from service.api import app  # noqa: E402
from service.runtime import Runtime  # noqa: E402

# `bentoml serve` imports this module before it starts any worker: unsafe production settings
# stop it here, with a message naming each problem, instead of workers failing in a loop.
settings = get_settings()
refuse_unsafe_production(settings)


def tracing_excluded_urls(trace_predictions: bool) -> list[str]:
    """Routes that get no OpenTelemetry span: the probes, and `/predict` unless asked for.

    BentoML records a span for every request even when none is sampled, and its request timer
    keeps the span alive until the traffic timeout: at a thousand predictions a second that
    is most of a worker's heap, and most of the time of each garbage collection.
    """
    probes = ["/healthz", "/readyz", "/livez", "/metrics"]
    return probes if trace_predictions else [*probes, "/predict"]


# BentoML's timeout middleware schedules a timer per request that lives for the whole timeout,
# finished or not: a short timeout keeps fewer of them (and what they hold) in memory.
@bentoml.service(workers=settings.service_workers,
                 traffic={"timeout": settings.request_timeout_seconds},
                 tracing={"excluded_urls": tracing_excluded_urls(settings.trace_predictions)})
@bentoml.asgi_app(app, path="/")
class PriorityService:
    """Predicts whether a road accident needs a priority response; behind login."""

    def __init__(self) -> None:
        # BentoML sets up the handlers; the product's own loggers only need their level.
        level = os.environ.get("ACCIDENTS_LOG_LEVEL", "INFO")
        for name in ("accidents", "service"):
            logging.getLogger(name).setLevel(level)
        self.runtime = Runtime.start(settings)
        # Everything loaded so far (libraries, the model) lives as long as the worker: moved
        # out of the collector's reach, a full collection scans only what requests create,
        # milliseconds instead of a quarter of a second of a frozen event loop.
        gc.collect()
        gc.freeze()

    async def __is_ready__(self) -> bool:
        """Ready with a model loaded and the users store readable; else 503 with the reason."""
        if (problem := self.runtime.not_ready()) is not None:
            raise HTTPException(503, f"not ready: {problem}")
        return True

    @bentoml.on_shutdown
    def stop(self) -> None:
        self.runtime.stop()
