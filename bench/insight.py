"""Insight benchmark: evaluation, the embeddings map and the data-issue checks at 10,000 and 100,000 samples.

    python bench/insight.py [--sizes 10000 100000] [--steps evaluate pca umap ...]

Each dataset (on a real mongod) has a ground truth, a prediction that is right
about 80% of the time, 64-d clustered embeddings and file paths cycling
through the shared CIFAR-10 test JPEGs (so at 100,000 every file appears 10
times: the exact-duplicate hashing reads 100,000 files and finds 10,000 groups).
Each step runs in a fresh process that opens the dataset first; the table gives
its wall-clock seconds (database reads and writes included; module imports
excluded, but numba's first-call compilation inside UMAP included) and the
process's peak resident memory above what it held before the step.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STEPS = ("evaluate", "pca", "umap", "tsne", "uniqueness", "near_duplicates", "outliers", "image_quality")
DEFAULT_STEPS = ("evaluate", "pca", "umap", "uniqueness", "near_duplicates", "outliers", "image_quality")


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def build(name: str, size: int, images: list[str]) -> None:
    import labellens as ll

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 10, size=size)
    pred = np.where(rng.random(size) < 0.8, truth, rng.integers(0, 10, size=size))
    centres = rng.normal(size=(10, 64)).astype(np.float32) * 2
    emb = centres[truth] + rng.normal(size=(size, 64)).astype(np.float32)
    ds = ll.Dataset(name, persistent=True, overwrite=True)
    ds.default_classes = CLASSES
    ds.add_samples(ll.Sample(filepath=images[i % len(images)], emb=emb[i],
                             ground_truth=ll.Classification(label=CLASSES[truth[i]]),
                             pred=ll.Classification(label=CLASSES[pred[i]])) for i in range(size))


def run_step(name: str, step: str, queue: Any) -> None:
    import labellens as ll
    from labellens import brain
    from labellens.evaluation import evaluate_classifications

    if step == "umap":
        import umap  # noqa: F401 - import time is not the call's
    ds = ll.load_dataset(name)
    calls = {
        "evaluate": lambda: evaluate_classifications(ds, "pred"),
        "pca": lambda: brain.compute_visualization(ds, "emb", method="pca", brain_key="viz_pca"),
        "umap": lambda: brain.compute_visualization(ds, "emb", method="umap", brain_key="viz_umap"),
        "tsne": lambda: brain.compute_visualization(ds, "emb", method="tsne", brain_key="viz_tsne"),
        "uniqueness": lambda: brain.compute_uniqueness(ds, "emb"),
        "near_duplicates": lambda: brain.compute_near_duplicates(ds, "emb"),
        "outliers": lambda: brain.compute_outliers(ds, "emb", label_field="ground_truth"),
        "image_quality": lambda: brain.compute_image_quality(ds, overwrite=True, progress=False),
    }
    before = rss_mib()
    start = time.perf_counter()
    calls[step]()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, peak - before))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(DEFAULT_STEPS))
    args = parser.parse_args()
    rows = []
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, benchmark_server("labellens_bench_insight"):
        with tarfile.open(SHARED / "data" / "cifar10-jpg-test.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        images = sorted(str(p) for p in Path(tmp).glob("cifar10-jpg/test/*/*.jpg"))
        for size in args.sizes:
            name = f"insight_{size}"
            build(name, size, images)
            for step in args.steps:
                queue = context.Queue()
                process = context.Process(target=run_step, args=(name, step, queue))
                process.start()
                seconds, mib = queue.get()
                process.join()
                rows.append([step, f"{size:,}", seconds, f"{mib:.0f}"])
                print(f"{step} at {size:,}: {seconds:.1f} s, +{mib:.0f} MiB", flush=True)
    print()
    print_table(["step", "samples", "seconds", "peak MiB over start"], rows)


if __name__ == "__main__":
    main()
