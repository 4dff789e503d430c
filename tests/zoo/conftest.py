"""Fixtures for the zoo tests: a model cache pre-seeded from the shared weights."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def model_cache(shared_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``LABELLENS_MODEL_DIR`` pointing at a temporary folder linking the shared weight files."""
    cache = tmp_path / "models"
    cache.mkdir()
    for weights in shared_models_dir.glob("*.th"):
        (cache / weights.name).symlink_to(weights)
    monkeypatch.setenv("LABELLENS_MODEL_DIR", str(cache))
    return cache


@pytest.fixture
def zoo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``LABELLENS_ZOO_DIR`` pointing at an empty temporary folder."""
    folder = tmp_path / "zoo"
    monkeypatch.setenv("LABELLENS_ZOO_DIR", str(folder))
    return folder
