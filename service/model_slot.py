"""The model a service worker serves, swapped for a newly promoted one without a restart."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from accidents.bento_store import (
    MODEL_FILE,
    bento_store_dir,
    latest_bento_version,
    load_from_bento_store,
)
from accidents.features import FEATURES
from accidents.model import PriorityModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    tag: str
    model: PriorityModel


def check_model(model: PriorityModel) -> None:
    """Refuse a model that loads but cannot answer the product's contract."""
    if tuple(model.features) != FEATURES:
        raise ValueError(f"the model expects features {model.features}, the product sends "
                         f"{FEATURES}")
    probabilities = model.predict_proba(np.zeros((2, len(FEATURES))))
    if probabilities.shape != (2,) or not np.all(np.isfinite(probabilities)):
        raise ValueError(f"the model answered {probabilities!r} for two rows of zeros")


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """What tells a rewritten file apart: inode, size, modification time; None if missing."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


class ModelSlot:
    """Holds the served model; a background thread checks the store every `interval` seconds.

    The check reads only BentoML's `latest` pointer file and the model file's status; a new
    version is loaded and tried completely before it replaces the served one, so a broken new
    version never replaces a working one. A version that failed is tried again once its file
    changes (restored). When the served version's own file changes on disk, it is loaded
    again; if it no longer loads, the worker stops serving it (not ready) rather than trust a
    store that was tampered with, until the file is restored.
    """

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self.served: ServedModel | None = None
        self.problem: str | None = "the service is starting"
        self._served_state: tuple | None = None
        self._failed_state: tuple | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Load the store's latest version if it is new; True when the served model changed."""
        version = latest_bento_version(self.name)
        if version is None:
            if self.served is None:
                self.problem = (f"no model '{self.name}' in the BentoML store at "
                                f"{bento_store_dir()}: run the pipeline to promote one")
            return False
        state = (version, _file_state(bento_store_dir() / self.name / version
                                      / MODEL_FILE))
        if state in (self._served_state, self._failed_state):
            return False
        try:
            tag, model = load_from_bento_store(f"{self.name}:{version}")
            check_model(model)
        except Exception as error:
            self._failed_state = state
            reason = f"model {self.name}:{version} cannot be served: {error}"
            if self.served is not None and self.served.tag.endswith(f":{version}"):
                self.served, self._served_state = None, None
                reason = f"the served model's file changed on disk; {reason}"
            if self.served is None:
                self.problem = reason
                log.error("not ready: %s", reason)
            else:
                log.error("%s; still serving %s", reason, self.served.tag)
            return False
        previous = self.served
        self.served, self._served_state = ServedModel(tag, model), state
        self.problem = None
        # The first load brings in scikit-learn's OpenMP pool: keep it to one thread per worker.
        threadpool_limits(1)
        log.info("serving %s (was %s)", tag, previous.tag if previous else "none")
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:
                log.exception("checking the model store failed; will try again")

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="model-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 1)
