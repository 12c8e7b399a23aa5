"""Prefect flows that run the product's DVC stages interactively or on a schedule."""
