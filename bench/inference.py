"""Inference benchmark: apply_model vs the tutorial's per-sample pattern on the shared CIFAR-10 JPEGs.

    python bench/inference.py [--n 10000] [--models cifar10-resnet20 cifar10-resnet56]

Both sides run the same zoo model with the same DataLoader settings (batch size,
workers) on the same images of one dataset on a local mongod. ``apply_model``
writes one bulk ``set_values`` per batch; the tutorial's pattern does a
``dataset[sample_id]`` lookup and a ``sample.save()`` per prediction. Time is
split into decoding (waiting for the DataLoader), the model, and writing to the
database (building the labels included). The two patterns alternate ``--repeat``
times and each keeps its fastest run, which evens out a busy machine. Targets: writing under 5% of
apply_model's total; apply_model end to end at least 1.5x the tutorial's pattern.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

import labellens as ll  # noqa: E402
from labellens.inference import TorchImageDataset, apply_model  # noqa: E402
from labellens.inference.loop import default_num_workers  # noqa: E402
from labellens.zoo import ZooModel, load_zoo_model  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
BATCH_SIZE = 64


@dataclass
class Run:
    """One timed pass over the images."""

    name: str
    images: int
    total_s: float
    decode_s: float
    model_s: float
    write_s: float

    def row(self, baseline: Run | None) -> list[object]:
        speedup = f"{baseline.total_s / self.total_s:.2f}x" if baseline else "1.00x"
        return [self.name, self.images, self.total_s, round(self.images / self.total_s, 1), self.decode_s,
                self.model_s, self.write_s, f"{100 * self.write_s / self.total_s:.1f}%",
                self.total_s - self.model_s, speedup]


def tutorial_pattern(dataset: ll.Dataset, model: ZooModel, field: str, workers: int) -> Run:
    """The tutorial's loop: DataLoader batches, then a lookup and a save per prediction."""
    start = time.perf_counter()
    image_paths, sample_ids = zip(*[(s.filepath, s.id) for s in dataset.iter_samples()])
    loader = DataLoader(TorchImageDataset(image_paths, sample_ids=sample_ids, transform=model.transform),
                        batch_size=BATCH_SIZE, num_workers=workers)
    decode = model_s = write = 0.0
    batches = iter(loader)
    while True:
        mark = time.perf_counter()
        batch = next(batches, None)
        decode += time.perf_counter() - mark
        if batch is None:
            break
        imgs, ids = batch
        mark = time.perf_counter()
        with torch.inference_mode():
            logits_ = model(imgs).numpy()
        predictions = np.argmax(logits_, axis=1)
        model_s += time.perf_counter() - mark
        mark = time.perf_counter()
        for sample_id, prediction, logits in zip(ids, predictions, logits_):
            sample = dataset[sample_id]
            sample.tags.append("processed")
            sample[field] = ll.Classification(label=model.classes[prediction], logits=logits)
            sample.save()
        write += time.perf_counter() - mark
    return Run("tutorial pattern", len(image_paths), time.perf_counter() - start, decode, model_s, write)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="images to use (at most 10,000)")
    parser.add_argument("--models", nargs="+", default=["cifar10-resnet20", "cifar10-resnet56"])
    parser.add_argument("--repeat", type=int, default=2,
                        help="alternate the two patterns this many times and keep each one's fastest run")
    args = parser.parse_args()
    workers = default_num_workers()
    with tempfile.TemporaryDirectory(prefix="labellens-bench-images-") as tmp, \
            benchmark_server("bench_inference"):
        with tarfile.open(SHARED / "data" / "cifar10-jpg-test.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        source = ll.Dataset.from_dir(Path(tmp) / "cifar10-jpg" / "test")
        dataset = source.take(args.n, seed=0) if args.n < len(source) else source
        subset = ll.Dataset("inference")
        subset.add_samples(ll.Sample(p) for p in dataset.values("filepath"))
        for path in subset.values("filepath"):
            Path(path).read_bytes()
        rows = []
        for name in args.models:
            model = load_zoo_model(name, model_dir=SHARED / "models", download=False)
            field = name.replace("-", "_")
            ours, theirs = [], []
            for _ in range(max(1, args.repeat)):
                summary = apply_model(subset, model, field, batch_size=BATCH_SIZE, num_workers=workers,
                                      progress=False)
                ours.append(Run(f"{name} apply_model", summary.processed, summary.total_s,
                                summary.decode_s, summary.model_s, summary.write_s))
                theirs.append(tutorial_pattern(subset, model, f"{field}_tutorial", workers))
                theirs[-1].name = f"{name} tutorial pattern"
            best_theirs = min(theirs, key=lambda r: r.total_s)
            rows += [best_theirs.row(None), min(ours, key=lambda r: r.total_s).row(best_theirs)]
    print(f"inference benchmark: {args.n:,} shared CIFAR-10 test JPEGs, batch {BATCH_SIZE}, "
          f"{workers} decoding workers, {torch.get_num_threads()} torch threads, local mongod "
          f"(seconds, fastest of {max(1, args.repeat)} alternating runs)")
    print_table(["run", "images", "total", "images/s", "decode", "model", "db write", "write %",
                 "total - model", "speedup"], rows)
    print("'total - model' is the time labellens adds around the model (reading paths, waiting for "
          "images, writing); on a shared machine it is steadier than the model time itself.")


if __name__ == "__main__":
    main()
