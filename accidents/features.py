"""The feature contract shared by the pipeline, the model and the service."""

from __future__ import annotations

FEATURES: tuple[str, ...] = (
    "place", "catu", "sexe", "secu1", "year_acc", "victim_age", "catv", "obsm", "motor",
    "catr", "circ", "surf", "situ", "vma", "jour", "mois", "lum", "dep", "com", "agg_",
    "int", "atm", "col", "lat", "long", "hour", "nb_victim", "nb_vehicules",
)
TARGET = "grav"
PRIORITY_LABELS = {0: "not priority", 1: "priority: a victim killed or hospitalised"}
