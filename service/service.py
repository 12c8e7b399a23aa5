"""The prediction service: `bentoml serve service.service:PriorityService`.

BentoML runs `settings.service_workers` worker processes; each checks users and settings at
start (refusing unsafe production settings), serves the latest promoted model of BentoML's
model store, and swaps in a newer one without a restart.
"""

from __future__ import annotations

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
refuse_unsafe_production(get_settings())


@bentoml.service(workers=get_settings().service_workers, traffic={"timeout": 60})
@bentoml.asgi_app(app, path="/")
class PriorityService:
    """Predicts whether a road accident needs a priority response; behind login."""

    def __init__(self) -> None:
        # BentoML sets up the handlers; the product's own loggers only need their level.
        level = os.environ.get("ACCIDENTS_LOG_LEVEL", "INFO")
        for name in ("accidents", "service"):
            logging.getLogger(name).setLevel(level)
        self.runtime = Runtime.start(get_settings())

    async def __is_ready__(self) -> bool:
        """Ready with a model loaded and the users store readable; else 503 with the reason."""
        if (problem := self.runtime.not_ready()) is not None:
            raise HTTPException(503, f"not ready: {problem}")
        return True

    @bentoml.on_shutdown
    def stop(self) -> None:
        self.runtime.stop()
