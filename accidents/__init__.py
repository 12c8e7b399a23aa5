"""The product's domain code: BAAC road-accident data to a priority-response model."""

__version__ = "0.1.0"
