"""Shared test settings: hypothesis runs without deadlines (timings vary on shared CI machines)."""

from hypothesis import settings

settings.register_profile("minicnn", deadline=None, max_examples=25)
settings.load_profile("minicnn")
