"""BentoML's model store: where a promotion puts the model and where the service finds it.

Apart from the MLflow registry (accidents.registry) so that a service worker, which reads
only this store, never imports MLflow.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from accidents.model import PriorityModel, load_model, save_model

log = logging.getLogger(__name__)

MODEL_FILE = "model.joblib"


def save_to_bento_store(model: PriorityModel, name: str, metadata: dict[str, Any]) -> str:
    """Save the model in BentoML's model store, where the service picks it up.

    BentoML writes the entry in a temporary folder and moves it into the store when the
    block ends, so the service never sees a half-saved model.
    """
    import bentoml

    with bentoml.models.create(
        name, labels={"kind": model.kind, "stage": "production"}, metadata=metadata,
    ) as entry:
        save_model(model, Path(entry.path_of(MODEL_FILE)))
    log.info("BentoML: saved %s", entry.tag)
    return str(entry.tag)


def load_from_bento_store(tag: str) -> tuple[str, PriorityModel]:
    """Load a model of the product from BentoML's store; `tag` may be `<name>:latest`."""
    import bentoml

    entry = bentoml.models.get(tag)
    return str(entry.tag), load_model(Path(entry.path_of(MODEL_FILE)))


def bento_store_dir() -> Path:
    """The folder of BentoML's model store in use: `$BENTOML_HOME/models`, or the models
    folder of the Bento being served (BentoML swaps the store object for that one)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    return Path(BentoMLContainer.model_store.get()._path)


def latest_bento_version(name: str) -> str | None:
    """The version `<name>:latest` points at, read cheaply from the store's pointer file.

    BentoML rewrites that file only after a model is completely saved, so a version read here
    is complete; None when the store has no such model (or the pointer is being rewritten).
    """
    try:
        version = (bento_store_dir() / name / "latest").read_text().strip()
    except OSError:
        return None
    return version or None
