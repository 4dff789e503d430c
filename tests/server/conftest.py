"""Fixtures for the App: a small dataset of tiny PNGs, and a test client for an App showing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_support import page  # noqa: F401 (the headless-Chromium page fixture)
from PIL import Image
from starlette.testclient import TestClient

import labellens as ll
from labellens.server import AppState, create_app

CLASSES = ["cat", "dog", "ship"]
N_SAMPLES = 12


def make_images(folder: Path, n: int) -> list[Path]:
    """``n`` tiny solid-colour PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i:03d}.png"
        Image.new("RGB", (32, 32), ((i * 40) % 256, (i * 90) % 256, 160)).save(path)
        paths.append(path)
    return paths


def make_dataset(folder: Path, name: str = "app-test", n: int = N_SAMPLES) -> ll.Dataset:
    """A dataset of ``n`` samples: ground truth, a prediction with logits, a mistakenness score.

    Samples alternate the tags "train" / "test"; sample i has mistakenness i / n, and
    every third sample's prediction disagrees with its ground truth.
    """
    dataset = ll.Dataset(name)
    dataset.default_classes = CLASSES
    rng = np.random.default_rng(0)
    samples = []
    for i, path in enumerate(make_images(folder, n)):
        truth = CLASSES[i % 3]
        predicted = CLASSES[(i + 1) % 3] if i % 3 == 0 else truth
        logits = rng.normal(size=3).astype(np.float32)
        logits[CLASSES.index(predicted)] += 5
        samples.append(ll.Sample(
            filepath=str(path), tags=["train" if i % 2 else "test"],
            ground_truth=ll.Classification(label=truth),
            predictions=ll.Classification(label=predicted, confidence=0.9, logits=logits),
            mistakenness=i / n,
        ))
    dataset.add_samples(samples)
    return dataset


@pytest.fixture
def dataset(backend: str, tmp_path: Path) -> ll.Dataset:
    return make_dataset(tmp_path / "images")


@pytest.fixture
def state(dataset: ll.Dataset) -> AppState:
    return AppState(dataset.name)


@pytest.fixture
def client(state: AppState, tmp_path: Path) -> Iterator[TestClient]:
    """A test client of an App showing ``dataset`` (loopback host, thumbnails cached in tmp_path)."""
    app = create_app(state, cache_dir=tmp_path / "thumbs")
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client
