"""distributed.compute_out_of_sample_predictions on the local Ray (2 workers) and a real mongod:
one fold per task, every sample predicted once, and a rerun resumes from the recorded folds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import labellens as ll
from labellens import distributed
from labellens.errors import ValidationError

ray = pytest.importorskip("ray")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import test modules

CLASSES = ["red", "green", "blue"]
FAST = {"batch_size": 8}


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(images)).mean(dim=(2, 3)))


@pytest.fixture
def dataset(real_db: str, tmp_path: Path) -> ll.Dataset:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(24):
        pixels = rng.integers(0, 90, (8, 8, 3))
        pixels[..., i % 3] += 160
        path = tmp_path / f"{i:03d}.png"
        Image.fromarray(pixels.astype(np.uint8)).save(path)
        samples.append(ll.Sample(path, ground_truth=ll.Classification(label=CLASSES[i % 3])))
    dataset = ll.Dataset()
    dataset.add_samples(samples)
    dataset.default_classes = CLASSES
    return dataset


def test_folds_run_as_ray_tasks_and_a_rerun_resumes(dataset: ll.Dataset) -> None:
    summary = distributed.compute_out_of_sample_predictions(dataset, TinyNet(), num_folds=3, epochs=1,
                                                            workers=2, progress=False, **FAST)
    assert summary.folds_run == [0, 1, 2] and summary.num_samples == 24
    assert dataset.count("oos_predictions") == dataset.count("oos_predictions_embeddings") == 24
    assert dataset.get_brain_info("oos_predictions")["config"]["folds_done"] == [0, 1, 2]
    info = dataset.get_brain_info("oos_predictions")["config"]
    info["folds_done"] = [0, 2]            # as if the run had been killed during fold 1
    dataset.register_brain_run("oos_predictions", info, ["oos_predictions", "oos_predictions_embeddings"])
    again = distributed.compute_out_of_sample_predictions(dataset, TinyNet(), num_folds=3, epochs=1,
                                                          workers=2, progress=False, **FAST)
    assert again.folds_run == [1] and again.num_samples == 24


def test_bad_arguments_are_refused_before_any_task(dataset: ll.Dataset) -> None:
    with pytest.raises(ValidationError, match="epochs"):
        distributed.compute_out_of_sample_predictions(dataset, TinyNet(), epochs=0, progress=False)
    with pytest.raises(ValidationError, match="num_folds"):
        distributed.compute_out_of_sample_predictions(dataset, TinyNet(), num_folds=1, progress=False)
    assert "oos_predictions" not in dataset.get_field_schema() and dataset.list_brain_runs() == []
