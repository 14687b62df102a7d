"""Operator and developer scripts; run the ones importing `tests` as modules (`python -m scripts.NAME`)."""
