"""labellens.distributed on a local Ray (2 workers) and a real mongod: same results as one process,
resumable, and a worker killed with SIGKILL mid-run loses and repeats nothing."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import labellens as ll
from labellens import brain, distributed, inference
from labellens.errors import ValidationError

ray = pytest.importorskip("ray")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import test modules

CLASSES = ["a", "b", "c", "d"]
NUM_SAMPLES = 48
BATCH = 4


class TinyNet(nn.Module):
    """Logits from the mean colour: a fixed (3 -> 4) linear map, the same in every process."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 4)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[4.0, -2, 0], [-2, 4, 0], [0, -2, 4], [1, 1, 1]]))
            self.linear.bias.zero_()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.linear(images.mean(dim=(2, 3)))


class KilledOnce(TinyNet):
    """TinyNet whose worker process SIGKILLs itself at its ``kill_at``-th batch, once over all processes.

    Every batch it sees is counted in ``log`` (one line per batch: its size), across processes.
    """

    def __init__(self, flag: Path, log: Path, kill_at: int) -> None:
        super().__init__()
        self.flag, self.log, self.kill_at, self.calls = str(flag), str(log), kill_at, 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        with open(self.log, "a") as out:
            out.write(f"{len(images)}\n")
        if self.calls == self.kill_at:
            try:
                os.close(os.open(self.flag, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().forward(images)


class CountedUnpickles(TinyNet):
    """TinyNet that writes its process id to ``log`` each time it is unpickled."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = str(log)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        with open(state["log"], "a") as out:
            out.write(f"{os.getpid()}\n")


@pytest.fixture
def dataset(real_db: str, tmp_path: Path) -> ll.Dataset:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(NUM_SAMPLES):
        path = tmp_path / f"{i:03d}.png"
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)
        samples.append(ll.Sample(path, ground_truth=ll.Classification(label=CLASSES[i % 4])))
    dataset = ll.Dataset()
    dataset.add_samples(samples)
    dataset.default_classes = CLASSES
    return dataset


def test_apply_model_matches_one_process_sample_by_sample(dataset: ll.Dataset, tmp_path: Path) -> None:
    inference.apply_model(dataset, TinyNet(), "single", batch_size=BATCH, num_workers=0, progress=False)
    log = tmp_path / "unpickled.log"
    summary = distributed.apply_model(dataset, CountedUnpickles(log), "predictions", workers=2, num_shards=8,
                                      batch_size=BATCH, progress=False)
    assert (summary.processed, summary.skipped_existing, summary.num_workers) == (NUM_SAMPLES, 0, 2)
    unpickled = log.read_text().split()
    assert len(unpickled) == len(set(unpickled)) <= 2  # once per worker process, not once per shard
    assert dataset.values("predictions.label") == dataset.values("single.label")
    np.testing.assert_allclose(np.array(dataset.values("predictions.logits")),
                               np.array(dataset.values("single.logits")), rtol=1e-6)


def test_a_rerun_only_does_samples_without_results(dataset: ll.Dataset) -> None:
    done = dataset.limit(20)
    inference.apply_model(done, TinyNet(), "predictions", batch_size=BATCH, num_workers=0, progress=False)
    summary = distributed.apply_model(dataset, TinyNet(), "predictions", workers=2, progress=False)
    assert (summary.processed, summary.skipped_existing) == (NUM_SAMPLES - 20, 20)
    again = distributed.apply_model(dataset, TinyNet(), "predictions", workers=2, progress=False)
    assert (again.processed, again.skipped_existing) == (0, NUM_SAMPLES)
    assert dataset.count("predictions") == NUM_SAMPLES


def test_a_killed_worker_loses_and_repeats_nothing(dataset: ll.Dataset, tmp_path: Path) -> None:
    inference.apply_model(dataset, TinyNet(), "single", batch_size=BATCH, num_workers=0, progress=False)
    flag, log = tmp_path / "killed", tmp_path / "batches.log"
    model = KilledOnce(flag, log, kill_at=3)
    summary = distributed.apply_model(dataset, model, "predictions", workers=2, num_shards=2,
                                      batch_size=BATCH, max_retries=2, progress=False)
    assert flag.exists(), "no worker was killed"
    assert dataset.values("predictions.label") == dataset.values("single.label")  # nothing lost
    forwarded = sum(int(line) for line in log.read_text().split())
    # Only the batches in flight when the worker died are predicted again: the killed batch and
    # at most one whose write had not finished.
    assert NUM_SAMPLES < forwarded <= NUM_SAMPLES + 2 * BATCH
    assert summary.processed <= NUM_SAMPLES


def test_embeddings_metadata_and_mistakenness_match_one_process(dataset: ll.Dataset) -> None:
    inference.apply_model(dataset, TinyNet(), "predictions", batch_size=BATCH, num_workers=0, progress=False)
    single = inference.compute_embeddings(dataset, TinyNet(), batch_size=BATCH, num_workers=0, progress=False)
    brain.compute_mistakenness(dataset, "predictions", mistakenness_field="m_single", progress=False)

    assert distributed.compute_embeddings(dataset, TinyNet(), "embedding", workers=2,
                                          progress=False).processed == NUM_SAMPLES
    assert distributed.compute_metadata(dataset, workers=2, progress=False).processed == NUM_SAMPLES
    assert distributed.compute_mistakenness(dataset, "predictions", mistakenness_field="m_dist", workers=2,
                                            progress=False).processed == NUM_SAMPLES

    np.testing.assert_allclose(np.array(dataset.values("embedding")), single, rtol=1e-6)
    assert dataset.values("metadata.width") == [8] * NUM_SAMPLES
    np.testing.assert_allclose(dataset.values("m_dist"), dataset.values("m_single"))
    assert "m_dist" in dataset.list_brain_runs()


def test_bad_settings_are_refused_before_any_work(dataset: ll.Dataset,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="has no option 'batchsize'"):
        distributed.apply_model(dataset, TinyNet(), "predictions", batchsize=4)
    with pytest.raises(ValidationError, match="workers must be a positive integer"):
        distributed.apply_model(dataset, TinyNet(), "predictions", workers=0)
    no_gpu = "0 GPUs: not enough for one worker with num_cpus=1, num_gpus=1"
    with pytest.raises(ValidationError, match=no_gpu):
        distributed.apply_model(dataset, TinyNet(), "predictions", num_gpus=1)  # the test cluster has none
    monkeypatch.setenv("LABELLENS_DATABASE_URI", "mongomock://")
    with pytest.raises(ValidationError, match="needs a real MongoDB"):
        distributed.compute_metadata(dataset)
    assert "predictions" not in dataset.get_field_schema()
