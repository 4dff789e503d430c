"""Brain benchmark: compute_mistakenness and compute_label_issues on a real mongod.

    python bench/brain.py [--sizes 10000 100000] [--issues-n 10000]

Each dataset holds N samples with a ground truth and a prediction with 10 logits.
compute_mistakenness (use_logits=True) is timed end to end (read, score, write
back, record the run) against raw pymongo writing one float per document with a
bulk ``$set`` (the floor for any method that writes a score), and its peak
Python heap (tracemalloc, a separate run) shows memory does not grow with N.
compute_label_issues runs on N samples with 64-d embeddings. Targets:
100,000 mistakenness in < 8 s; label issues on 10,000 in < 30 s.
The reference tool runs too when ``fiftyone.brain`` is importable (e.g. with
``FIFTYONE_DATABASE_URI`` pointing at the same mongod); otherwise the notes say skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from bson import ObjectId
from pymongo import UpdateOne

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table, timed  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import brain, db  # noqa: E402
from labellens.brain.scores import mistakenness_from_logits  # noqa: E402

try:  # the reference tool, when installed (set FIFTYONE_DATABASE_URI to share the mongod)
    import fiftyone as fo
    import fiftyone.brain as fob
except ImportError:
    fo = fob = None

REPEAT = 3
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_dataset(n: int, with_embeddings: bool, seed: int = 0) -> ll.Dataset:
    """N samples whose logits and embeddings depend on a true class; 10% of labels are wrong."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 10, size=n)
    given = np.where(rng.random(n) < 0.1, (true + rng.integers(1, 10, size=n)) % 10, true)
    centres = rng.normal(size=(10, 64))
    embeddings = (centres[true] + rng.normal(scale=1.5, size=(n, 64))).astype(np.float32)
    logits = (embeddings @ centres.T / 8 + rng.normal(size=(n, 10))).astype(np.float32)
    dataset = ll.Dataset()
    dataset.default_classes = CLASSES
    dataset.add_samples(
        ll.Sample(filepath=f"/data/{i}.png", ground_truth=ll.Classification(label=CLASSES[given[i]]),
                  predictions=ll.Classification(label=CLASSES[int(logits[i].argmax())], logits=logits[i]),
                  **({"embeddings": embeddings[i]} if with_embeddings else {}))
        for i in range(n))
    return dataset


def raw_set_one_float(dataset: ll.Dataset) -> float:
    """Seconds for pymongo to read the ids and bulk-$set one float per document."""
    collection = db.get_database()[dataset.collection_name]
    start = time.perf_counter()
    ids = [d["_id"] for d in collection.find({}, {"_id": 1})]
    collection.bulk_write([UpdateOne({"_id": ObjectId(i)}, {"$set": {"raw_score": 0.5}}) for i in ids],
                          ordered=False)
    return time.perf_counter() - start


def raw_mistakenness(dataset: ll.Dataset) -> float:
    """Seconds for the hand-written equivalent: read labels and logits, score with numpy, bulk $set.

    The scoring is the same numpy function labellens uses, so the difference is what
    labellens adds around the I/O (target: at most 1.2x this).
    """
    collection = db.get_database()[dataset.collection_name]
    start = time.perf_counter()
    fields = {"ground_truth.label": 1, "predictions.label": 1, "predictions.logits": 1}
    docs = list(collection.find({}, fields))
    logits = np.stack([np.frombuffer(d["predictions"]["logits"], dtype="<f4") for d in docs])
    agree = np.array([d["predictions"]["label"] == d["ground_truth"]["label"] for d in docs])
    values = mistakenness_from_logits(logits, agree).tolist()
    collection.bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": {"raw_score": v}})
                           for d, v in zip(docs, values)], ordered=False)
    return time.perf_counter() - start


def reference_seconds(dataset: ll.Dataset) -> float:
    """Seconds for fiftyone.brain.compute_mistakenness on the same labels."""
    ref = fo.Dataset()
    gts, preds = dataset.values("ground_truth.label"), dataset.values("predictions")
    ref.add_samples([fo.Sample(filepath=f"/data/{i}.png", ground_truth=fo.Classification(label=g),
                               predictions=fo.Classification(label=p.label, logits=p.logits))
                     for i, (g, p) in enumerate(zip(gts, preds))])
    start = time.perf_counter()
    fob.compute_mistakenness(ref, "predictions", label_field="ground_truth", use_logits=True)
    seconds = time.perf_counter() - start
    ref.delete()
    return seconds


def peak_mib(fn: Any) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def mistakenness_row(n: int, reference: bool) -> list[Any]:
    dataset = make_dataset(n, with_embeddings=False)

    def run() -> None:
        brain.compute_mistakenness(dataset, "predictions", use_logits=True, progress=False)

    # Interleaved, best of REPEAT each: the machine is shared, so single runs swing.
    ours, raw, hand = float("inf"), float("inf"), float("inf")
    for _ in range(REPEAT):
        ours = min(ours, timed(run)[0])
        raw = min(raw, raw_set_one_float(dataset))
        hand = min(hand, raw_mistakenness(dataset))
    memory = peak_mib(run)
    note = "fiftyone: not installed, skipped"
    if reference:
        seconds = reference_seconds(dataset)
        note = f"fiftyone {seconds:.1f} s ({seconds / ours:.0f}x slower)"
    dataset.delete()
    return [f"compute_mistakenness, {n:,}", raw, hand, ours, ours / hand, round(n / ours), memory, note]


def label_issues_row(n: int) -> list[Any]:
    dataset = make_dataset(n, with_embeddings=True)
    ours, summary = timed(lambda: brain.compute_label_issues(dataset, "predictions",
                                                             embeddings_field="embeddings", progress=False))
    raw = raw_set_one_float(dataset)
    dataset.delete()
    return [f"compute_label_issues, {n:,} (64-d)", raw, "-", ours, "-", round(n / ours), float("nan"),
            f"estimated {summary.estimated_issues:.0f} issues"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--issues-n", type=int, default=10_000)
    args = parser.parse_args()
    reference = fob is not None
    with benchmark_server("bench_brain"):
        rows = [mistakenness_row(n, reference) for n in args.sizes]
        rows.append(label_issues_row(args.issues_n))
    print("brain benchmark on a local mongod (seconds; 'raw $set' = pymongo reading ids and bulk-$setting "
          "one float, the floor; 'raw same job' = pymongo reading the labels and logits, the same numpy "
          "score, bulk $set; ratio = labellens / raw same job)")
    print_table(["operation", "raw $set", "raw same job", "labellens", "ratio", "samples/s", "peak heap MiB",
                 "notes"], rows)


if __name__ == "__main__":
    main()
