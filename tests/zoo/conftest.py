"""Fixtures for the zoo tests: a model cache pre-seeded from the shared weights."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def zoo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``LABELLENS_ZOO_DIR`` pointing at an empty temporary folder."""
    folder = tmp_path / "zoo"
    monkeypatch.setenv("LABELLENS_ZOO_DIR", str(folder))
    return folder
