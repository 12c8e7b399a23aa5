"""Model and pipeline parameters from params.yaml (one section per stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_params(stage: str, path: Path | str = "params.yaml") -> dict[str, Any]:
    """Return the section of params.yaml that belongs to one pipeline stage."""
    with open(path, encoding="utf-8") as handle:
        params = yaml.safe_load(handle) or {}
    if stage not in params:
        raise KeyError(f"{path} has no section '{stage}'")
    return params[stage]
