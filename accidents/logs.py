"""Logging set-up, called once by each entry point (CLI, flow, service, DAG task)."""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str | None = None) -> None:
    logging.basicConfig(level=level or os.environ.get("ACCIDENTS_LOG_LEVEL", "INFO"), format=FORMAT)
